import assert from 'node:assert/strict';
import { jobWire } from '../../domain/api-schemas';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { JobView } from '../../domain/job';
import { freePort } from '../../lib/dev-server';
import { ffrtmp, submittedSeq, type CliResult } from '../helpers/cli';
import { cluster, jobService, startWorker, temporalCliPath, type WorkerAgent } from '../helpers/cluster';
import { spawnMaster, type MasterProcess } from '../helpers/master';
import { READ_TTL_MS } from '../../lib/job-service';
import { waitFor } from '../helpers/wait';

/** `temporal <args> --address <dev server>`, as an operator runs it (no shell). */
async function temporal(args: string[]): Promise<CliResult> {
  const { server } = await cluster();
  return new Promise((resolve) =>
    execFile(temporalCliPath(), [...args, '--address', server.address], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

describe('operators on Temporal: the temporal CLI, and ffrtmp --via temporal with the master down', function () {
  this.timeout(180_000);
  let master: MasterProcess;
  let worker: WorkerAgent;
  let temporalAddress: string;
  let mediaRoot: string;

  before(async () => {
    const c = await cluster();
    temporalAddress = c.server.address;
    mediaRoot = path.join(c.root, 'media');
    master = await spawnMaster();
    worker = await startWorker({ name: 'ops-worker' });
  });
  after(async () => {
    await worker?.stop();
    await master?.stop();
  });

  const statusOf = async (id: string) => (await master.api.get<JobView>(`/jobs/${id}`)).body.status;
  /** a job that stays queued: it needs a GPU worker and none will come */
  const parkedJob = async () => {
    const r = await master.api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1, hardware: 'required' } });
    assert.equal(r.status, 201, r.text);
    return r.body;
  };

  it('pause, resume, cancel and inspect a job with the temporal CLI; GET /jobs/{id} shows every change', async () => {
    const job = await parkedJob();
    const wf = `job-${job.id}`;

    // update: answers once the pause took effect; the API shows it within its freshness bound
    // (reads are shared for READ_TTL_MS; a write through another door is seen after at most that)
    const pause = await temporal(['workflow', 'update', 'execute', '--name', 'pause', '--workflow-id', wf, '--input', '{"reason":"maintenance"}']);
    assert.equal(pause.code, 0, pause.stderr);
    assert.match(pause.stdout, /status:paused/);
    const paused = Date.now();
    await waitFor('paused shown', async () => (await statusOf(job.id)) === 'paused', { timeoutMs: 2_000, intervalMs: 20 });
    assert.ok(Date.now() - paused <= READ_TTL_MS + 200, `seen paused ${Date.now() - paused} ms after the update`);

    // a forbidden update is refused with the state machine's reason, before it enters history
    const refused = await temporal(['workflow', 'update', 'execute', '--name', 'pause', '--workflow-id', wf]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr + refused.stdout, /cannot pause a job that is paused \(allowed from: queued, assigned, running\)/);

    // signals: fire and forget
    const resume = await temporal(['workflow', 'signal', '--name', 'resume', '--workflow-id', wf]);
    assert.equal(resume.code, 0, resume.stderr);
    await waitFor('resumed (queued)', async () => (await statusOf(job.id)) === 'queued');
    assert.equal((await temporal(['workflow', 'signal', '--name', 'pause', '--workflow-id', wf, '--input', '{}'])).code, 0);
    await waitFor('paused by signal', async () => (await statusOf(job.id)) === 'paused');

    // queries and describe: the job view and the execution, as the API sees them
    const view = await temporal(['workflow', 'query', '--type', 'view', '--workflow-id', wf, '-o', 'json']);
    assert.equal(view.code, 0, view.stderr);
    const queried = JSON.parse(view.stdout).queryResult[0] as JobView;
    assert.deepEqual([queried.id, queried.sequence_number, queried.status], [job.id, job.sequence_number, 'paused']);
    assert.deepEqual(queried.state_transitions.map((t) => t.to), ['queued', 'paused', 'queued', 'paused']);
    const describe = await temporal(['workflow', 'describe', '--workflow-id', wf, '-o', 'json']);
    assert.equal(describe.code, 0, describe.stderr);
    const info = JSON.parse(describe.stdout).workflowExecutionInfo;
    assert.equal(info.type.name, 'transcodeJob');
    assert.match(info.status, /RUNNING/);
    // a sequence number to its workflow id
    const list = await temporal(['workflow', 'list', '--query', `JobSeq = ${job.sequence_number}`, '-o', 'json']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`"workflowId": "${wf}"`));

    const cancel = await temporal(['workflow', 'update', 'execute', '--name', 'cancel', '--workflow-id', wf, '--input', '{"reason":"operator"}']);
    assert.equal(cancel.code, 0, cancel.stderr);
    // a write through another door: the API shows it within its freshness bound
    const canceled = await waitFor('canceled shown', async () => {
      const v = (await master.api.get<JobView>(`/jobs/${job.sequence_number}`)).body;
      return v.status === 'canceled' ? v : undefined;
    }, { timeoutMs: 2_000, intervalMs: 20 });
    assert.equal(canceled.state_transitions.at(-1)!.reason, 'operator');

    // Temporal's own cancellation request cancels the job too
    const other = await parkedJob();
    assert.equal((await temporal(['workflow', 'cancel', '--workflow-id', `job-${other.id}`])).code, 0);
    await waitFor('canceled through Temporal', async () => (await statusOf(other.id)) === 'canceled');
  });

  it('ffrtmp --via temporal does it all with the master stopped', async () => {
    await master.stop();
    const down = await ffrtmp(['--master', master.url, 'jobs', 'status'], { env: { FFMPEG_RTMP_API_KEY: 'unused-key-0123456789' } });
    assert.equal(down.code, 6, 'the master is down');

    const via = (args: string[], env: Record<string, string> = {}) => ffrtmp(['--via', 'temporal', '--temporal-address', temporalAddress, ...args], { env: { FFRTMP_MEDIA_ROOT: mediaRoot, ...env } });
    const jobs = await jobService();

    const done = await via(['jobs', 'submit', '--scenario', '240p30-h264', '--duration', '1', '--wait']);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^job \d+ completed in .* \(attempt 1, .* fps\): \//m);
    const seq = submittedSeq(done.stdout);
    const asJson = await via(['-o', 'json', 'jobs', 'status', String(seq)]);
    assert.equal(asJson.code, 0, asJson.stderr);
    assert.deepEqual(JSON.parse(asJson.stdout), jobWire(await jobs.get(String(seq))), 'the document the API would give');
    const logs = await via(['jobs', 'logs', String(seq)]);
    assert.match(logs.stdout, /^=== Command Execution ===\nCommand: ffmpeg /m);
    const list = await via(['jobs', 'status', '--status', 'completed', '--limit', '5']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${seq} +[0-9a-f-]{36} +completed +240p30-h264`, 'm'));

    // job control, and the API's error classes
    const parked = submittedSeq((await via(['jobs', 'submit', '--scenario', '240p30-h264', '--hardware', 'required'])).stdout);
    const codes: Record<string, number | null> = {};
    for (const [label, args] of [
      ['pause', ['jobs', 'pause', String(parked)]],
      ['pause again', ['jobs', 'pause', String(parked)]],
      ['resume', ['jobs', 'resume', String(parked)]],
      ['cancel', ['jobs', 'cancel', String(parked), '--reason', 'via temporal']],
      ['retry', ['jobs', 'retry', String(parked)]],
      ['cancel again', ['jobs', 'cancel', String(parked)]],
      ['unknown job', ['jobs', 'status', '99999999']],
    ] as const) {
      codes[label] = (await via([...args])).code;
    }
    assert.deepEqual(codes, { pause: 0, 'pause again': 5, resume: 0, cancel: 0, retry: 0, 'cancel again': 0, 'unknown job': 4 });
    const history = await jobs.get(String(parked));
    assert.deepEqual(history.state_transitions.map((t) => t.to), ['queued', 'paused', 'queued', 'canceled', 'retrying', 'queued', 'canceled']);
    assert.equal(history.state_transitions[3]!.reason, 'via temporal');

    // inputs resolve under FFRTMP_MEDIA_ROOT, as on the master
    const missing = await via(['jobs', 'submit', '--scenario', '240p30-h264', '--input', 'absent.mp4', '--max-retries', '0', '--wait']);
    assert.equal(missing.code, 1);
    assert.ok(missing.stdout.includes(path.join(mediaRoot, 'absent.mp4')), missing.stdout);

    // nodes and scenarios work too; settings from the environment
    const nodes = await via(['-o', 'json', 'nodes', 'list']);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.ok(Array.isArray(JSON.parse(nodes.stdout).nodes));
    assert.match((await via(['scenarios', 'list'])).stdout, /^4K60-h264 /m);
    const fromEnv = await ffrtmp(['jobs', 'status', String(seq)], { env: { FFRTMP_VIA: 'temporal', TEMPORAL_ADDRESS: temporalAddress } });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.match(fromEnv.stdout, /^Status +completed$/m);

    const unreachable = await ffrtmp(['--via', 'temporal', '--temporal-address', `127.0.0.1:${await freePort()}`, 'jobs', 'status']);
    assert.equal(unreachable.code, 6);
    assert.match(unreachable.stderr, /^error: cannot reach Temporal at 127\.0\.0\.1:\d+ \(namespace default\): /);
  });
});
