/**
 * Segment-parallel jobs end to end: a real Temporal dev server, two real worker agents, FFmpeg.
 * A split job keeps one state machine, shows its segments, and its joined output is exactly the
 * single pass's (frames, audio, quality); pause and resume reach every segment encoder, cancel
 * leaves no segment file, and a worker killed mid-segment costs that segment one more encode,
 * never the job.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { JobParameters, JobView } from '../../domain/job';
import type { CreateJobBody } from '../../domain/schemas';
import type { JobService } from '../../lib/job-service';
import { decodedAudioSamples } from '../../activities/split-measure';
import { probeMedia } from '../../activities/probe';
import { quality } from '../../activities/verify';
import { cluster, jobService, startWorker, type WorkerAgent } from '../helpers/cluster';
import { jobFinished, jobWhere } from '../helpers/jobs';
import { encodersOfJob, processState } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const body = (parameters: JobParameters, scenario = '240p30-h264'): CreateJobBody => ({ scenario, confidence: 'auto', engine: 'auto', queue: 'default', priority: 'medium', parameters });

describe('segment-parallel jobs on real workers', function () {
  this.timeout(180_000);
  let jobs: JobService;
  let workers: WorkerAgent[] = [];
  let root: string;
  const outputs = () => path.join(root, 'data', 'outputs');

  before(async () => {
    jobs = await jobService();
    root = (await cluster()).root;
    workers = await Promise.all([startWorker({ name: 'seg-a' }), startWorker({ name: 'seg-b' })]);
    // a 6 s clip with a tone and keyframes every second, in the media root
    execFileSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=426x240:rate=30:duration=6', '-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=48000:duration=6', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-c:a', 'aac', '-f', 'mp4', '-y', path.join(root, 'media', 'six.mp4')]);
  });
  after(async () => Promise.all(workers.map((w) => w.stop())));

  const measure = async (view: JobView) => {
    const file = view.output!.path!;
    const probe = await probeMedia('ffprobe', file, { countFrames: true });
    const samples = await decodedAudioSamples('ffmpeg', file);
    const spec = { width: 426, height: 240, fps: 30, durationSec: 6, codec: 'h264', encoder: 'libx264', engine: 'ffmpeg', bitrateKbps: 400, preset: 'medium', audio: true, input: { kind: 'file', path: path.join(root, 'media', 'six.mp4') }, output: { mode: 'file' } } as const;
    const q = await quality({ confidence: 'high', spec, expectedSec: 6, outputPath: file, input: path.join(root, 'media', 'six.mp4'), framesReported: 0, ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe', gstLaunchPath: 'gst-launch-1.0' });
    return { frames: probe.video?.frames, samples, psnr: q.psnr, duration: probe.duration };
  };

  it('a split job: one state machine, its segments in the view, the output exactly the single pass (frames, audio ± one AAC frame, PSNR within 0.5 dB)', async () => {
    const [split, whole] = await Promise.all([jobs.create(body({ input: 'six.mp4', duration: 6, parallel: 3 })), jobs.create(body({ input: 'six.mp4', duration: 6 }))]);
    assert.equal(split.segments, undefined, 'no segments before the plan');
    const running = await jobWhere(jobs, split.id, (v) => (v.segments?.length ?? 0) > 0, 'segments planned');
    assert.deepEqual(running.segments!.map((s) => [s.index, s.start_seconds, s.duration_seconds]), [[0, 0, 2], [1, 2, 2], [2, 4, 2]]);
    const done = await jobFinished(jobs, split.id, 120_000);
    const single = await jobFinished(jobs, whole.id, 120_000);
    assert.equal(done.status, 'completed', done.error ?? '');
    assert.equal(single.status, 'completed', single.error ?? '');
    assert.deepEqual(done.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'completed']);
    assert.equal(done.attempt, 1);
    assert.deepEqual(done.segments!.map((s) => [s.status, s.attempts, s.progress]), [['completed', 1, 100], ['completed', 1, 100], ['completed', 1, 100]]);
    assert.ok(done.segments!.every((s) => s.node_id !== null));
    assert.equal(done.progress, 100);
    assert.ok(done.verification?.passed, JSON.stringify(done.verification));
    assert.ok(done.cpu_seconds !== null && done.cpu_seconds > 0);
    const [a, b] = await Promise.all([measure(done), measure(single)]);
    assert.equal(a.frames, 180);
    assert.equal(a.frames, b.frames);
    assert.ok(a.samples !== null && b.samples !== null && Math.abs(a.samples - b.samples) <= 1024, `${a.samples} vs ${b.samples}`);
    assert.ok(a.psnr !== null && b.psnr !== null && a.psnr >= b.psnr - 0.5, `PSNR split ${a.psnr} vs single ${b.psnr}`);
    assert.equal(existsSync(path.join(outputs(), split.id, 'segments')), false, 'the segment files are gone');
    const logs = await jobs.logs(split.id);
    for (const i of [0, 1, 2]) assert.match(logs.logs, new RegExp(`--- segment ${i} \\(frames`));
  });

  it('pause suspends every running segment encoder at once, resume continues them; cancel leaves no segment file', async () => {
    // long enough to be caught running: 2 segments of a 20 s 720p encode at preset medium
    const job = await jobs.create(body({ duration: 20, preset: 'medium', parallel: 2 }, '720p30-h264'));
    await jobWhere(jobs, job.id, (v) => (v.segments ?? []).filter((s) => s.status === 'running').length === 2 && v.status === 'running', 'both segments running');
    const pids = await waitFor('two segment encoders', () => {
      const e = encodersOfJob(job.id);
      return e.length === 2 ? e.map((p) => p.pid) : undefined;
    });
    const paused = await jobs.control(job.id, 'pause');
    assert.equal(paused.status, 'paused');
    await waitFor('both stopped', () => pids.every((p) => processState(p) === 'T'), { timeoutMs: 2_000, intervalMs: 10 });
    const resumed = await jobs.control(job.id, 'resume');
    assert.equal(resumed.status, 'running');
    await waitFor('both continue', () => pids.every((p) => processState(p) !== 'T'), { timeoutMs: 2_000, intervalMs: 10 });

    const t0 = Date.now();
    const canceled = await jobs.control(job.id, 'cancel');
    assert.equal(canceled.status, 'canceled');
    await waitFor('encoders gone', () => pids.every((p) => processState(p) === null), { timeoutMs: 2_000, intervalMs: 10 });
    assert.ok(Date.now() - t0 <= 2_000);
    const dir = path.join(outputs(), job.id);
    assert.equal(existsSync(path.join(dir, 'segments')), false, `left: ${existsSync(dir) ? readdirSync(dir).join(', ') : ''}`);
    assert.deepEqual(canceled.segments!.map((s) => s.status), ['canceled', 'canceled']);
  });

  it('a worker killed mid-segment: that segment encodes again on the other worker, the job does not', async () => {
    const job = await jobs.create(body({ duration: 12, preset: 'medium', parallel: 2 }, '720p30-h264'));
    const view = await jobWhere(jobs, job.id, (v) => (v.segments ?? []).filter((s) => s.status === 'running').length === 2, 'both segments running');
    const victim = workers[0]!;
    const lost = view.segments!.find((s) => s.node_id === victim.nodeId)!;
    assert.ok(lost, JSON.stringify(view.segments));
    victim.kill('SIGKILL');
    const done = await jobFinished(jobs, job.id, 150_000);
    assert.equal(done.status, 'completed', done.error ?? '');
    assert.equal(done.attempt, 1, 'the job ran once');
    const attempts = done.segments!.map((s) => s.attempts);
    assert.equal(attempts[lost.index], 2);
    assert.equal(attempts[1 - lost.index], 1);
    assert.notEqual(done.segments![lost.index]!.node_id, victim.nodeId);
    assert.ok(done.verification?.passed);
  });
});
