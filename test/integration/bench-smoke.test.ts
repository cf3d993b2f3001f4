import assert from 'node:assert/strict';
import { main } from '../../bench/run';

/** The benchmark harness, tiny: it must run end to end and report every measure (no targets asserted). */
describe('benchmark harness (smoke)', function () {
  this.timeout(300_000);

  it('runs every measure and reports figures', async () => {
    const out = (await main(['--smoke', '--no-append'])) as Record<string, any>;
    assert.ok(out.overhead.median_ratio > 0);
    assert.equal(out['first-frame'].n, 3);
    assert.ok(out.control.cancel_ms.max > 0 && out.control.pause_ms.max > 0);
    for (const k of ['POST /jobs', 'GET /jobs/{id}', 'GET /jobs']) {
      assert.ok(out.throughput[k].requests_per_second > 0, k);
      assert.equal(out.throughput[k].errors, 0, `${k} had errors`);
    }
    assert.ok(out.failover.median_ms > 0);
    assert.equal(out.soak.completed, out.soak.jobs);
    assert.equal(out.soak.completed_twice, 0);
    assert.ok(out.memory_idle_mb.master > 0 && out.memory_idle_mb.worker > 0);
  });
});
