import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobView } from '../../domain/job';
import { freePort } from '../../lib/dev-server';
import { launchNode } from '../../lib/launch';
import { listProcesses } from '../../lib/proc';
import { temporalCliPath } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

/** The quick start's first command, past its installs: everything up, a job through it, then SIGTERM. */
describe('the embedded default (scripts/up.ts)', function () {
  this.timeout(180_000);

  it('starts Temporal, the master and a worker, prints where they are, runs a job, and stops them all on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-up-'));
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort(), worker: await freePort(), master: await freePort() };
    const up = launchNode('up', 'scripts/up.js', {
      TEMPORAL_CLI: temporalCliPath(),
      FFRTMP_DATA_DIR: dataDir,
      FFRTMP_TEMPORAL_PORT: String(ports.temporal),
      FFRTMP_TEMPORAL_UI_PORT: String(ports.ui),
      FFRTMP_API_PORT: String(ports.api),
      FFRTMP_METRICS_PORT: String(ports.worker),
      FFRTMP_MASTER_METRICS_PORT: String(ports.master),
      FFMPEG_RTMP_API_KEY: '',
      LOG_FORMAT: 'json',
    });
    await waitFor('"ffrtmp is up"', () => {
      if (!up.alive) throw new Error(up.logs.join('\n'));
      return up.logs.some((l) => l.includes('Press Ctrl-C to stop everything.'));
    }, { timeoutMs: 120_000 });
    const text = up.logs.join('\n');
    assert.match(text, new RegExp(`Temporal Web UI +http://127\\.0\\.0\\.1:${ports.ui}`));
    assert.match(text, new RegExp(`master API +http://127\\.0\\.0\\.1:${ports.api}`));
    assert.match(text, new RegExp(`worker metrics +http://127\\.0\\.0\\.1:${ports.worker}/metrics`));
    assert.match(text, new RegExp(`master metrics +http://127\\.0\\.0\\.1:${ports.master}/metrics`));

    // the key the embedded default made, kept in the data folder with mode 600
    const keyFile = path.join(dataDir, 'api-key');
    const key = readFileSync(keyFile, 'utf8').trim();
    assert.match(text, /export FFMPEG_RTMP_API_KEY=ffrtmp_/);
    const api = `http://127.0.0.1:${ports.api}`;
    const headers = { 'X-API-Key': key, 'Content-Type': 'application/json' };
    const created = (await (await fetch(`${api}/jobs`, { method: 'POST', headers, body: JSON.stringify({ scenario: '240p30-h264', parameters: { duration: 1 } }) })).json()) as JobView;
    const done = await waitFor<JobView>('the job to complete', async () => {
      if (!up.alive) throw new Error(`scripts/up.js exited:\n${up.logs.slice(-40).join('\n')}`);
      const v = (await (await fetch(`${api}/jobs/${created.id}`, { headers })).json()) as JobView;
      return v.status === 'completed' ? v : undefined;
    }, { timeoutMs: 60_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n--- scripts/up.js, last lines:\n${up.logs.slice(-40).join('\n')}`);
    });
    assert.equal(done.node_name, 'local-worker');
    assert.equal((await fetch(`http://127.0.0.1:${ports.ui}/`)).status, 200, 'the Web UI answers');
    assert.match(await (await fetch(`http://127.0.0.1:${ports.worker}/metrics`)).text(), /ffmpeg_jobs_total\{status="completed"/);

    up.kill('SIGTERM');
    assert.equal(await up.exited, 0);
    assert.ok(up.logs.some((l) => l.includes('[up] Temporal stopped; bye')));
    const left = listProcesses().filter((p) => p.argv.some((a) => a.includes(dataDir)));
    assert.deepEqual(left, [], 'nothing of it is left running');
  });
});
