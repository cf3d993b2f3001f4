import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { JobParameters, JobView } from '../../domain/job';
import type { CreateJobBody } from '../../domain/schemas';
import { gstQuote } from '../../encoders/gstreamer-pipeline';
import type { JobService } from '../../lib/job-service';
import { jobService, mediaFile, startWorker, type WorkerAgent } from '../helpers/cluster';
import { jobFinished } from '../helpers/jobs';
import { startTestMaster, type TestMaster } from '../helpers/master';
import { RtmpServer } from '../helpers/rtmp-server';
import { waitFor } from '../helpers/wait';

/** The name from issue 11, and one with every character a shell or gst-launch would read. */
const NAME = 'ok dir/my clip ü 日本 & ! (1).mp4';
const MARKER = '/tmp/ffrtmp-pwned-unicode';
const HOSTILE = `odd/it's "all" & ! $HOME ; a|b \`id\` #1 (x) {y} [z] * ? ~ % @ + = , < > \\ $(touch ${MARKER}).mp4`;

const body = (engine: 'ffmpeg' | 'gstreamer', parameters: JobParameters): CreateJobBody => ({
  scenario: '240p30-h264',
  confidence: 'auto',
  engine,
  queue: 'default',
  priority: 'medium',
  parameters: { duration: 1, preset: 'ultrafast', ...parameters },
});

/** 1 s of testsrc2 + a tone, H.264/AAC, written by ffmpeg to exactly `file` (an absolute path). */
function makeClip(file: string): void {
  execFileSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=1', '-f', 'lavfi', '-i', 'sine=duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', '-f', 'mp4', '-y', file]);
}

function probe(file: string): { codec: string; width: number; height: number; duration: number; audio: string | null } {
  const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height:format=duration', '-of', 'json', file]).toString()) as {
    streams: { codec_type: string; codec_name: string; width: number; height: number }[];
    format: { duration: string };
  };
  const v = out.streams.find((s) => s.codec_type === 'video')!;
  return { codec: v.codec_name, width: v.width, height: v.height, duration: Number(out.format.duration), audio: out.streams.find((s) => s.codec_type === 'audio')?.codec_name ?? null };
}

/** A completed 240p H.264 + AAC output of about `seconds`. */
function assertValidOutput(done: JobView, engine: string, seconds = 1): void {
  assert.equal(done.status, 'completed', `${done.error}`);
  assert.equal(done.engine_used, engine);
  const p = probe(done.output!.path!);
  assert.deepEqual([p.codec, p.width, p.height, p.audio], ['h264', 426, 240, 'aac']);
  assert.ok(Math.abs(p.duration - seconds) < 0.3, `duration ${p.duration}`);
  assert.equal(done.verification?.passed, true);
}

describe('file names and URLs beyond ASCII: real files through real encoders (issue 11)', function () {
  this.timeout(300_000);
  let jobs: JobService;
  let worker: WorkerAgent;
  let master: TestMaster;
  let clip: string;

  before(async () => {
    rmSync(MARKER, { force: true });
    jobs = await jobService();
    master = await startTestMaster();
    worker = await startWorker({ name: 'unicode-worker' });
    clip = await mediaFile(NAME, '');
    makeClip(clip);
    makeClip(await mediaFile(HOSTILE, ''));
  });
  after(async () => {
    await worker?.stop();
    await master?.stop();
  });

  for (const engine of ['ffmpeg', 'gstreamer'] as const) {
    it(`"${NAME}" encodes with ${engine}; the output is valid`, async () => {
      const done = await jobFinished(jobs, (await jobs.create(body(engine, { input: NAME }))).id);
      assertValidOutput(done, engine);
      assert.equal(done.parameters.input, NAME);
    });
  }

  it('with gstreamer and a shorter duration, the cut beforehand (ffmpeg stream copy) reads that name too', async () => {
    const done = await jobFinished(jobs, (await jobs.create(body('gstreamer', { input: NAME, duration: 0.6 }))).id);
    assertValidOutput(done, 'gstreamer', 0.6);
  });

  it('POST /jobs through the HTTP master with that name answers 201, and the job completes', async () => {
    const r = await master.api.post<JobView>('/jobs', body('ffmpeg', { input: NAME }));
    assert.equal(r.status, 201, r.text);
    assertValidOutput(await jobFinished(master.api, r.body.id), 'ffmpeg');
  });

  for (const engine of ['ffmpeg', 'gstreamer'] as const) {
    it(`a name full of shell and pipeline syntax ("${HOSTILE}") is just a name to ${engine}; nothing is run`, async () => {
      const r = await master.api.post<JobView>('/jobs', body(engine, { input: HOSTILE }));
      assert.equal(r.status, 201, r.text);
      assertValidOutput(await jobFinished(master.api, r.body.id), engine);
      assert.equal(existsSync(MARKER), false, 'no shell ran the $(...)');
    });
  }

  it('a name ending in a backslash: engine=gstreamer is a 400, ffmpeg encodes it, auto sent to GStreamer fails at once saying why', async () => {
    const odd = 'odd/ends with \\';
    makeClip(await mediaFile(odd, ''));
    const refused = await master.api.post('/jobs', body('gstreamer', { input: odd }));
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.body.error, /^parameters\.input: ends with a backslash, which a GStreamer pipeline description cannot express; use engine=ffmpeg/);
    const ffmpeg = await master.api.post<JobView>('/jobs', body('ffmpeg', { input: odd }));
    assert.equal(ffmpeg.status, 201, ffmpeg.text);
    assertValidOutput(await jobFinished(master.api, ffmpeg.body.id), 'ffmpeg');
    // engine=auto takes GStreamer for the live queue when a worker offers it
    const live = await master.api.post<JobView>('/jobs', { ...body('ffmpeg', { input: odd, max_retries: 2 }), engine: 'auto', queue: 'live' });
    assert.equal(live.status, 201, live.text);
    const failed = await jobFinished(master.api, live.body.id);
    assert.deepEqual([failed.status, failed.engine_used, failed.attempts.length], ['failed', 'gstreamer', 1]);
    assert.match(failed.error!, /input ends with a backslash, which a GStreamer pipeline description cannot express/);
  });

  describe('gst-launch-1.0 round-trips each character inside a quoted location (gstQuote)', () => {
    const dir = path.join(os.tmpdir(), `ffrtmp-gstquote-${process.pid}`);
    before(() => mkdirSync(dir, { recursive: true }));
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** filesrc → filesink, both quoted, so a quote that runs on would swallow the next value. */
    function roundTrip(name: string, quote: (v: string) => string): { ok: boolean; why: string } {
      const src = path.join(dir, `in ${name}`);
      const dst = path.join(dir, `out ${name}`);
      writeFileSync(src, `payload ${name}`);
      rmSync(dst, { force: true });
      const r = spawnSync('gst-launch-1.0', ['-q', 'filesrc', `location=${quote(src)}`, '!', 'filesink', `location=${quote(dst)}`], { timeout: 30_000 });
      const ok = r.status === 0 && existsSync(dst) && readFileSync(dst, 'utf8') === `payload ${name}`;
      return { ok, why: `rc ${r.status}: ${r.stderr?.toString().trim()}` };
    }

    const CHARS = [' ', 'ü 日本', '😀', '!', "'", '"', '&', '$', ';', '(', ')', '#', '\\', '\\"', '""', '=', ',', '.', '|', '`', '{}', '[]', '*', '?', '<>', '%20'];
    for (const c of CHARS) {
      it(`${JSON.stringify(c)}, inside a name and at its end`, () => {
        for (const name of c.endsWith('\\') ? [`a${c}b`] : [`a${c}b`, `a${c}`]) {
          const { ok, why } = roundTrip(name, (v) => gstQuote(v, 'location'));
          assert.ok(ok, `${JSON.stringify(name)}: ${why}`);
        }
      });
    }

    it('a value ending in a backslash really breaks gst-launch (why engine=gstreamer refuses it)', () => {
      const escapeOnly = (v: string) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
      assert.equal(roundTrip('trailing\\', escapeOnly).ok, false, 'GStreamer now expresses a trailing backslash: drop the refusal in domain/text-rules.ts');
      assert.throws(() => gstQuote(path.join(dir, 'x\\'), 'input'), /ends with a backslash/);
    });
  });

  describe('signed http(s) URLs: the query string reaches the server unchanged', () => {
    const QUERY = '?X-Amz-Signature=ab%2Fc&X-Amz-Expires=300&n=%C3%BC%20x';
    let server: http.Server;
    let base: string;
    const seen: string[] = [];

    before(async () => {
      // serves the clip only at the exact signed URL (byte ranges included: MP4 readers seek)
      server = http.createServer((req, res) => {
        seen.push(req.url ?? '');
        if (req.url !== `/clip.mp4${QUERY}`) {
          res.writeHead(403).end();
          return;
        }
        const size = statSync(clip).size;
        const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
        if (!m) {
          res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': size, 'Accept-Ranges': 'bytes' });
          createReadStream(clip).pipe(res);
          return;
        }
        const start = m[1] ? Number(m[1]) : size - Number(m[2]);
        const end = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
        res.writeHead(206, { 'Content-Type': 'video/mp4', 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Accept-Ranges': 'bytes' });
        createReadStream(clip, { start, end }).pipe(res);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server?.close());

    for (const engine of ['ffmpeg', 'gstreamer'] as const) {
      it(`with ${engine}`, async () => {
        seen.length = 0;
        const r = await master.api.post<JobView>('/jobs', body(engine, { input: `${base}/clip.mp4${QUERY}` }));
        assert.equal(r.status, 201, r.text);
        assertValidOutput(await jobFinished(master.api, r.body.id), engine);
        assert.ok(seen.length > 0 && seen.every((u) => u === `/clip.mp4${QUERY}`), `requests: ${seen.join(', ')}`);
      });
    }
  });

  describe('an RTMP URL with a query string (rtmp2sink, ffmpeg)', () => {
    const rtmp = new RtmpServer();
    before(async function () {
      if (!RtmpServer.available()) {
        console.log('      skipped: nginx with libnginx-mod-rtmp is not installed');
        this.skip();
      }
      await rtmp.start();
    });
    after(async () => rtmp.stop());

    for (const engine of ['gstreamer', 'ffmpeg'] as const) {
      it(`with ${engine}: published under the stream name, the query as its arguments`, async () => {
        const key = `q-${engine}`;
        const url = `${rtmp.url(key)}?token=a%2Fb&exp=300`;
        const done = await jobFinished(jobs, (await jobs.create(body(engine, { output_mode: 'rtmp', rtmp_url: url }))).id);
        assert.equal(done.status, 'completed', `${done.error}`);
        assert.equal(done.output?.url, url);
        const log = readFileSync(path.join(rtmp.dir, 'error.log'), 'utf8');
        assert.ok(log.includes(`publish: name='${key}' args='token=a%2Fb&exp=300'`), log.split('\n').filter((l) => l.includes('publish')).join('\n'));
        const p = await waitFor('the recording', () => {
          try {
            return probe(rtmp.recording(key));
          } catch {
            return undefined;
          }
        });
        assert.deepEqual([p.codec, p.width, p.height], ['h264', 426, 240]);
      });
    }
  });
});
