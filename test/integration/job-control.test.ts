import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { JobParameters } from '../../domain/job';
import type { CreateJobBody } from '../../domain/schemas';
import { ApiError } from '../../lib/errors';
import type { JobService } from '../../lib/job-service';
import { randomUUID } from 'node:crypto';
import { jobWorkflowId, type JobWorkflowInput } from '../../domain/job';
import { ORCHESTRATION_QUEUE } from '../../domain/queues';
import { resolveJob } from '../../domain/resolve';
import { cluster, jobService, mediaFile, startWorker, testResolveContext, type WorkerAgent } from '../helpers/cluster';
import { cpuSeconds, encodersOfJob, processState } from '../helpers/processes';
import { jobWhere, statusIs } from '../helpers/jobs';
import { waitFor } from '../helpers/wait';

const body = (parameters: JobParameters, scenario = '720p30-h264'): CreateJobBody => ({
  scenario,
  confidence: 'auto',
  engine: 'auto',
  queue: 'default',
  priority: 'medium',
  parameters,
});



async function encoderPid(jobId: string): Promise<number> {
  return waitFor('the encoder process', () => encodersOfJob(jobId)[0]?.pid, { timeoutMs: 20_000, intervalMs: 20 });
}

async function expectConflict(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.status, 409);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('job workflow: control, timeouts and retries', function () {
  this.timeout(180_000);
  let jobs: JobService;
  let worker: WorkerAgent;

  before(async () => {
    jobs = await jobService();
    worker = await startWorker();
  });
  after(async () => worker?.stop());

  it('cancel stops the encoder process group within 2 s and removes its partial output', async () => {
    const job = await jobs.create(body({ duration: 120, preset: 'medium' }));
    await jobWhere(jobs, job.id, statusIs('running'), 'running');
    const pid = await encoderPid(job.id);
    const { root } = await cluster();
    const jobDir = path.join(root, 'data', 'outputs', job.id);
    await waitFor('partial output on disk', () => existsSync(path.join(jobDir, 'attempt-1.output.mp4.partial')));

    const t0 = Date.now();
    const view = await jobs.control(job.id, 'cancel');
    assert.equal(view.status, 'canceled');
    await waitFor('encoder gone', () => processState(pid) === null, { timeoutMs: 2_000, intervalMs: 10 });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed <= 2_000, `encoder gone after ${elapsed} ms`);
    assert.deepEqual(readdirSync(jobDir).filter((f) => f.startsWith('output') || f.startsWith('attempt-')), [], 'no output of any attempt is left');
    assert.deepEqual(view.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'canceled']);
  });

  it('pause suspends the running encoder (CPU stops) and resume continues the same process to completion', async () => {
    const job = await jobs.create(body({ duration: 12, preset: 'medium' }));
    await jobWhere(jobs, job.id, (v) => v.status === 'running' && v.progress > 5, 'running with progress');
    const pid = await encoderPid(job.id);

    const paused = await jobs.control(job.id, 'pause');
    assert.equal(paused.status, 'paused');
    await waitFor('process stopped', () => processState(pid) === 'T', { timeoutMs: 2_000, intervalMs: 10 });
    const cpuA = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 1_500)); // an observation window, not synchronisation
    const cpuB = cpuSeconds(pid);
    assert.ok(cpuB - cpuA < 0.05, `paused encoder used ${cpuB - cpuA} s of CPU`);
    const progressWhilePaused = (await jobs.get(job.id)).progress;

    const resumed = await jobs.control(job.id, 'resume');
    assert.equal(resumed.status, 'running');
    await waitFor('CPU time rising again', () => cpuSeconds(pid) > cpuB + 0.2, { timeoutMs: 5_000 });
    assert.deepEqual(encodersOfJob(job.id).map((p) => p.pid), [pid], 'the same encoder process continues');

    const done = await jobWhere(jobs, job.id, statusIs('completed', 'failed', 'timed_out'), 'completion');
    assert.equal(done.status, 'completed');
    assert.ok(progressWhilePaused < 100);
    assert.deepEqual(done.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'paused', 'running', 'completed']);
  });

  it('a paused queued job is not dispatched until resumed', async () => {
    const blocker = await jobs.create(body({ duration: 120, preset: 'medium' }));
    await jobWhere(jobs, blocker.id, statusIs('running'), 'blocker running');
    const waiting = await jobs.create(body({ duration: 1, preset: 'ultrafast' }, '240p30-h264'));
    const paused = await jobs.control(waiting.id, 'pause');
    assert.equal(paused.status, 'paused');

    await jobs.control(blocker.id, 'cancel');
    // the slot is free now; give the paused job every chance to be (wrongly) dispatched
    const freed = Date.now();
    await waitFor('slot to be free', () => encodersOfJob(blocker.id).length === 0);
    while (Date.now() - freed < 1_500) {
      const v = await jobs.get(waiting.id);
      assert.equal(v.status, 'paused');
      assert.equal(encodersOfJob(waiting.id).length, 0);
      await new Promise((r) => setTimeout(r, 100));
    }
    await jobs.control(waiting.id, 'resume');
    const done = await jobWhere(jobs, waiting.id, statusIs('completed', 'failed'), 'completion');
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.state_transitions.map((t) => t.to), ['queued', 'paused', 'queued', 'assigned', 'running', 'completed']);
  });

  it('forbidden transitions are rejected: resume of a running job, cancel/pause of a completed one', async () => {
    const job = await jobs.create(body({ duration: 10, preset: 'medium' }));
    await jobWhere(jobs, job.id, statusIs('running'), 'running');
    await expectConflict(jobs.control(job.id, 'resume'), /cannot resume a job that is running/);
    await expectConflict(jobs.retry(job.id), /cannot retry a job that is running/);
    const done = await jobWhere(jobs, job.id, statusIs('completed'), 'completed');
    await expectConflict(jobs.control(done.id, 'cancel'), /cannot cancel a job that is completed/);
    await expectConflict(jobs.control(done.id, 'pause'), /cannot pause a job that is completed/);
    await expectConflict(jobs.retry(done.id), /cannot retry a job that is completed/);
  });

  it('an attempt past its deadline times out; the job ends timed_out when no retries are left', async () => {
    const job = await jobs.create(body({ duration: 120, preset: 'medium', timeout: 2, max_retries: 0 }));
    const done = await jobWhere(jobs, job.id, statusIs('timed_out', 'completed', 'failed'), 'timed out');
    assert.equal(done.status, 'timed_out');
    assert.match(done.error ?? '', /exceeded its deadline of 2 s/);
    await waitFor('encoder gone', () => encodersOfJob(job.id).length === 0, { timeoutMs: 3_000 });
  });

  it('a stalled encoder times out; paused time does not count as a stall', async () => {
    // 3 s: on 2 busy cores a medium-preset encode can go over a second between progress lines
    const stallJobs = await jobService({ stallTimeoutMs: 3_000 });
    // paused for longer than the stall interval, then resumed: completes
    const calm = await stallJobs.create(body({ duration: 8, preset: 'medium', max_retries: 0 }));
    await jobWhere(stallJobs, calm.id, statusIs('running'), 'running');
    await stallJobs.control(calm.id, 'pause');
    await new Promise((r) => setTimeout(r, 4_000)); // longer than the stall interval, on purpose
    await stallJobs.control(calm.id, 'resume');
    const ok = await jobWhere(stallJobs, calm.id, statusIs('completed', 'timed_out', 'failed'), 'calm job done');
    assert.equal(ok.status, 'completed', ok.error ?? '');

    // an encoder frozen behind our back (SIGSTOP from outside) makes no progress: a stall
    const frozen = await stallJobs.create(body({ duration: 60, preset: 'medium', max_retries: 0 }));
    await jobWhere(stallJobs, frozen.id, statusIs('running'), 'running');
    process.kill(await encoderPid(frozen.id), 'SIGSTOP');
    const done = await jobWhere(stallJobs, frozen.id, statusIs('timed_out', 'completed', 'failed'), 'stall detected', 20_000);
    assert.equal(done.status, 'timed_out');
    assert.match(done.error ?? '', /stalled: no progress for 3 s/);
  });

  it('a retryable failure retries automatically with backoff and then completes', async () => {
    const job = await jobs.create(body({ duration: 10, preset: 'medium' }));
    await jobWhere(jobs, job.id, statusIs('running'), 'running');
    process.kill(await encoderPid(job.id), 'SIGKILL'); // injected failure: the encoder dies
    const done = await jobWhere(jobs, job.id, statusIs('completed', 'failed', 'timed_out'), 'completion', 90_000);
    assert.equal(done.status, 'completed', done.error ?? '');
    assert.equal(done.retry_count, 1);
    assert.equal(done.attempt, 2);
    const states = done.state_transitions.map((t) => t.to);
    assert.deepEqual(states, ['queued', 'assigned', 'running', 'failed', 'retrying', 'queued', 'assigned', 'running', 'completed']);
    assert.match(done.state_transitions[3]!.reason, /killed by SIGKILL/);
    assert.match(done.state_transitions[4]!.reason, /automatic retry 1 of 3/);
  });

  it('a non-retryable failure (input that is not media) fails at once with a message that says why', async () => {
    await mediaFile('not-video.txt', 'this is not a video\n');
    const job = await jobs.create(body({ duration: 2, input: 'not-video.txt' }));
    const done = await jobWhere(jobs, job.id, statusIs('failed', 'completed'), 'failed');
    assert.equal(done.status, 'failed');
    assert.equal(done.retry_count, 0);
    assert.equal(done.attempt, 1);
    assert.match(done.error ?? '', /input is not readable media: ffprobe could not read .*not-video\.txt: .*Invalid data/);
  });

  it('a non-retryable failure (an encoder the worker does not have) fails at once, even past the API', async () => {
    // started on Temporal directly, as `temporal workflow start` could: the worker still refuses it
    const { client } = await cluster();
    const id = randomUUID();
    const input: JobWorkflowInput = {
      id,
      sequenceNumber: await jobs.nextSequenceNumber(),
      createdAt: new Date().toISOString(),
      request: body({ duration: 2 }),
      ...resolveJob(body({ duration: 2 }), testResolveContext('/tmp')),
    };
    input.spec.encoder = 'libdoesnotexist';
    await client.workflow.start('transcodeJob', { workflowId: jobWorkflowId(id), taskQueue: ORCHESTRATION_QUEUE, args: [input] });
    const done = await jobWhere(jobs, id, statusIs('failed', 'completed'), 'failed');
    assert.equal(done.retry_count, 0);
    assert.match(done.error ?? '', /encoder libdoesnotexist is not available on test-worker-\d+/);
  });

  it('a manual retry of a failed job runs on the same id and keeps earlier transitions and logs', async () => {
    const job = await jobs.create(body({ duration: 6, preset: 'medium', max_retries: 0 }));
    await jobWhere(jobs, job.id, statusIs('running'), 'running');
    process.kill(await encoderPid(job.id), 'SIGKILL');
    const failed = await jobWhere(jobs, job.id, statusIs('failed'), 'failed');
    assert.equal(failed.attempt, 1);

    const retried = await jobs.retry(String(failed.sequence_number));
    assert.equal(retried.id, job.id);
    const done = await jobWhere(jobs, job.id, statusIs('completed', 'failed'), 'completed after retry');
    assert.equal(done.status, 'completed');
    assert.equal(done.attempt, 2);
    assert.deepEqual(done.state_transitions.slice(0, 4).map((t) => t.to), ['queued', 'assigned', 'running', 'failed']);
    assert.deepEqual(done.state_transitions.slice(4, 6).map((t) => t.to), ['retrying', 'queued']);
    const logs = await jobs.logs(job.id);
    assert.match(logs.logs, /### attempt 1 [\s\S]*killed by SIGKILL[\s\S]*### attempt 2/);
  });
});
