/** Root hooks of the workflow tests: a quiet SDK runtime; stop the shared dev server at the end. */
import { createLogger } from '../../lib/logger';
import { installSdkRuntime } from '../../lib/sdk-runtime';
import { stopHarness } from './harness';

installSdkRuntime(createLogger('workflow-tests', { level: 'error', format: 'json' }));

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await stopHarness();
  },
};
