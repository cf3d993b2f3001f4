/**
 * The production topology under faults (issue 11): the Temporal server on PostgreSQL with mutual
 * TLS, two masters and three workers, each a host of its own (network namespaces). Every test
 * counts how each of its jobs ended — completed, failed, stuck, run twice — and checks every
 * output with ffprobe (duration, frame count) and a full decode.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { JobView } from '../../domain/job';
import { ORCHESTRATION_QUEUE } from '../../domain/queues';
import type { Topology } from '../../lib/cluster/topology';
import { READ_TTL_MS } from '../../lib/job-service';
import { connectClient } from '../../lib/temporal';
import { REPO_ROOT, temporalCliPath } from '../helpers/cluster';
import type { ApiClient } from '../helpers/master';
import { EncoderWatch, HEARTBEAT_TIMEOUT_MS, RETRY_BACKOFF_MS, SERVER_BUILD_WAIT_MS, checkOutput, hostOfNode, jobBody, jobRunning, masterApi, outcomes, topology, type Outcomes } from '../helpers/topology';
import { waitFor } from '../helpers/wait';

/** How long an encoder may outlive its worker's contact with Temporal: 2 heartbeat timeouts. */
const LEASE_MS = 2 * HEARTBEAT_TIMEOUT_MS;
/** A node that does not take the adoption within this long is gone (workflows/job.ts). */
const ADOPTION_WAIT_MS = 5_000;

async function submit(api: ApiClient, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<JobView> {
  const r = await api.post<JobView>('/jobs', body, { headers });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

function assertAllCompleted(o: Outcomes, total: number): void {
  const summary = `completed ${o.completed.length}, failed ${o.failed.length} (${o.failed.map((f) => `${f.status}: ${f.error}`).join(' | ')}), stuck ${o.stuck.length}, run twice ${o.twice.length}`;
  assert.equal(o.completed.length, total, summary);
  assert.equal(o.failed.length, 0, summary);
  assert.equal(o.stuck.length, 0, summary);
  assert.equal(o.twice.length, 0, summary);
}

async function assertOutputs(o: Outcomes, expectedSec: number, fps: number): Promise<void> {
  for (const id of o.completed) {
    const v = o.views.get(id)!;
    assert.ok(v.output?.path, `job ${id} has an output`);
    const c = await checkOutput(v.output.path, expectedSec, fps);
    assert.ok(c.ok, `output of ${id}: ${JSON.stringify(c)}`);
  }
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

/** A write on one master shows on another within the read cache's lifetime (plus a request's time). */
async function otherMasterSees(api: ApiClient, id: string, status: string): Promise<void> {
  await waitFor(`the other master to show ${status}`, async () => (await api.get<JobView>(`/jobs/${id}`)).body.status === status, { timeoutMs: READ_TTL_MS + 700, intervalMs: 50 });
}

describe('production topology: Temporal server on PostgreSQL, hosts of their own, faults injected', function () {
  this.timeout(300_000);
  let t: Topology;
  let m1: ApiClient;
  let m2: ApiClient;

  before(async function () {
    // the topology itself takes about 40 s; on a fresh machine the Temporal server's background build may still run
    this.timeout(240_000 + SERVER_BUILD_WAIT_MS);
    t = await topology();
    m1 = masterApi(t, 'm1');
    m2 = masterApi(t, 'm2');
  });

  it('two masters: each answers for every job; a job created on one is steered from the other', async () => {
    const job = await submit(m1, jobBody({ duration: 30, preset: 'medium' }, '720p30-h264'));
    await jobRunning(m2, job.id);
    for (const api of [m1, m2]) {
      assert.equal((await api.get(`/jobs/${job.id}`)).status, 200);
      assert.equal((await api.get(`/jobs/${job.sequence_number}`)).body.id, job.id);
      const list = await waitFor('the job listed', async () => ((await api.get<{ jobs: { id: string }[] }>('/jobs?limit=500')).body.jobs.some((j) => j.id === job.id) ? true : undefined));
      assert.ok(list);
    }
    const paused = await m2.post<JobView>(`/jobs/${job.id}/pause`);
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.body.status, 'paused');
    // the other master's read cache may hold its view for READ_TTL_MS: it sees the write within that bound
    await otherMasterSees(m1, job.id, 'paused');
    const resumed = await m1.post<JobView>(`/jobs/${job.id}/resume`);
    assert.equal(resumed.body.status, 'running', resumed.text);
    const canceled = await m2.post<JobView>(`/jobs/${job.id}/cancel`);
    assert.equal(canceled.body.status, 'canceled', canceled.text);
    await otherMasterSees(m1, job.id, 'canceled');
  });

  it('workflow tasks run on the masters only: no worker host polls the orchestration queue', async () => {
    const client = await connectClient(t.temporalSettings());
    try {
      const d = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: ORCHESTRATION_QUEUE }, taskQueueType: 1 });
      const pollers = (d.pollers ?? []).map((p) => p.identity ?? '');
      assert.ok(pollers.length >= 1, 'masters poll it');
      assert.ok(pollers.every((id) => id.startsWith('master@')), `pollers: ${pollers.join(', ')}`);
    } finally {
      await client.connection.close();
    }
  });

  it('a worker host cut off mid-encode: the job runs again elsewhere; the cut-off encoder stops itself; the host comes back and takes work', async () => {
    const watch = new EncoderWatch(t).start();
    try {
      const job = await submit(m1, jobBody({ duration: 30, preset: 'medium' }, '720p30-h264'));
      const running = await jobRunning(m1, job.id);
      const victim = hostOfNode(t, running.node_id)!;
      assert.ok(victim, `job runs on a worker host (${running.node_id})`);
      await waitFor('the encoder seen', () => watch.sightings(job.id).length > 0 || undefined);
      const cutAt = Date.now();
      await t.net.cut(victim);

      const again = await waitFor('the job running again on another host', async () => {
        const v = (await m1.get<JobView>(`/jobs/${job.id}`)).body;
        return v.attempt >= 2 && v.status === 'running' && hostOfNode(t, v.node_id) !== victim ? v : undefined;
      }, { timeoutMs: 90_000, intervalMs: 200 });
      const movedAfter = Date.now() - cutAt;
      // heartbeat timeout + the adoption the node cannot take + backoff, and a little to schedule
      assert.ok(movedAfter <= HEARTBEAT_TIMEOUT_MS + ADOPTION_WAIT_MS + RETRY_BACKOFF_MS + 8_000, `ran again after ${movedAfter} ms`);
      assert.match(again.attempts[0]!.error ?? '', /stopped heartbeating \(worker lost\)/);

      // the cut-off encoder stops itself once its lease runs out
      const old = watch.sightings(job.id).filter((s) => s.host === victim);
      await waitFor('the cut-off encoder gone', () => old.every((s) => Date.now() - s.last > 500) || undefined, { timeoutMs: LEASE_MS + 10_000 });
      assert.ok(watch.overlapMs(job.id) <= HEARTBEAT_TIMEOUT_MS, `two hosts encoded the job at once for ${watch.overlapMs(job.id)} ms`);

      await t.net.restore(victim);
      const o = await outcomes(m1, [job.id], 180_000);
      assertAllCompleted(o, 1);
      await assertOutputs(o, 30, 30);
      const done = o.views.get(job.id)!;
      assert.notEqual(hostOfNode(t, done.node_id), victim, 'the output is the new attempt\'s');
      assert.deepEqual(readdirSync(path.dirname(done.output!.path!)).filter((f) => f.startsWith('attempt-')), [], 'no attempt file is left');

      // back on the network: it registers again and takes new work
      await t.waitNodesOnline([victim], 60_000);
      const probes: string[] = [];
      const tookWork = await waitFor('the restored host running a job', async () => {
        if (probes.length < 8) probes.push((await submit(m2, jobBody({ duration: 6 }, '720p30-h264'))).id);
        for (const id of probes) {
          const v = (await m2.get<JobView>(`/jobs/${id}`)).body;
          if (v.attempts.some((a) => hostOfNode(t, a.node_id) === victim)) return id;
        }
        return undefined;
      }, { timeoutMs: 120_000, intervalMs: 1_000 });
      assert.ok(tookWork);
      assertAllCompleted(await outcomes(m2, probes, 180_000), probes.length);
    } finally {
      watch.stop();
      for (const w of t.workers) await t.net.restore(w);
    }
  });

  it('a frozen worker agent (SIGSTOP; its encoder runs on): the job runs again elsewhere, the encoder is stopped by its guard, each attempt has its own file', async () => {
    const watch = new EncoderWatch(t).start();
    const frozen: string[] = [];
    try {
      const job = await submit(m1, jobBody({ duration: 30, preset: 'medium' }, '720p30-h264'));
      const running = await jobRunning(m1, job.id);
      const victim = hostOfNode(t, running.node_id)!;
      await waitFor('the encoder seen', () => watch.sightings(job.id).length > 0 || undefined);
      t.service(victim).signal('SIGSTOP');
      frozen.push(victim);
      const again = await waitFor('the job running again on another host', async () => {
        const v = (await m2.get<JobView>(`/jobs/${job.id}`)).body;
        return v.attempt >= 2 && v.status === 'running' && hostOfNode(t, v.node_id) !== victim ? v : undefined;
      }, { timeoutMs: 90_000, intervalMs: 200 });
      assert.match(again.attempts[0]!.error ?? '', /stopped heartbeating \(worker lost\)/);
      // frozen past its lease: the guard stops its encoder although the agent cannot act
      const old = watch.sightings(job.id).filter((s) => s.host === victim);
      await waitFor('the frozen agent\'s encoder gone', () => old.every((s) => Date.now() - s.last > 500) || undefined, { timeoutMs: LEASE_MS + 10_000 });
      t.service(victim).signal('SIGCONT');
      frozen.pop();

      const o = await outcomes(m1, [job.id], 180_000);
      assertAllCompleted(o, 1);
      await assertOutputs(o, 30, 30);
      assert.ok(watch.overlapMs(job.id) <= HEARTBEAT_TIMEOUT_MS, `two hosts encoded the job at once for ${watch.overlapMs(job.id)} ms`);
      assert.deepEqual(watch.sharedOutputs(job.id), [], 'two encoders never write the same file');
      const files = new Set(watch.sightings(job.id).map((s) => path.basename(s.output)));
      assert.ok(files.size >= 2, `each attempt its own file: ${[...files].join(', ')}`);
      const done = o.views.get(job.id)!;
      assert.ok(existsSync(done.output!.path!), 'the continued agent did not remove the accepted output');
      await t.waitNodesOnline([victim], 60_000);
    } finally {
      watch.stop();
      for (const f of frozen) t.service(f).signal('SIGCONT');
    }
  });

  it('the Temporal server killed with SIGKILL mid-load and started again: every job completes, no sequence number twice', async () => {
    const ids: string[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++) {
      const j = await submit(i % 2 ? m2 : m1, jobBody({ duration: 4 }));
      ids.push(j.id);
      seqs.push(j.sequence_number);
    }
    await waitFor('a job running', async () => ((await m1.get<JobView>(`/jobs/${ids[0]}`)).body.status === 'running' ? true : undefined));
    const temporal = t.service('temporal');
    temporal.signal('SIGKILL');
    assert.ok(await temporal.waitExit(10_000));
    await t.startService('temporal');
    // more jobs once it is back, from both masters
    for (let i = 0; i < 4; i++) {
      const j = await waitFor('a create after the restart', async () => {
        const r = await (i % 2 ? m1 : m2).post<JobView>('/jobs', jobBody({ duration: 4 }));
        return r.status === 201 ? r.body : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      ids.push(j.id);
      seqs.push(j.sequence_number);
    }
    const o = await outcomes(m1, ids, 240_000);
    assertAllCompleted(o, ids.length);
    await assertOutputs(o, 4, 30);
    assert.equal(new Set(seqs).size, seqs.length, `sequence numbers unique: ${seqs.join(',')}`);
  });

  it('PostgreSQL restarted mid-load: every job completes', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await submit(i % 2 ? m2 : m1, jobBody({ duration: 4 }))).id);
    await waitFor('a job running', async () => ((await m1.get<JobView>(`/jobs/${ids[0]}`)).body.status === 'running' ? true : undefined));
    const pg = t.service('postgres');
    await pg.stop(30_000, 'SIGINT'); // a fast shutdown, as `pg_ctl restart -m fast` does
    await t.startService('postgres');
    const o = await outcomes(m1, ids, 240_000);
    assertAllCompleted(o, ids.length);
    await assertOutputs(o, 4, 30);
  });

  it('a master killed with SIGKILL under POST load: every 201 names a job that exists and completes; no request creates two jobs', async () => {
    const keys = Array.from({ length: 24 }, () => randomUUID());
    const answered = new Map<string, string>(); // key -> job id
    const killAfter = 6;
    let killed = false;
    const post = async (api: ApiClient, key: string) =>
      api.post<JobView>('/jobs', jobBody({ duration: 2 }, '240p30-h264'), { headers: { 'Idempotency-Key': key } }).catch((err: Error) => ({ status: 0, body: undefined, text: err.message }));
    // four clients in parallel against m1; m1 dies after the first answers; every client retries on m2
    const queue = [...keys];
    const client = async () => {
      for (;;) {
        const key = queue.shift();
        if (!key) return;
        let r = await post(m1, key);
        if (r.status === 201 && r.body) answered.set(key, r.body.id);
        if (!killed && answered.size >= killAfter) {
          killed = true;
          t.service('m1').signal('SIGKILL');
        }
        if (r.status !== 201) {
          r = await waitFor(`a retry of ${key} on m2`, async () => {
            const again = await post(m2, key);
            return again.status === 201 ? again : undefined;
          }, { timeoutMs: 60_000, intervalMs: 300 });
          if (answered.has(key)) assert.equal(r.body!.id, answered.get(key), 'a retry answers the first job');
          answered.set(key, r.body!.id);
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    assert.ok(killed);
    assert.equal(answered.size, keys.length);
    const ids = [...new Set(answered.values())];
    assert.equal(ids.length, keys.length, 'one job per key');
    // a second round of retries with the same keys creates nothing new
    for (const key of keys.slice(0, 6)) assert.equal((await post(m2, key)).body?.id, answered.get(key));
    // the store agrees: exactly one job per key, none without a key
    const client2 = await connectClient(t.temporalSettings());
    try {
      const query = ids.map((id) => `WorkflowId = 'job-${id}'`).join(' OR ');
      const count = await waitFor('visibility to count the jobs', async () => {
        const c = await client2.workflow.count(`WorkflowType = 'transcodeJob' AND (${query})`);
        return c.count === ids.length ? c.count : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      assert.equal(count, ids.length);
    } finally {
      await client2.connection.close();
    }
    await t.service('m1').stop(5_000);
    await t.startService('m1');
    const o = await outcomes(m2, ids, 240_000);
    assertAllCompleted(o, ids.length);
    await assertOutputs(o, 2, 30);
  });

  it('a master restart does not stall job creation: the first POST after a SIGKILL answers at once', async () => {
    // warm: m1 ran the sequence counter's last decision, so its sticky queue holds the counter
    for (let i = 0; i < 3; i++) await submit(m1, jobBody({ duration: 1 }, '240p30-h264'));
    t.service('m1').signal('SIGKILL');
    await t.service('m1').waitExit(10_000);
    const t0 = Date.now();
    const j = await submit(m2, jobBody({ duration: 1 }, '240p30-h264'));
    const took = Date.now() - t0;
    // the SDK's default sticky timeout made this ~12 s; ffrtmp's is 1 s
    assert.ok(took < 5_000, `POST /jobs took ${took} ms after a master was killed`);
    await t.startService('m1');
    assertAllCompleted(await outcomes(m2, [j.id], 120_000), 1);
  });

  it('a rolling restart of every worker (SIGTERM, one at a time) under load: no job fails', async () => {
    const ids: string[] = [];
    let stop = false;
    const feeder = (async () => {
      while (!stop) {
        ids.push((await submit(ids.length % 2 ? m1 : m2, jobBody({ duration: 3 }, '240p30-h264'))).id);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    })();
    try {
      for (const w of t.workers) {
        const s = t.service(w);
        await s.stop(40_000); // SIGTERM: no new work, running encodes get the grace period
        await t.startService(w);
        await t.waitNodesOnline([w], 60_000);
      }
    } finally {
      stop = true;
      await feeder;
    }
    const o = await outcomes(m1, ids, 240_000);
    assertAllCompleted(o, ids.length);
    await assertOutputs(o, 3, 30);
  });

  it('Temporal over mutual TLS: a client without a certificate is refused; ffrtmp --via temporal and the temporal CLI work with one (the same TEMPORAL_TLS_* variables)', async () => {
    await assert.rejects(
      (async () => {
        const c = await Connection.connect({ address: t.temporalAddress, connectTimeout: '3s' });
        await c.workflowService.getSystemInfo({});
      })(),
      'plain gRPC is refused',
    );
    const noCert = t.temporalSettings();
    await assert.rejects(
      (async () => {
        const c = await connectClient({ ...noCert, tls: { caPath: noCert.tls!.caPath, serverName: 'temporal' } });
        await c.workflowService.getSystemInfo({});
      })(),
      'TLS without a client certificate is refused',
    );
    const env = { ...t.temporalEnv('client'), FFRTMP_VIA: 'temporal' };
    const cli = await run(path.join(REPO_ROOT, 'bin', 'ffrtmp'), ['-o', 'json', 'jobs', 'status'], env);
    assert.equal(cli.code, 0, cli.out);
    assert.ok(Array.isArray(JSON.parse(cli.out).jobs), cli.out);
    const bare = await run(path.join(REPO_ROOT, 'bin', 'ffrtmp'), ['jobs', 'status'], { FFRTMP_VIA: 'temporal', TEMPORAL_ADDRESS: t.temporalAddress });
    assert.notEqual(bare.code, 0, 'without the TLS settings the CLI cannot reach Temporal');
    // the temporal CLI reads the same variables
    const tcli = await run(temporalCliPath(), ['--address', t.temporalAddress, 'workflow', 'count', '--query', "WorkflowType = 'transcodeJob'"], t.cliTlsEnv());
    assert.equal(tcli.code, 0, tcli.out);
    assert.match(tcli.out, /Total: \d+/);
  });
});
