/** Root hooks: a quiet Temporal SDK runtime for in-process workers; stop the shared dev server at the end. */
import { Runtime } from '@temporalio/worker';
import { createLogger, sdkLogger } from '../../lib/logger';
import { stopCluster } from '../helpers/cluster';

Runtime.install({ logger: sdkLogger(createLogger('test-sdk', { level: 'warn', format: 'json' })) });

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await stopCluster();
  },
};
