import assert from 'node:assert/strict';
import type { JobView } from '../../domain/job';
import type { CreateJobBody } from '../../domain/schemas';
import type { JobService } from '../../lib/job-service';
import { jobService, startWorker, type WorkerAgent } from '../helpers/cluster';
import { jobFinished } from '../helpers/jobs';
import { waitFor } from '../helpers/wait';

const body = (over: Partial<CreateJobBody> & { parameters?: CreateJobBody['parameters'] }): CreateJobBody => ({
  scenario: '240p30-h264',
  confidence: 'auto',
  engine: 'auto',
  queue: 'default',
  priority: 'medium',
  ...over,
  parameters: { duration: 1, ...over.parameters },
});


describe('worker agents: routing by capability, GPU fallback, priority', function () {
  this.timeout(240_000);
  let jobs: JobService;
  let cpu: WorkerAgent;
  let gpu: WorkerAgent | undefined;

  before(async () => {
    jobs = await jobService({ gpuWaitMs: 2_000 });
    // one CPU worker (one slot), one that polls only nvenc, declared by configuration (simulated)
    cpu = await startWorker({ name: 'cpu-node', env: { FFRTMP_CAPABILITIES: 'cpu' } });
    gpu = await startWorker({ name: 'gpu-node', env: { FFRTMP_SIMULATE_CAPABILITIES: 'nvenc', FFRTMP_CAPABILITIES: 'nvenc' } });
  });
  after(async () => {
    await gpu?.stop();
    await cpu?.stop();
  });

  it('auto takes the best live capability: a live nvenc worker gets the H.264 job, marked simulated', async () => {
    const job = await jobs.create(body({}));
    const done = await jobFinished(jobs, job.id);
    assert.equal(done.status, 'completed', done.error ?? '');
    assert.equal(done.node_id, gpu!.nodeId);
    assert.deepEqual([done.task_queue, done.encoder], ['encode.nvenc', 'h264_nvenc']);
    assert.match(done.routing ?? '', /hardware=auto: nvenc is live/);
    const logs = (await jobs.logs(job.id)).logs;
    assert.match(logs, /SIMULATED: this node declares nvenc by configuration; libx264 stands in for h264_nvenc/);

    const cpuJob = await jobFinished(jobs, (await jobs.create(body({ parameters: { hardware: 'cpu' } }))).id);
    assert.deepEqual([cpuJob.node_id, cpuJob.encoder], [cpu.nodeId, 'libx264']);
  });

  it('no GPU worker takes it in time: falls back to CPU with the encoder and preset rewritten, and says so', async () => {
    await gpu!.stop();
    gpu = undefined;
    const job = await jobs.create(body({ parameters: { codec: 'h264_nvenc', preset: 'p3', bitrate: '800k' } }));
    const done = await jobFinished(jobs, job.id);
    assert.equal(done.status, 'completed', done.error ?? '');
    assert.equal(done.attempts.length, 2);
    assert.deepEqual([done.attempts[0]!.task_queue, done.attempts[0]!.encoder, done.attempts[0]!.outcome], ['encode.nvenc', 'h264_nvenc', 'unclaimed']);
    assert.deepEqual([done.attempts[1]!.task_queue, done.attempts[1]!.encoder, done.attempts[1]!.node_id], ['encode.cpu', 'libx264', cpu.nodeId]);
    assert.match(done.routing ?? '', /no nvenc worker took it within 2 s: fell back to the CPU/);
    assert.equal(done.retry_count, 0, 'a fallback is not a retry');
    const logs = (await jobs.logs(job.id)).logs;
    assert.match(logs, /-c:v libx264 -preset veryfast -b:v 800k/);
    assert.doesNotMatch(logs.split('### attempt 2')[1]!, /nvenc|-preset p3|cuda/, 'no GPU option reaches the CPU encoder');
  });

  it('a job that requires a GPU waits, queued, until a GPU worker comes', async () => {
    const job = await jobs.create(body({ parameters: { hardware: 'required' } }));
    const waiting = await waitFor<JobView>('queued and waiting', async () => {
      const v = await jobs.get(job.id);
      return v.status === 'queued' && v.routing ? v : undefined;
    });
    assert.match(waiting.routing!, /required/);
    // stays queued while no GPU worker polls (an observation window, not synchronisation)
    const until = Date.now() + 2_500;
    while (Date.now() < until) {
      assert.equal((await jobs.get(job.id)).status, 'queued');
      await new Promise((r) => setTimeout(r, 250));
    }
    gpu = await startWorker({ name: 'gpu-node-2', env: { FFRTMP_SIMULATE_CAPABILITIES: 'nvenc', FFRTMP_CAPABILITIES: 'nvenc' } });
    const done = await jobFinished(jobs, job.id, 90_000);
    assert.equal(done.status, 'completed', done.error ?? '');
    assert.equal(done.node_id, gpu.nodeId);
    assert.equal(done.encoder, 'h264_nvenc');
  });

  it('engine=gstreamer with no live GStreamer worker fails, after the wait, with a clear error', async () => {
    const job = await jobs.create(body({ engine: 'gstreamer' }));
    const done = await jobFinished(jobs, job.id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error, 'no live worker offers gstreamer (waited 2 s): start a worker with it, or submit with engine=auto');
    assert.equal(done.attempts[0]!.outcome, 'failed');
  });

  it('with one free slot, jobs start by queue (live > default > batch), then priority, then first come', async () => {
    const blocker = await jobs.create(body({ scenario: '720p30-h264', parameters: { duration: 60, preset: 'medium', hardware: 'cpu' } }));
    await waitFor('blocker running', async () => (await jobs.get(blocker.id)).status === 'running');
    const order: [string, string][] = [
      ['batch', 'high'], ['default', 'low'], ['live', 'low'], ['default', 'high'], ['batch', 'low'],
      ['live', 'high'], ['default', 'medium'], ['live', 'medium'], ['batch', 'medium'], ['default', 'high'],
    ];
    const waiting: JobView[] = [];
    for (const [queue, priority] of order) {
      waiting.push(await jobs.create(body({ queue: queue as 'live', priority: priority as 'high', engine: 'ffmpeg', parameters: { hardware: 'cpu', preset: 'ultrafast' } })));
    }
    // every one is queued on encode.cpu behind the blocker before the slot frees
    await waitFor('all dispatched to the queue', async () => {
      const views = await Promise.all(waiting.map((j) => jobs.get(j.id)));
      return views.every((v) => v.status === 'queued' && v.attempts.length === 1);
    });
    await jobs.control(blocker.id, 'cancel');
    const done = await Promise.all(waiting.map((j) => jobFinished(jobs, j.id, 120_000)));
    const started = done
      .map((v, i) => ({ i, at: Date.parse(v.attempts[0]!.started_at!), queue: v.queue, priority: v.priority, seq: v.sequence_number }))
      .sort((a, b) => a.at - b.at);
    const rank = { live: 0, default: 1, batch: 2, high: 0, medium: 1, low: 2 } as Record<string, number>;
    const expected = [...started].sort((a, b) => rank[a.queue]! - rank[b.queue]! || rank[a.priority]! - rank[b.priority]! || a.seq - b.seq);
    assert.deepEqual(
      started.map((s) => `${s.queue}/${s.priority}#${s.seq}`),
      expected.map((s) => `${s.queue}/${s.priority}#${s.seq}`),
    );
  });
});
