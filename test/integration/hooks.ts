/** Root hooks: a quiet Temporal SDK runtime for in-process workers; stop the shared dev server at the end. */
import { createLogger } from '../../lib/logger';
import { installSdkRuntime } from '../../lib/sdk-runtime';
import assert from 'node:assert/strict';
import { stopCluster } from '../helpers/cluster';
import { stopTopology } from '../helpers/topology';
import { observedResponses } from '../helpers/master';
import { undocumented } from '../helpers/openapi-coverage';

installSdkRuntime(createLogger('test-sdk', { level: 'warn', format: 'json' }));

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopTopology();
    await stopCluster();
    // every answer any in-process master gave during the whole run must be in the OpenAPI document
    const missing = undocumented(observedResponses);
    assert.deepEqual(missing, [], `answers not in the OpenAPI document: ${missing.join(', ')}`);
  },
};
