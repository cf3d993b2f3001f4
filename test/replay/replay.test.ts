/**
 * Replay: every recorded history under test/fixtures/histories/ (jobs, nodes and the sequence
 * counter on every path they take, recorded from older versions of the workflow code as well as
 * this one) is replayed against the workflow bundle of this commit. A change to `workflows/` that
 * would break a job in flight — a command issued in another order, a patch not guarded — fails
 * here. Re-record with scripts/record-histories.sh (docs/ARCHITECTURE.md, "Changing workflow code").
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundlePath } from '../../workers/bundle-path';

const DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'histories');

describe('replay: recorded histories against this commit\'s workflow code', function () {
  this.timeout(120_000);
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

  it('has histories of every path, from more than one version of the code', () => {
    const names = new Set(files.map((f) => f.replace(/\.json$/, '').split('--')[1]));
    for (const path of ['completed', 'canceled-queued', 'canceled-assigned', 'canceled-running', 'canceled-paused', 'paused-resumed-running', 'auto-retry', 'manual-retry', 'timed-out', 'stalled', 'gpu-fallback', 'required-capability-waits', 'node-entity', 'sequence-counter']) {
      assert.ok(names.has(path), `a history of ${path}`);
    }
    const versions = new Set(files.map((f) => f.split('--')[0]));
    assert.ok(versions.size >= 2, `histories of ${[...versions].join(', ')}`);
  });

  it('replays every one without a non-determinism error', async () => {
    const histories = files.map((f) => {
      const json = JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as unknown;
      return { workflowId: f, history: historyFromJSON(json) };
    });
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: workflowBundlePath() } }, histories)) {
      replayed++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    assert.equal(replayed, files.length);
    assert.deepEqual(failures, []);
  });
});
