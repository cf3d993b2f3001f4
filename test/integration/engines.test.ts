import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobParameters } from '../../domain/job';
import type { CreateJobBody } from '../../domain/schemas';
import type { JobService } from '../../lib/job-service';
import { jobService, mediaFile, startWorker, type WorkerAgent } from '../helpers/cluster';
import { RtmpServer } from '../helpers/rtmp-server';
import { jobFinished } from '../helpers/jobs';
import { waitFor } from '../helpers/wait';

const body = (scenario: string, engine: 'auto' | 'ffmpeg' | 'gstreamer', parameters: JobParameters, extra: Partial<CreateJobBody> = {}): CreateJobBody => ({
  scenario,
  confidence: 'auto',
  engine,
  queue: 'default',
  priority: 'medium',
  parameters,
  ...extra,
});


function probe(file: string): { codec: string; width: number; height: number; fps: number; duration: number; audio: string | null } {
  const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height,avg_frame_rate:format=duration', '-of', 'json', file]).toString()) as {
    streams: { codec_type: string; codec_name: string; width: number; height: number; avg_frame_rate: string }[];
    format: { duration: string };
  };
  const v = out.streams.find((s) => s.codec_type === 'video')!;
  const [n, d] = v.avg_frame_rate.split('/').map(Number) as [number, number];
  return { codec: v.codec_name, width: v.width, height: v.height, fps: n / d, duration: Number(out.format.duration), audio: out.streams.find((s) => s.codec_type === 'audio')?.codec_name ?? null };
}

/** Whether this machine's ffmpeg / gstreamer has an encoder (Debian's builds lack some). */
function hasEncoder(engine: 'ffmpeg' | 'gstreamer', name: string): boolean {
  if (engine === 'gstreamer') return spawnSync('gst-inspect-1.0', [name]).status === 0;
  return spawnSync('ffmpeg', ['-hide_banner', '-h', `encoder=${name}`]).stdout.toString().includes(`Encoder ${name}`);
}

const FASTEST: Record<string, Record<string, string>> = {
  ffmpeg: { h264: 'ultrafast', h265: 'ultrafast', vp9: 'realtime', av1: '12' },
  gstreamer: { h264: 'ultrafast', h265: 'ultrafast', vp9: 'realtime', av1: '8' },
};
const ENCODER: Record<string, Record<string, string>> = {
  ffmpeg: { h264: 'libx264', h265: 'libx265', vp9: 'libvpx-vp9', av1: 'libsvtav1' },
  gstreamer: { h264: 'x264enc', h265: 'x265enc', vp9: 'vp9enc', av1: 'av1enc' },
};
const CODEC_NAME: Record<string, string> = { h264: 'h264', h265: 'hevc', vp9: 'vp9', av1: 'av1' };

describe('engines, scenarios, inputs, RTMP and confidence', function () {
  this.timeout(300_000);
  let jobs: JobService;
  let worker: WorkerAgent;

  before(async () => {
    jobs = await jobService();
    worker = await startWorker({ name: 'engines-worker' });
  });
  after(async () => worker?.stop());

  describe('every scenario family encodes with both engines', () => {
    const families: [string, number, number, number, string][] = [
      ['4K60-h264', 3840, 2160, 60, 'h264'],
      ['4K30-h265', 3840, 2160, 30, 'h265'],
      ['1440p60-h264', 2560, 1440, 60, 'h264'],
      ['1080p60-h264', 1920, 1080, 60, 'h264'],
      ['1080p-h265', 1920, 1080, 30, 'h265'],
      ['720p30-h264', 1280, 720, 30, 'h264'],
      ['480p30-av1', 854, 480, 30, 'av1'],
      ['1080p60-vp9', 1920, 1080, 60, 'vp9'],
    ];
    for (const engine of ['ffmpeg', 'gstreamer'] as const) {
      for (const [scenario, w, h, fps, codec] of families) {
        it(`${scenario} with ${engine}`, async function () {
          const encoder = ENCODER[engine]![codec]!;
          if (!hasEncoder(engine, encoder)) {
            console.log(`      skipped: this machine's ${engine} has no ${encoder}`);
            this.skip();
          }
          const job = await jobs.create(body(scenario, engine, { duration: 0.5, preset: FASTEST[engine]![codec]!, bitrate: '2M' }));
          const done = await jobFinished(jobs, job.id);
          assert.equal(done.status, 'completed', `${done.error}`);
          assert.deepEqual([done.engine_used, done.encoder], [engine, encoder]);
          const p = probe(done.output!.path!);
          assert.deepEqual([p.codec, p.width, p.height], [CODEC_NAME[codec], w, h]);
          assert.ok(Math.abs(p.fps - fps) < 0.5, `fps ${p.fps}`);
          assert.ok(p.audio, 'with audio');
          assert.equal(done.verification?.level, 'medium');
          assert.ok(done.verification?.passed);
        });
      }
    }
  });

  it('engine=auto picks GStreamer for the live queue and FFmpeg otherwise, and says why', async () => {
    const live = await jobFinished(jobs, (await jobs.create(body('240p30-h264', 'auto', { duration: 1 }, { queue: 'live' }))).id);
    assert.deepEqual([live.status, live.engine_used, live.encoder], ['completed', 'gstreamer', 'x264enc']);
    assert.match(live.routing!, /engine=auto: GStreamer for the live queue/);
    const batch = await jobFinished(jobs, (await jobs.create(body('240p30-h264', 'auto', { duration: 1 }, { queue: 'batch' }))).id);
    assert.deepEqual([batch.engine_used, batch.encoder], ['ffmpeg', 'libx264']);
  });

  describe('inputs', () => {
    let input: string;
    before(async () => {
      input = await mediaFile('clips/source.mp4', '');
      execFileSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=3', '-f', 'lavfi', '-i', 'sine=duration=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', '-y', input]);
    });

    for (const engine of ['ffmpeg', 'gstreamer'] as const) {
      it(`a file under the media root, with ${engine}: scaled to the scenario, no longer than the input`, async () => {
        const done = await jobFinished(jobs, (await jobs.create(body('240p30-h264', engine, { input: 'clips/source.mp4', duration: 10 }))).id);
        assert.equal(done.status, 'completed', `${done.error}`);
        const p = probe(done.output!.path!);
        assert.deepEqual([p.width, p.height, Math.round(p.fps)], [426, 240, 30]);
        assert.ok(Math.abs(p.duration - 3) < 0.3, `duration ${p.duration}`);
        assert.equal(p.audio, 'aac');
      });

      it(`an http input served on loopback, with ${engine}`, async () => {
        // a plain static file server, byte ranges included (MP4 readers seek)
        const server = http.createServer((req, res) => {
          const size = statSync(input).size;
          const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
          if (!m) {
            res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': size, 'Accept-Ranges': 'bytes' });
            createReadStream(input).pipe(res);
            return;
          }
          const start = m[1] ? Number(m[1]) : size - Number(m[2]);
          const end = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
          res.writeHead(206, { 'Content-Type': 'video/mp4', 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Accept-Ranges': 'bytes' });
          createReadStream(input, { start, end }).pipe(res);
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
        try {
          const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/source.mp4`;
          const done = await jobFinished(jobs, (await jobs.create(body('240p30-h264', engine, { input: url, duration: 2 }))).id);
          assert.equal(done.status, 'completed', `${done.error}`);
          assert.ok(Math.abs(probe(done.output!.path!).duration - 2) < 0.3);
        } finally {
          server.close();
        }
      });
    }
  });

  describe('RTMP output into a real RTMP server (nginx-rtmp on loopback)', () => {
    const rtmp = new RtmpServer();
    before(async function () {
      if (!RtmpServer.available()) {
        console.log('      skipped: nginx with libnginx-mod-rtmp is not installed');
        this.skip();
      }
      await rtmp.start();
    });
    after(async () => rtmp.stop());

    for (const engine of ['ffmpeg', 'gstreamer'] as const) {
      it(`streams in real time with ${engine}; the received stream has the resolution, fps and codec asked for`, async () => {
        const key = `stream-${engine}`;
        const started = Date.now();
        const done = await jobFinished(jobs, (await jobs.create(body('360p30-h264', engine, { duration: 3, output_mode: 'rtmp', rtmp_url: rtmp.url(key), preset: 'veryfast' }))).id);
        assert.equal(done.status, 'completed', `${done.error}`);
        assert.ok(Date.now() - started >= 2_900, 'a 3 s stream takes at least 3 s');
        assert.equal(done.output?.url, rtmp.url(key));
        assert.equal(done.verification?.level, 'low', 'auto confidence for RTMP is low');
        const p = await waitFor('the recording', () => {
          try {
            return probe(rtmp.recording(key));
          } catch {
            return undefined;
          }
        });
        assert.deepEqual([p.codec, p.width, p.height, Math.round(p.fps)], ['h264', 640, 360, 30]);
        assert.ok(Math.abs(p.duration - 3) < 0.5, `received ${p.duration} s`);
      });
    }

    it('a dropped connection is a retryable failure: the job retries and completes when the server is back', async () => {
      const job = await jobs.create(body('240p30-h264', 'ffmpeg', { duration: 8, output_mode: 'rtmp', rtmp_url: rtmp.url('dropped') }));
      await waitFor('streaming', async () => (await jobs.get(job.id)).status === 'running');
      await rtmp.stop();
      await waitFor('the attempt failed and is retried', async () => {
        const v = await jobs.get(job.id);
        return v.retry_count >= 1 ? v : undefined;
      });
      await rtmp.start(rtmp.port);
      const done = await jobFinished(jobs, job.id);
      assert.equal(done.status, 'completed', `${done.error}`);
      assert.equal(done.attempts[0]!.outcome, 'failed');
      assert.match(done.attempts[0]!.error!, /ffmpeg (exited with code|was killed)/);
    });
  });

  describe('confidence', () => {
    it('low: only that the output exists and is not empty', async () => {
      const done = await jobFinished(jobs, (await jobs.create(body('240p30-h264', 'ffmpeg', { duration: 1 }, { confidence: 'low' }))).id);
      assert.equal(done.verification?.level, 'low');
      assert.deepEqual(done.verification?.checks.map((c) => c.name), ['output size']);
    });

    it('medium: duration, resolution, codec and frame count confirmed by ffprobe', async () => {
      const done = await jobFinished(jobs, (await jobs.create(body('240p30-h264', 'ffmpeg', { duration: 2 }, { confidence: 'medium' }))).id);
      assert.deepEqual(done.verification?.checks.map((c) => [c.name, c.ok]), [['output size', true], ['duration', true], ['resolution', true], ['codec', true], ['frame count', true]]);
      assert.equal(done.verification?.checks.find((c) => c.name === 'frame count')?.actual, '60');
    });

    for (const engine of ['ffmpeg', 'gstreamer'] as const) {
      it(`high, with ${engine}: a full decode (which also counts the frames), and PSNR and SSIM against the regenerated source`, async () => {
        const done = await jobFinished(jobs, (await jobs.create(body('240p30-h264', engine, { duration: 2, bitrate: '800k' }, { confidence: 'high' }))).id);
        assert.equal(done.status, 'completed', `${done.error}`);
        assert.equal(done.verification?.level, 'high');
        assert.ok(done.verification?.checks.some((c) => c.name === 'full decode' && c.ok));
        // the frames counted by that decode (ffprobe counts none at this level)
        assert.equal(done.verification?.checks.find((c) => c.name === 'frame count')?.actual, '60');
        assert.ok(done.psnr_db! >= 25 && done.psnr_db! < 100, `psnr ${done.psnr_db}`);
        assert.ok(done.ssim! >= 0.8 && done.ssim! <= 1, `ssim ${done.ssim}`);
      });
    }

    it('a failed verification fails the attempt with the reason (a video track shorter than its file)', async () => {
      // 1 s of video in a 3 s file: the container promises more frames than there are
      const broken = await mediaFile('clips/short-video.mkv', '');
      execFileSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30:duration=1', '-f', 'lavfi', '-i', 'sine=duration=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-y', broken]);
      const done = await jobFinished(jobs, (await jobs.create(body('240p30-h264', 'ffmpeg', { input: 'clips/short-video.mkv', duration: 3, max_retries: 0 }, { confidence: 'medium' }))).id);
      assert.equal(done.status, 'failed');
      assert.match(done.error!, /verification \(medium\) failed: .*frame count 3\d \(expected 90 ±2\)/);
      const logs = (await jobs.logs(done.id)).logs;
      assert.match(logs, /FAILED frame count: expected 90 ±2, got 3\d/);
    });
  });
});
