import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { JobView } from '../../domain/job';
import type { JobService } from '../../lib/job-service';
import { jobService, startWorker, type WorkerAgent } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

function probe(file: string): { codec: string; width: number; height: number; duration: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height:format=duration', '-of', 'json', file]);
  const j = JSON.parse(out.toString()) as { streams: { codec_name: string; width: number; height: number }[]; format: { duration: string } };
  return { codec: j.streams[0]!.codec_name, width: j.streams[0]!.width, height: j.streams[0]!.height, duration: Number(j.format.duration) };
}

describe('job workflow: a job runs a real encode', function () {
  this.timeout(120_000);
  let jobs: JobService;
  let worker: WorkerAgent;

  before(async () => {
    jobs = await jobService();
    worker = await startWorker();
  });
  after(async () => worker?.stop());

  it('completes; ffprobe confirms duration, resolution and codec; progress rises monotonically to 100', async () => {
    const created = await jobs.create({
      scenario: '720p30-h264',
      confidence: 'auto',
      engine: 'auto',
      queue: 'default',
      priority: 'medium',
      parameters: { duration: 6, preset: 'medium' },
    });
    assert.equal(created.status, 'queued');
    const seen: number[] = [];
    const final = await waitFor<JobView>('job to complete', async () => {
      const v = await jobs.get(created.id);
      seen.push(v.progress);
      if (v.status === 'failed' || v.status === 'timed_out') throw new Error(`job ${v.status}: ${v.error}`);
      return v.status === 'completed' ? v : undefined;
    }, { timeoutMs: 60_000, intervalMs: 50 });

    assert.equal(final.progress, 100);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, `progress went back: ${seen.join(',')}`);
    assert.ok(seen.some((p) => p > 0 && p < 100), `no intermediate progress seen: ${seen.join(',')}`);
    assert.deepEqual(final.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'completed']);
    assert.equal(final.node_id, worker.nodeId);
    assert.ok(final.output?.path && existsSync(final.output.path));
    const p = probe(final.output.path);
    assert.equal(p.codec, 'h264');
    assert.equal(p.width, 1280);
    assert.equal(p.height, 720);
    assert.ok(Math.abs(p.duration - 6) < 0.1, `duration ${p.duration}`);
    const logs = await jobs.logs(String(final.sequence_number));
    assert.match(logs.logs, /=== Command Execution ===\nCommand: ffmpeg /);
    assert.match(logs.logs, /=== STDERR ===/);
  });
});
