/**
 * The fan-out of a split job (workflows/split-job.ts), driven with fake activities on a real dev
 * server: the segments an attempt encodes, one failing segment encoding again alone, pause and
 * resume reaching every segment at once, cancel reaching all and cleaning up, and a job that asks
 * for parallel but does not gain running whole. Each records its history for the replay test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { jobWorkflowId, type JobView } from '../../domain/job';
import * as msg from '../../domain/messages';
import { harness, record, request, startJob, until, type Harness } from './harness';

const tracked: { id: string; name: string }[] = [];

describe('split job workflow (fake activities, real Temporal): the fan-out', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async function () {
    this.timeout(90_000);
    h = await harness();
  });
  afterEach(async () => {
    for (const t of tracked.splice(0)) await record(h, jobWorkflowId(t.id), t.name).catch((err: Error) => console.warn(`not recorded: ${t.name}: ${err.message}`));
  });

  const update = (id: string, u: typeof msg.pauseUpdate) => h.client.workflow.getHandle(jobWorkflowId(id)).executeUpdate(u, { args: [{ reason: 'test' }] });
  const segmentRequests = (id: string) => h.world.requests.filter((r) => r.jobId === id && r.segment);
  const done = (v: JobView) => ['completed', 'failed', 'canceled', 'timed_out'].includes(v.status);

  it('parallel=3: three segment encodes covering every frame, one join in order, one state machine, the files removed', async () => {
    const id = await startJob(h, request({ duration: 6, parallel: 3 }, { scenario: '240p30-h264' }), []);
    tracked.push({ id, name: 'split-completed' });
    const v = await until(h, id, done, 'finished');
    assert.equal(v.status, 'completed', v.error ?? '');
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'completed']);
    assert.equal(v.attempt, 1);
    const reqs = segmentRequests(id);
    assert.deepEqual(reqs.map((r) => [r.segment!.index, r.segment!.startFrame, r.segment!.frames]).sort(), [[0, 0, 60], [1, 60, 60], [2, 120, 60]]);
    assert.ok(reqs.every((r) => r.spec.audio === false && r.stage === true), 'video only, staged');
    assert.equal(new Set(reqs.map((r) => r.attempt)).size, 3, 'each segment encode has its own attempt number');
    const join = h.world.joins.filter((j) => j.jobId === id);
    assert.equal(join.length, 1);
    assert.equal(join[0]!.totalFrames, 180);
    assert.deepEqual(join[0]!.segments, [0, 1, 2].map((i) => `/fake/outputs/${id}/attempt-${reqs.find((r) => r.segment!.index === i)!.attempt}.output.mp4`));
    assert.deepEqual(v.segments!.map((s) => [s.index, s.start_seconds, s.duration_seconds, s.status, s.attempts, s.progress]), [
      [0, 0, 2, 'completed', 1, 100],
      [1, 2, 2, 'completed', 1, 100],
      [2, 4, 2, 'completed', 1, 100],
    ]);
    assert.equal(v.progress, 100);
    assert.ok(h.world.segmentsRemoved.includes(id));
    assert.match(v.attempts[0]!.routing, /split into 3 segments \(parallel=3\)/);
  });

  it('a segment that fails (retryable) encodes again alone; the job does not', async () => {
    const id = await startJob(h, request({ duration: 4, parallel: 2 }, { scenario: '240p30-h264' }), []);
    h.world.segmentScript.set(id, new Map([[1, [{ kind: 'fail', type: 'EncoderFailed', message: 'ffmpeg crashed' }, { kind: 'complete' }]]]));
    tracked.push({ id, name: 'split-segment-retried' });
    const v = await until(h, id, done, 'finished');
    assert.equal(v.status, 'completed', v.error ?? '');
    assert.equal(v.attempt, 1);
    assert.deepEqual(v.segments!.map((s) => s.attempts), [1, 2]);
    assert.deepEqual(segmentRequests(id).map((r) => r.segment!.index).sort(), [0, 1, 1]);
  });

  it('a non-retryable segment failure fails the attempt and cancels the other segments', async () => {
    const id = await startJob(h, request({ duration: 4, parallel: 2, max_retries: 0 }, { scenario: '240p30-h264' }), []);
    h.world.segmentScript.set(id, new Map([[0, [{ kind: 'hang' }]], [1, [{ kind: 'fail', type: 'InvalidJob', message: 'not media', nonRetryable: true, afterMs: 300 }]]]));
    const v = await until(h, id, done, 'finished');
    assert.equal(v.status, 'failed');
    assert.match(v.error!, /segment 1 failed: not media/);
    assert.deepEqual(v.segments!.map((s) => s.status), ['failed', 'failed']);
    assert.ok(h.world.segmentsRemoved.includes(id));
  });

  it('pause suspends every running segment encoder at once, resume continues them all', async () => {
    const id = await startJob(h, request({ duration: 6, parallel: 3 }, { scenario: '240p30-h264' }), []);
    h.world.segmentScript.set(id, new Map([0, 1, 2].map((i) => [i, [{ kind: 'until-released' as const }]])));
    tracked.push({ id, name: 'split-paused-resumed' });
    await until(h, id, (v) => v.status === 'running' && v.segments?.length !== undefined && v.segments.length > 0 && v.segments.every((s) => s.status === 'running'), 'all segments running');
    const paused = await update(id, msg.pauseUpdate);
    assert.equal(paused.status, 'paused');
    const attempts = segmentRequests(id).map((r) => `${id}#${r.attempt}`);
    assert.deepEqual(h.world.suspended.filter((s) => s.startsWith(id)).sort(), [...attempts].sort());
    const resumed = await update(id, msg.resumeUpdate);
    assert.equal(resumed.status, 'running');
    assert.deepEqual(h.world.resumed.filter((s) => s.startsWith(id)).sort(), [...attempts].sort());
    h.world.released.add(id);
    const v = await until(h, id, done, 'finished');
    assert.equal(v.status, 'completed', v.error ?? '');
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'paused', 'running', 'completed']);
  });

  it('cancel reaches every segment at once and removes the segment files', async () => {
    const id = await startJob(h, request({ duration: 6, parallel: 3 }, { scenario: '240p30-h264' }), []);
    h.world.segmentScript.set(id, new Map([0, 1, 2].map((i) => [i, [{ kind: 'hang' as const }]])));
    tracked.push({ id, name: 'split-canceled' });
    // a view from before the split has no segments: every() of none would hold at once
    await until(h, id, (v) => v.segments?.length === 3 && v.segments.every((s) => s.status === 'running'), 'all segments running');
    const v = await update(id, msg.cancelUpdate);
    assert.equal(v.status, 'canceled');
    assert.deepEqual(v.segments!.map((s) => s.status), ['canceled', 'canceled', 'canceled']);
    assert.ok(h.world.segmentsRemoved.includes(id));
  });

  it('a cancel while the input is probed stops the probe and cancels the job at once', async () => {
    const id = randomUUID();
    h.world.probeHeld.add(id);
    await startJob(h, request({ duration: 6, parallel: 3, input: 'long.mp4' }, { scenario: '240p30-h264' }), [], {}, undefined, id);
    tracked.push({ id, name: 'split-canceled-probing' });
    await until(h, id, () => h.world.probing.has(id), 'probing');
    const v = await update(id, msg.cancelUpdate);
    assert.equal(v.status, 'canceled');
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'canceled']);
    assert.equal(v.attempts.length, 0, 'no attempt began');
    assert.equal(segmentRequests(id).length, 0);
  });

  it('a pause while the input is probed pauses the queued job; resume probes again and splits', async () => {
    const id = randomUUID();
    h.world.probeHeld.add(id);
    await startJob(h, request({ duration: 6, parallel: 3, input: 'long.mp4' }, { scenario: '240p30-h264' }), [], {}, undefined, id);
    tracked.push({ id, name: 'split-paused-probing' });
    await until(h, id, () => h.world.probing.has(id), 'probing');
    const paused = await update(id, msg.pauseUpdate);
    assert.equal(paused.status, 'paused');
    h.world.probeHeld.delete(id);
    const resumed = await update(id, msg.resumeUpdate);
    assert.equal(resumed.status, 'queued');
    const v = await until(h, id, done, 'finished');
    assert.equal(v.status, 'completed', v.error ?? '');
    assert.deepEqual(v.state_transitions.map((t) => t.to), ['queued', 'paused', 'queued', 'assigned', 'running', 'completed']);
    assert.equal(segmentRequests(id).length, 3);
  });

  it('segments no GPU worker takes fall back to the CPU, split again there (the GPU ladder, per attempt)', async () => {
    const id = await startJob(h, request({ duration: 4, parallel: 2, hardware: 'if-possible' }, { scenario: '240p30-h264' }), []);
    const v = await until(h, id, done, 'finished');
    assert.equal(v.status, 'completed', v.error ?? '');
    assert.deepEqual(v.attempts.map((a) => [a.task_queue, a.outcome]), [['encode.nvenc', 'unclaimed'], ['encode.cpu', 'completed']]);
    assert.deepEqual(segmentRequests(id).map((r) => [r.spec.encoder, r.segment!.index]).sort(), [['libx264', 0], ['libx264', 1]]);
    assert.ok(h.world.segmentsRemoved.includes(id), 'the split attempt cleans up');
  });

  it('a split attempt past its deadline times out, its segments stopped', async () => {
    const id = await startJob(h, request({ duration: 4, parallel: 2, max_retries: 0 }, { scenario: '240p30-h264' }), [], { attemptDeadlineMs: 1_500 });
    h.world.segmentScript.set(id, new Map([0, 1].map((i) => [i, [{ kind: 'hang' as const }]])));
    const v = await until(h, id, done, 'finished');
    assert.equal(v.status, 'timed_out');
    assert.match(v.error!, /attempt 1 exceeded its deadline of 2 s/);
    assert.deepEqual(v.segments!.map((s) => s.status), ['failed', 'failed']);
    assert.ok(h.world.segmentsRemoved.includes(id));
  });

  it('parallel=auto on a clip too short to gain runs whole, and its routing says why', async () => {
    const id = await startJob(h, request({ duration: 2, parallel: 'auto' }, { scenario: '240p30-h264' }), [{ kind: 'complete' }]);
    tracked.push({ id, name: 'split-auto-whole' });
    const v = await until(h, id, done, 'finished');
    assert.equal(v.status, 'completed');
    assert.equal(v.segments, undefined);
    assert.equal(segmentRequests(id).length, 0);
    assert.match(v.attempts[0]!.routing, /not split: too short to gain: 1 segment\(s\) of 10 s/);
  });
});
