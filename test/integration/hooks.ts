/** Root hooks: stop the shared Temporal dev server after the whole run. */
import { stopCluster } from '../helpers/cluster';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await stopCluster();
  },
};
