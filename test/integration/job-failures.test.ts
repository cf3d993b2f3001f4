/**
 * Failures that no retry can mend fail at once, and say why and where (issue 11's defects, on the
 * dev server): a truncated input, an output folder that cannot be created, a full disk. And the
 * other way round: a Temporal outage longer than the heartbeat timeout is not "worker lost" —
 * the workflow adopts the encode that went on, or the result that finished, on the same worker.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobParameters, JobView } from '../../domain/job';
import type { CreateJobBody } from '../../domain/schemas';
import type { JobService } from '../../lib/job-service';
import { jobService, mediaFile, restartTemporal, startWorker, type WorkerAgent } from '../helpers/cluster';
import { jobFinished, jobWhere, statusIs } from '../helpers/jobs';

const body = (parameters: JobParameters, scenario = '480p30-h264'): CreateJobBody => ({ scenario, confidence: 'auto', engine: 'auto', queue: 'default', priority: 'medium', parameters });

function assertFailedAtOnce(v: JobView, cause: RegExp, node: string): void {
  assert.equal(v.status, 'failed', JSON.stringify(v.attempts));
  assert.equal(v.attempts.length, 1, `no retry: ${v.attempts.map((a) => a.error).join(' | ')}`);
  assert.equal(v.retry_count, 0);
  assert.match(v.error ?? '', cause);
  assert.ok(v.error!.includes(node), `the error names the node: ${v.error}`);
  assert.equal(v.attempts[0]!.node_name, node, 'the attempt names its node');
}

describe('job failures: causes named, nothing retried that cannot succeed; Temporal outages adopted', function () {
  this.timeout(180_000);
  let jobs: JobService;
  let worker: WorkerAgent | undefined;

  describe('with the shared output folder', () => {
    before(async () => {
      jobs = await jobService();
      worker = await startWorker({ name: 'fail-plain' });
    });
    after(async () => {
      await worker?.stop();
      worker = undefined;
    });

    it('a truncated input fails at once: "truncated", the node, a log that shows the encoder ran', async () => {
      const whole = await mediaFile('whole.mkv', '');
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine', '-t', '4', '-c:v', 'libx264', '-c:a', 'aac', whole]);
      const bytes = readFileSync(whole);
      const cut = await mediaFile('cut-in-half.mkv', bytes.subarray(0, Math.floor(bytes.length / 2)));
      const job = await jobs.create(body({ input: cut, duration: 4 }));
      const v = await jobFinished(jobs, job.id, 60_000);
      assertFailedAtOnce(v, /truncated or corrupt/, 'fail-plain');
      assert.match(v.error!, /ended at [\d.]+ s of the 4\.0\d s/);
      const logs = await jobs.logs(job.id);
      assert.match(logs.logs, /Command: ffmpeg/);
      assert.match(logs.logs, /=== Result ===\n.*truncated/);
    });

    it('a failure before the encoder ran still has its node and a log that says what failed', async () => {
      const job = await jobs.create(body({ input: await mediaFile('not-media.bin', 'just text\n') }));
      const v = await jobFinished(jobs, job.id, 30_000);
      assertFailedAtOnce(v, /input is not readable media/, 'fail-plain');
      const logs = (await jobs.logs(job.id)).logs;
      assert.match(logs, /### attempt 1 on fail-plain/);
      assert.match(logs, /Node: fail-plain/);
      assert.match(logs, /=== Result ===\ninput is not readable media/);
    });
  });

  describe('an output folder that cannot be created (EPERM)', () => {
    let root: string;
    before(async function () {
      root = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-immutable-'));
      try {
        execFileSync('chattr', ['+i', root]); // even root gets EPERM creating anything in it
      } catch (err) {
        throw new Error(`chattr +i is needed for this test (root, ext4/tmpfs): ${(err as Error).message}`);
      }
      worker = await startWorker({ name: 'fail-eperm', env: { FFRTMP_OUTPUT_ROOT: root } });
    });
    after(async () => {
      await worker?.stop();
      worker = undefined;
      execFileSync('chattr', ['-i', root]);
      rmSync(root, { recursive: true, force: true });
    });

    it('fails at once: "permission denied", the folder, the node', async () => {
      const job = await jobs.create(body({ duration: 1 }));
      const v = await jobFinished(jobs, job.id, 30_000);
      assertFailedAtOnce(v, /creating the output folder .* permission denied/, 'fail-eperm');
      assert.match(v.error!, /EPERM/);
    });
  });

  describe('a full disk', () => {
    let mount: string;
    before(async () => {
      mount = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-full-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', mount]);
      worker = await startWorker({ name: 'fail-full', env: { FFRTMP_OUTPUT_ROOT: mount } });
    });
    after(async () => {
      await worker?.stop();
      worker = undefined;
      execFileSync('umount', [mount]);
      rmSync(mount, { recursive: true, force: true });
    });

    it('fails at once: "no space left on device" (from ffmpeg\'s own line, not "Conversion failed!"), the node', async () => {
      const job = await jobs.create(body({ duration: 4 }, '720p30-h264'));
      const v = await jobFinished(jobs, job.id, 60_000);
      assertFailedAtOnce(v, /no space left on device/, 'fail-full');
      assert.doesNotMatch(v.error!, /Conversion failed!/);
      assert.ok(statSync(mount).isDirectory());
    });
  });

  describe('a Temporal outage longer than the heartbeat timeout', () => {
    let slow: JobService;
    before(async () => {
      // a heartbeat timeout of 6 s: the encoders' lease (2 x) outlasts the 8 s outage
      slow = await jobService({ heartbeatTimeoutMs: 6_000 });
      worker = await startWorker({ name: 'outage-worker', cpuSlots: 2 });
    });
    after(async () => {
      await worker?.stop();
      worker = undefined;
    });

    it('the running encode is adopted and the finished one kept: no "worker lost", nothing encoded twice, JSON logs only', async () => {
      const long = await slow.create(body({ duration: 30, preset: 'medium' }, '720p30-h264'));
      const short = await slow.create(body({ duration: 3 }, '240p30-h264'));
      await jobWhere(slow, long.id, statusIs('running'), 'running');
      await jobWhere(slow, short.id, statusIs('running'), 'running');
      const logStart = worker!.logs.length;
      // down for 8 s: the short job finishes meanwhile, the long one goes on
      await restartTemporal(() => new Promise((r) => setTimeout(r, 8_000)));
      for (const id of [long.id, short.id]) {
        const v = await jobFinished(slow, id, 120_000);
        if (v.attempts.length !== 1) console.log(worker!.logs.slice(logStart).join('\n'));
        assert.equal(v.status, 'completed', `${id}: ${v.error} ${JSON.stringify(v.attempts.map((a) => a.error))}`);
        assert.equal(v.attempts.length, 1, `encoded once: ${v.attempts.map((a) => a.error).join(' | ')}`);
        assert.ok(!v.attempts.some((a) => /worker lost/.test(a.error ?? '')));
      }
      const lines = worker!.logs.slice(logStart);
      const notJson = lines.filter((l) => {
        try {
          JSON.parse(l);
          return false;
        } catch {
          return true;
        }
      });
      assert.deepEqual(notJson, [], 'every worker log line is JSON (the SDK core\'s too)');
      assert.ok(lines.some((l) => l.includes('adopted by its workflow')), 'the long encode was adopted');
    });
  });
});
