import assert from 'node:assert/strict';
import type { EncodeSpec, JobRequest } from '../../domain/job';
import { DEFAULT_RESOLVE_CONTEXT, JobValidationError, resolveJob } from '../../domain/resolve';
import { createJobSchema, describeZodError } from '../../domain/schemas';
import { gstUnquotable, textProblem } from '../../domain/text-rules';
import { buildFfmpegArgs, localPath } from '../../encoders/ffmpeg-command';
import { buildGstArgs, gstQuote } from '../../encoders/gstreamer-pipeline';

const ctx = { ...DEFAULT_RESOLVE_CONTEXT, mediaRoot: '/m', allowUrlInputs: true };
const req = (parameters: JobRequest['parameters'], engine: JobRequest['engine'] = 'auto'): JobRequest => ({
  scenario: '240p30-h264', confidence: 'auto', engine, queue: 'default', priority: 'medium', parameters,
});
const input = (raw: string, engine: JobRequest['engine'] = 'auto') => resolveJob(req({ input: raw }, engine), ctx).spec.input;

/** The JobValidationError a request gets, as "field: message". */
function refusal(parameters: JobRequest['parameters'], engine: JobRequest['engine'] = 'auto'): string {
  try {
    resolveJob(req(parameters, engine), ctx);
  } catch (err) {
    assert.ok(err instanceof JobValidationError, String(err));
    return err.message;
  }
  assert.fail(`accepted: ${JSON.stringify(parameters)}`);
}

describe('text rules: any Unicode path or URL, minus what could lie or pass for an option', () => {
  it('accepts non-ASCII, emoji and punctuation in file inputs, confined to the media root', () => {
    for (const name of ['ok dir/my clip ü 日本.mp4', 'clips/🎬 family 👨‍👩‍👧.mkv', "it's \"quoted\" & (1) #2 !;$.mp4", 'Ελληνικά/عربى/clip.webm', 'dir/a:b.mp4']) {
      assert.deepEqual(input(name), { kind: 'file', path: `/m/${name}` }, name);
    }
    assert.deepEqual(input('/m/ü.mp4'), { kind: 'file', path: '/m/ü.mp4' });
    assert.deepEqual(input('./a:b.mp4'), { kind: 'file', path: '/m/a:b.mp4' });
  });

  it('accepts http(s) URLs with query strings and percent-encoding (signed URLs), unchanged', () => {
    const signed = 'https://h/x.mp4?X-Amz-Signature=ab%2Fc&X-Amz-Expires=300';
    assert.deepEqual(input(signed), { kind: 'url', url: signed });
    assert.deepEqual(input('http://h:8080/a%20b/c.mp4?a=1&b=2'), { kind: 'url', url: 'http://h:8080/a%20b/c.mp4?a=1&b=2' });
    assert.deepEqual(input(signed, 'gstreamer'), { kind: 'url', url: signed });
  });

  it('refuses control, separator and bidi characters, option-like values, protocols, escapes and credentials, naming the field and the cause', () => {
    const cases: [JobRequest['parameters'], RegExp][] = [
      [{ input: 'a\u0000b.mp4' }, /^parameters\.input: must not contain control characters \(U\+0000\)/],
      [{ input: 'a\nb.mp4' }, /^parameters\.input: must not contain control characters \(U\+000A\)/],
      [{ input: 'a\u001b[31mb.mp4' }, /^parameters\.input: must not contain control characters \(U\+001B\)/],
      [{ input: 'a\u007fb.mp4' }, /^parameters\.input: must not contain control characters \(U\+007F\)/],
      [{ input: 'a\u0085b.mp4' }, /^parameters\.input: must not contain control characters \(U\+0085\)/],
      [{ input: 'a\u2028b.mp4' }, /^parameters\.input: must not contain line or paragraph separators \(U\+2028\)/],
      [{ input: 'clip\u202egnp.mp4' }, /^parameters\.input: must not contain bidirectional override or isolate characters \(U\+202E\)/],
      [{ input: 'clip\u2066x\u2069.mp4' }, /^parameters\.input: must not contain bidirectional .*\(U\+2066\)/],
      [{ input: 'a\ud800.mp4' }, /^parameters\.input: is not valid Unicode \(a lone surrogate U\+D800\)/],
      [{ input: '-i' }, /^parameters\.input: must not start with "-"/],
      [{ input: 'concat:a|b' }, /^parameters\.input: protocol "concat:" is not allowed/],
      [{ input: 'file:/etc/passwd' }, /^parameters\.input: protocol "file:" is not allowed/],
      [{ input: 'a:b.mp4' }, /^parameters\.input: protocol "a:" is not allowed.*\.\/a:b\.mp4/],
      [{ input: '../outside' }, /^parameters\.input: path must be inside the media root \/m$/],
      [{ input: '/etc/passwd' }, /^parameters\.input: path must be inside the media root/],
      [{ input: 'https://user:pw@h/x.mp4' }, /^parameters\.input: URLs with credentials are not accepted/],
      [{ output_mode: 'rtmp', rtmp_url: 'rtmp://h/live/k\u202e' }, /^parameters\.rtmp_url: must not contain bidirectional/],
      [{ output_mode: 'rtmp', rtmp_url: 'rtmp://h/live/k\r\n' }, /^parameters\.rtmp_url: must not contain control characters \(U\+000D\)/],
      [{ output_mode: 'rtmp', rtmp_url: '-f flv rtmp://h/x' }, /^parameters\.rtmp_url: must not start with "-"/],
    ];
    for (const [parameters, expected] of cases) assert.match(refusal(parameters), expected, JSON.stringify(parameters));
  });

  it('the API schema uses the same rule (one owner), with the same messages', () => {
    const problem = (input: string) => {
      const r = createJobSchema.safeParse({ scenario: '240p30-h264', parameters: { input } });
      return r.success ? undefined : describeZodError(r.error);
    };
    assert.equal(problem('ok dir/my clip ü 日本.mp4'), undefined);
    assert.equal(problem('clip\u202egnp.mp4'), `parameters.input: ${textProblem('clip\u202egnp.mp4')}`);
    assert.match(problem('-i')!, /^parameters\.input: must not start with "-"/);
    assert.match(problem('a\u0085b')!, /control characters \(U\+0085\)/);
    const name = createJobSchema.safeParse({ scenario: '240p30-h264\u2066' });
    assert.ok(!name.success && /^scenario: must not contain bidirectional/.test(describeZodError(name.error)));
  });

  it('RTMP URLs with query strings are accepted', () => {
    const { spec } = resolveJob(req({ output_mode: 'rtmp', rtmp_url: 'rtmp://h/live/key?token=a%2Fb&x=1' }, 'gstreamer'), ctx);
    assert.deepEqual(spec.output, { mode: 'rtmp', url: 'rtmp://h/live/key?token=a%2Fb&x=1' });
  });

  it('engine=gstreamer alone refuses what a pipeline description cannot express (a trailing backslash)', () => {
    assert.deepEqual(input('dir/odd\\', 'ffmpeg'), { kind: 'file', path: '/m/dir/odd\\' });
    assert.match(refusal({ input: 'dir/odd\\' }, 'gstreamer'), /^parameters\.input: ends with a backslash, which a GStreamer pipeline description cannot express; use engine=ffmpeg/);
    assert.deepEqual(input('dir\\/odd \\ name.mp4', 'gstreamer'), { kind: 'file', path: '/m/dir\\/odd \\ name.mp4' });
    assert.match(refusal({ output_mode: 'rtmp', rtmp_url: 'rtmp://h/live/k\\' }, 'gstreamer'), /^parameters\.rtmp_url: ends with a backslash/);
  });
});

describe('gstQuote: a value as one quoted gst-launch property', () => {
  it('wraps in double quotes and escapes only " and \\', () => {
    assert.equal(gstQuote('/m/ok dir/my clip ü 日本 & ! (1).mp4', 'input'), '"/m/ok dir/my clip ü 日本 & ! (1).mp4"');
    assert.equal(gstQuote('/m/say "hi"\\there\'s.mp4', 'input'), '"/m/say \\"hi\\"\\\\there\'s.mp4"');
    assert.equal(gstQuote('/m/a\\"b', 'input'), '"/m/a\\\\\\"b"');
    assert.equal(gstQuote('https://h/x.mp4?a=1&b=2', 'input'), '"https://h/x.mp4?a=1&b=2"');
  });

  it('refuses, naming what, the values gst-launch cannot be given', () => {
    assert.throws(() => gstQuote('/m/odd\\', 'input'), /^Error: input ends with a backslash, which a GStreamer pipeline description cannot express; use engine=ffmpeg/);
    assert.throws(() => gstQuote('NULL', 'input'), /input is NULL/);
    assert.throws(() => gstQuote('"x"', 'rtmp_url'), /rtmp_url is wrapped in double quotes/);
    assert.throws(() => gstQuote('/m/a\0b', 'input'), /input contains NUL/);
    assert.equal(gstUnquotable('/m/"x"/y'), undefined);
  });

  it('the pipeline quotes file and URL inputs, the file output and the RTMP location', () => {
    const spec: EncodeSpec = {
      width: 426, height: 240, fps: 30, durationSec: 1, codec: 'h264', encoder: 'x264enc', engine: 'gstreamer', bitrateKbps: 400,
      preset: 'ultrafast', audio: true, input: { kind: 'file', path: '/m/a "b".mp4' }, output: { mode: 'file' },
    };
    const file = buildGstArgs(spec, { input: '/m/a "b".mp4', output: '/out/j 1/output.mp4.partial', format: 'mp4' });
    assert.deepEqual(file.slice(0, 3), ['-e', 'filesrc', 'location="/m/a \\"b\\".mp4"']);
    assert.equal(file.at(-1), 'location="/out/j 1/output.mp4.partial"');
    const url = buildGstArgs(spec, { input: 'http://h/x.mp4?a=1&b=2', output: '/o.mp4', format: 'mp4' });
    assert.deepEqual(url.slice(1, 3), ['souphttpsrc', 'location="http://h/x.mp4?a=1&b=2"']);
    const rtmp = buildGstArgs({ ...spec, output: { mode: 'rtmp', url: 'rtmp://h/live/k?t=1&u=2' } }, { output: 'rtmp://h/live/k?t=1&u=2', format: 'flv' });
    assert.deepEqual(rtmp.slice(-3), ['rtmp2sink', 'location="rtmp://h/live/k?t=1&u=2"', 'sync=true']);
    assert.throws(() => buildGstArgs(spec, { input: '/m/odd\\', output: '/o.mp4', format: 'mp4' }), /input ends with a backslash/);
  });
});

describe('ffmpeg: a local file is always an absolute path', () => {
  const spec: EncodeSpec = {
    width: 426, height: 240, fps: 30, durationSec: 1, codec: 'h264', encoder: 'libx264', engine: 'ffmpeg', bitrateKbps: 400,
    preset: 'ultrafast', audio: true, input: { kind: 'file', path: '/m/a:b.mp4' }, output: { mode: 'file' },
  };

  it('passes an absolute path as one argv element after -i, whitelisted to the file protocol', () => {
    const args = buildFfmpegArgs(spec, { input: '/m/ok dir/a:b ü.mp4', output: '/o/output.mp4', format: 'mp4' });
    const i = args.indexOf('-i');
    assert.equal(args[i + 1], '/m/ok dir/a:b ü.mp4');
    assert.deepEqual(args.slice(args.indexOf('-protocol_whitelist'), args.indexOf('-protocol_whitelist') + 2), ['-protocol_whitelist', 'file']);
  });

  it('refuses a relative input or output (ffmpeg would read "a:b.mp4" as protocol a)', () => {
    assert.throws(() => buildFfmpegArgs(spec, { input: 'a:b.mp4', output: '/o.mp4', format: 'mp4' }), /input must be an absolute path for ffmpeg, got "a:b.mp4"/);
    assert.throws(() => buildFfmpegArgs(spec, { input: '/m/x.mp4', output: 'out:put.mp4', format: 'mp4' }), /output must be an absolute path/);
    assert.equal(localPath('/m/a:b.mp4', 'input'), '/m/a:b.mp4');
    const url = buildFfmpegArgs(spec, { input: 'https://h/x.mp4?a=1&b=2', output: '/o.mp4', format: 'mp4' });
    assert.equal(url[url.indexOf('-i') + 1], 'https://h/x.mp4?a=1&b=2');
    assert.equal(url[url.indexOf('-protocol_whitelist') + 1], 'http,https,tcp,tls');
  });
});
