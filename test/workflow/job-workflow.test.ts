/**
 * The job workflow's state machine, driven with fake activities (test/workflow/harness.ts) on a
 * real dev server: every transition of domain/states.ts the workflow can take, the timing ones
 * (deadline, stall, backoff) included. Each test records its history for the replay test.
 */
import assert from 'node:assert/strict';
import { jobWorkflowId, type JobView } from '../../domain/job';
import * as msg from '../../domain/messages';
import { SA } from '../../domain/search-attributes';
import { TRANSITIONS, type JobStatus } from '../../domain/states';
import { FAKE_NODE, FAKE_PAUSED_PROGRESS, harness, record, request, startJob, until, view, type Harness } from './harness';

const seen = new Set<string>();
function remember(v: JobView): JobView {
  for (const t of v.state_transitions) seen.add(`${t.from ?? 'null'}->${t.to}`);
  return v;
}
const statusIs = (...s: JobStatus[]) => (v: JobView) => s.includes(v.status);

/** Jobs whose histories the test records once it ends (passed or not: a history is a history). */
const tracked: { id: string; name: string; runs: number }[] = [];
const track = (id: string, name: string, runs = 1) => tracked.push({ id, name, runs });

describe('job workflow (fake activities, real Temporal): the state machine', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async function () {
    this.timeout(90_000);
    h = await harness();
  });

  afterEach(async () => {
    for (const t of tracked.splice(0)) await record(h, jobWorkflowId(t.id), t.name, t.runs).catch((err: Error) => console.warn(`not recorded: ${t.name}: ${err.message}`));
  });

  const update = (id: string, u: typeof msg.pauseUpdate, reason?: string) => h.client.workflow.getHandle(jobWorkflowId(id)).executeUpdate(u, { args: [{ reason }] });

  it('queued -> assigned -> running -> completed, with the output published by the node', async () => {
    const id = await startJob(h, request(), [{ kind: 'complete' }]);
    track(id, 'completed');
    const v = remember(await until(h, id, statusIs('completed'), 'completed'));
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'completed']);
    assert.equal(v.node_id, FAKE_NODE.id);
    assert.equal(v.output?.path, `/fake/outputs/${id}/output.mp4`);
    assert.ok(h.world.published.includes(`${id}#1`), 'the accepted attempt was published');
  });

  it('canceled while queued (no worker takes its queue)', async () => {
    const id = await startJob(h, request({}, { engine: 'gstreamer' }), [{ kind: 'complete' }], { gpuWaitMs: 60_000 });
    track(id, 'canceled-queued');
    await until(h, id, (v) => v.status === 'queued' && v.attempt === 1, 'queued with an attempt');
    const v = remember(await update(id, msg.cancelUpdate, 'test'));
    assert.equal(v.status, 'canceled');
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'canceled']);
  });

  it('canceled while assigned', async () => {
    const id = await startJob(h, request(), [{ kind: 'assigned-only' }]);
    track(id, 'canceled-assigned');
    await until(h, id, statusIs('assigned'), 'assigned');
    const v = remember(await update(id, msg.cancelUpdate));
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'assigned', 'canceled']);
  });

  it('canceled while running', async () => {
    const id = await startJob(h, request(), [{ kind: 'hang' }]);
    track(id, 'canceled-running');
    await until(h, id, statusIs('running'), 'running');
    const v = remember(await update(id, msg.cancelUpdate));
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'canceled']);
  });

  it('paused while running, then canceled while paused', async () => {
    const id = await startJob(h, request(), [{ kind: 'hang' }]);
    track(id, 'canceled-paused');
    await until(h, id, statusIs('running'), 'running');
    assert.equal((await update(id, msg.pauseUpdate)).status, 'paused');
    assert.ok(h.world.suspended.includes(`${id}#1`), 'the node was asked to suspend the encoder');
    const v = remember(await update(id, msg.cancelUpdate));
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'paused', 'canceled']);
  });

  it('paused and resumed while running, then completed; paused while queued is not dispatched until resumed', async () => {
    const id = await startJob(h, request(), [{ kind: 'hang' }]);
    track(id, 'paused-resumed-running');
    await until(h, id, statusIs('running'), 'running');
    const paused = await update(id, msg.pauseUpdate, 'look at it');
    assert.equal(paused.progress, FAKE_PAUSED_PROGRESS, 'the figure the node says its encoder stopped at');
    const resumed = await update(id, msg.resumeUpdate, 'carry on');
    assert.equal(resumed.status, 'running');
    assert.equal(resumed.progress, FAKE_PAUSED_PROGRESS, 'kept after resume (live figures take over from there)');
    assert.ok(h.world.resumed.includes(`${id}#1`));
    remember(await update(id, msg.cancelUpdate));

    const q = await startJob(h, request({}, { engine: 'gstreamer' }), [{ kind: 'complete' }], { gpuWaitMs: 60_000 });

    track(q, 'paused-resumed-queued');
    await until(h, q, (v) => v.status === 'queued' && v.attempt === 1, 'queued');
    assert.equal((await update(q, msg.pauseUpdate)).status, 'paused');
    const back = await update(q, msg.resumeUpdate);
    assert.equal(back.status, 'queued');
    remember(await update(q, msg.cancelUpdate));
    assert.deepEqual((await view(h, q)).state_transitions.map((t) => t.to), ['queued', 'paused', 'queued', 'canceled']);
  });

  it('paused while assigned, resumed to assigned; refused actions answer why', async () => {
    const id = await startJob(h, request(), [{ kind: 'assigned-only' }]);
    track(id, 'paused-resumed-assigned');
    await until(h, id, statusIs('assigned'), 'assigned');
    assert.equal((await update(id, msg.pauseUpdate)).status, 'paused');
    await assert.rejects(update(id, msg.pauseUpdate), (e: Error) => /cannot pause a job that is paused/.test(String((e as Error & { cause?: Error }).cause?.message)));
    assert.equal((await update(id, msg.resumeUpdate)).status, 'assigned');
    await assert.rejects(update(id, msg.resumeUpdate), (e: Error) => /cannot resume a job that is assigned/.test(String((e as Error & { cause?: Error }).cause?.message)));
    remember(await update(id, msg.cancelUpdate));
  });

  it('a crash is retried automatically after a backoff (retrying -> queued), and the retry completes', async () => {
    const id = await startJob(h, request(), [{ kind: 'fail', type: 'EncoderFailed', message: 'ffmpeg was killed by SIGKILL' }, { kind: 'complete' }]);
    track(id, 'auto-retry');
    const v = remember(await until(h, id, statusIs('completed'), 'completed'));
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'failed', 'retrying', 'queued', 'assigned', 'running', 'completed']);
    const retrying = v.state_transitions.find((t) => t.to === 'retrying')!;
    const requeued = v.state_transitions.find((t, i) => t.to === 'queued' && i > 0)!;
    assert.ok(Date.parse(requeued.at) - Date.parse(retrying.at) >= 150, 'the backoff (200 ms) was waited');
    assert.equal(v.retry_count, 1);
  });

  it('a non-retryable failure fails at once; a manual retry runs again under the same id', async () => {
    const id = await startJob(h, request(), [{ kind: 'fail', type: 'InvalidJob', message: 'input is not readable media', nonRetryable: true }, { kind: 'complete' }]);
    track(id, 'manual-retry', 2);
    const failed = remember(await until(h, id, statusIs('failed'), 'failed'));
    assert.equal(failed.attempts.length, 1);
    const again = await h.jobs.retry(id);
    assert.notEqual(again.status, 'failed');
    const v = remember(await until(h, id, statusIs('completed'), 'completed after the manual retry'));
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'failed', 'retrying', 'queued', 'assigned', 'running', 'completed']);
  });

  it('the attempt deadline times the attempt out (running -> timed_out); paused time does not count', async () => {
    const id = await startJob(h, request({ timeout: 1, max_retries: 0 }), [{ kind: 'hang' }]);
    track(id, 'timed-out');
    await until(h, id, statusIs('running'), 'running');
    await update(id, msg.pauseUpdate);
    // paused for longer than the deadline: still paused, not timed out
    await new Promise((r) => setTimeout(r, 1_300)); // the time that must NOT count, not a synchronisation
    assert.equal((await view(h, id)).status, 'paused');
    await update(id, msg.resumeUpdate);
    const v = remember(await until(h, id, statusIs('timed_out'), 'timed out'));
    assert.match(v.error ?? '', /exceeded its deadline of 1 s/);
  });

  it('a stalled encoder times the attempt out, and it is retried', async () => {
    const id = await startJob(h, request({ max_retries: 1 }), [{ kind: 'fail', type: 'EncoderStalled', message: 'encoder stalled: no progress for 2 s on fake-node (killed)' }, { kind: 'complete' }]);
    track(id, 'stalled');
    const v = remember(await until(h, id, statusIs('completed'), 'completed'));
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'timed_out', 'retrying', 'queued', 'assigned', 'running', 'completed']);
  });

  it('a GPU attempt no worker takes falls back to the CPU', async () => {
    const id = await startJob(h, request({ codec: 'h264_nvenc' }), [{ kind: 'complete' }]);
    track(id, 'gpu-fallback');
    const v = remember(await until(h, id, statusIs('completed'), 'completed'));
    assert.equal(v.attempts.length, 2);
    assert.equal(v.attempts[0]!.outcome, 'unclaimed');
    assert.equal(v.attempts[0]!.task_queue, 'encode.nvenc');
    assert.equal(v.attempts[1]!.encoder, 'libx264');
    assert.match(v.attempts[1]!.routing ?? '', /fell back to the CPU/);
    // listed as what it ran on: the CPU, not the GPU it asked for
    const sa = (await h.client.workflow.getHandle(jobWorkflowId(id)).describe()).typedSearchAttributes;
    assert.equal(sa.get(SA.capability), 'cpu');
    assert.equal(sa.get(SA.engine), 'ffmpeg');
  });

  it('a required capability no live worker has: the job waits queued, then runs when one appears', async function () {
    this.timeout(60_000);
    const id = await startJob(h, request({ hardware: 'required' }), [{ kind: 'complete' }]);
    track(id, 'required-capability-waits');
    const waiting = await until(h, id, (v) => v.status === 'queued' && /waiting for a live/.test(v.routing ?? ''), 'waiting');
    assert.equal(waiting.attempt, 0);
    const stopNvenc = await h.addEncodeWorker('nvenc');
    h.world.live = ['cpu', 'nvenc'];
    const v = remember(await until(h, id, statusIs('completed'), 'completed', 40_000));
    assert.equal(v.attempts[0]!.task_queue, 'encode.nvenc');
    assert.equal((await h.client.workflow.getHandle(jobWorkflowId(id)).describe()).typedSearchAttributes.get(SA.capability), 'nvenc', 'listed as an NVENC job');
    h.world.live = ['cpu'];
    // later tests (split-job's GPU ladder) count on no NVENC poller
    await stopNvenc();
  });

  it('no heartbeat: the node is asked for the attempt and hands it over (adopted, not lost)', async () => {
    const id = await startJob(h, request(), [{ kind: 'silent', adoptable: true }]);
    track(id, 'adopted-after-lost-heartbeat');
    const v = remember(await until(h, id, statusIs('completed'), 'completed'));
    assert.equal(v.attempts.length, 1, 'encoded once');
    assert.ok(!v.state_transitions.some((t) => t.to === 'failed'));
  });

  it('no heartbeat and the node does not have it: worker lost, retried', async () => {
    const id = await startJob(h, request(), [{ kind: 'silent', adoptable: false }, { kind: 'complete' }]);
    track(id, 'worker-lost');
    const v = remember(await until(h, id, statusIs('completed'), 'completed'));
    assert.equal(v.attempts.length, 2);
    assert.match(v.attempts[0]!.error ?? '', /stopped heartbeating \(worker lost\)/);
  });

  it('`temporal workflow cancel` (a cancellation request) cancels the job like the cancel update', async () => {
    const id = await startJob(h, request(), [{ kind: 'hang' }]);
    track(id, 'canceled-through-temporal');
    await until(h, id, statusIs('running'), 'running');
    await h.client.workflow.getHandle(jobWorkflowId(id)).cancel();
    const v = remember(await until(h, id, statusIs('canceled'), 'canceled'));
    assert.match(v.state_transitions.at(-1)!.reason, /canceled through Temporal/);
  });

  it('the rarer edges: a failure or the deadline before the first frame, completion without one, a queue nobody serves, a worker lost while paused, a cancel during the backoff, a manual retry of a canceled job', async function () {
    this.timeout(60_000);
    // assigned -> failed (the probe failed), then the retry completes without reporting a frame: assigned -> completed
    const a = await startJob(h, request(), [{ kind: 'fail', type: 'EncoderFailed', message: 'could not cut the input', beforeFirstFrame: true }, { kind: 'complete', beforeFirstFrame: true }]);
    track(a, 'failed-and-completed-before-first-frame');
    const av = remember(await until(h, a, statusIs('completed'), 'completed'));
    assert.deepEqual(av.state_transitions.map((t) => t.to), ['queued', 'assigned', 'failed', 'retrying', 'queued', 'assigned', 'completed']);

    // assigned -> timed_out
    const b = await startJob(h, request({ timeout: 1, max_retries: 0 }), [{ kind: 'assigned-only' }]);
    track(b, 'timed-out-assigned');
    remember(await until(h, b, statusIs('timed_out'), 'timed out while assigned'));

    // queued -> failed: engine=gstreamer and no worker takes its queue in time
    const c = await startJob(h, request({}, { engine: 'gstreamer' }), [{ kind: 'complete' }], { gpuWaitMs: 500 });
    track(c, 'unclaimed-fails');
    const cv = remember(await until(h, c, statusIs('failed'), 'failed unclaimed'));
    assert.match(cv.error ?? '', /no live worker offers gstreamer/);

    // paused -> failed: the worker is lost while its encoder is suspended; the retry waits paused
    const d = await startJob(h, request(), [{ kind: 'hang', silentWhenSuspended: true }, { kind: 'complete' }]);
    track(d, 'lost-while-paused');
    await until(h, d, statusIs('running'), 'running');
    await update(d, msg.pauseUpdate);
    const dv = await until(h, d, (v) => v.attempts.length >= 1 && v.state_transitions.some((t) => t.from === 'paused' && t.to === 'failed') && v.status === 'paused', 'lost while paused, waiting paused');
    assert.match(dv.attempts[0]!.error ?? '', /worker lost/);
    assert.equal((await update(d, msg.resumeUpdate)).status, 'queued');
    remember(await until(h, d, statusIs('completed'), 'completed after resume'));

    // retrying -> canceled: a cancel during the backoff
    const e = await startJob(h, request(), [{ kind: 'fail', type: 'EncoderFailed', message: 'crash' }], { retryBackoffMs: 30_000, retryBackoffMaxMs: 30_000 });
    track(e, 'canceled-in-backoff-then-retried', 2);
    await until(h, e, statusIs('retrying'), 'retrying');
    const ev = remember(await update(e, msg.cancelUpdate));
    assert.equal(ev.status, 'canceled');
    // canceled -> retrying: a manual retry of a canceled job
    h.world.script.set(e, [{ kind: 'fail', type: 'EncoderFailed', message: 'crash' }, { kind: 'complete' }]);
    await h.jobs.retry(e);
    remember(await until(h, e, statusIs('completed'), 'completed after the manual retry'));
  });

  it('the runs above took every transition of the table', () => {
    const table = (Object.entries(TRANSITIONS) as [JobStatus, readonly JobStatus[]][]).flatMap(([from, tos]) => tos.map((to) => `${from}->${to}`));
    const missing = table.filter((e) => !seen.has(e));
    assert.deepEqual(missing, [], `transitions never taken: ${missing.join(', ')}`);
  });
});
