import assert from 'node:assert/strict';
import type { EncodeSpec } from '../../domain/job';
import { buildFfmpegArgs, containerFor, displayCommand } from '../../encoders/ffmpeg-command';
import { buildJoinArgs, concatList } from '../../encoders/ffmpeg-join';

const base: EncodeSpec = {
  width: 1280, height: 720, fps: 30, durationSec: 20, codec: 'h264', encoder: 'libx264', engine: 'ffmpeg',
  bitrateKbps: 3000, preset: 'veryfast', audio: true, input: { kind: 'synthetic' }, output: { mode: 'file' },
};
const HEAD = ['-hide_banner', '-nostdin', '-nostats', '-progress', 'pipe:1', '-stats_period', '0.5', '-benchmark'];

describe('ffmpeg command builder', () => {
  it('synthetic 720p30 x264 veryfast to mp4: the exact argument array', () => {
    assert.deepEqual(buildFfmpegArgs(base, { output: '/out/job/output.mp4.partial', format: 'mp4' }), [
      ...HEAD,
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=20',
      '-f', 'lavfi', '-i', 'sine=frequency=440:beep_factor=4:sample_rate=48000:duration=20',
      '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '3000k', '-maxrate', '3000k', '-bufsize', '6000k', '-g', '60', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '128k', '-ar', '48000',
      '-t', '20', '-movflags', '+faststart', '-f', 'mp4', '-y', '/out/job/output.mp4.partial',
    ]);
  });

  it('file input: whitelisted to the file protocol, scaled, first video and optional audio mapped', () => {
    const args = buildFfmpegArgs({ ...base, input: { kind: 'file', path: '/media/in.mkv' } }, { input: '/media/in.mkv', output: '/o.mp4', format: 'mp4' });
    const i = args.indexOf('-i');
    assert.deepEqual(args.slice(i - 2, i + 2), ['-protocol_whitelist', 'file', '-i', '/media/in.mkv']);
    assert.ok(args.join(' ').includes('-map 0:v:0 -map 0:a:0? -vf scale=1280:720,fps=30'));
  });

  it('http input is whitelisted to http(s) only', () => {
    const args = buildFfmpegArgs(base, { input: 'http://127.0.0.1:9/x.mp4', output: '/o.mp4', format: 'mp4' });
    assert.ok(args.join(' ').includes('-protocol_whitelist http,https,tcp,tls -i http://127.0.0.1:9/x.mp4'));
  });

  it('RTMP output: real-time input, FLV container', () => {
    const spec: EncodeSpec = { ...base, output: { mode: 'rtmp', url: 'rtmp://127.0.0.1/live/x' } };
    assert.deepEqual(containerFor(spec), { format: 'flv', extension: 'flv' });
    const args = buildFfmpegArgs(spec, { output: 'rtmp://127.0.0.1/live/x', format: 'flv' });
    assert.equal(args[args.indexOf('-f') - 1], '-re');
    assert.deepEqual(args.slice(-4), ['-f', 'flv', '-y', 'rtmp://127.0.0.1/live/x']);
  });

  it('per-encoder video options', () => {
    const video = (s: Partial<EncodeSpec>) => {
      const a = buildFfmpegArgs({ ...base, ...s }, { output: '/o', format: 'mp4' });
      return a.slice(a.indexOf('-c:v'), a.indexOf('-c:a'));
    };
    assert.deepEqual(video({ encoder: 'libx265', codec: 'h265', preset: 'medium' }).slice(0, 4), ['-c:v', 'libx265', '-preset', 'medium']);
    assert.ok(video({ encoder: 'libx265', codec: 'h265', preset: 'medium' }).includes('hvc1'));
    assert.deepEqual(video({ encoder: 'libvpx-vp9', codec: 'vp9', preset: 'realtime' }).slice(0, 6), ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8']);
    assert.deepEqual(video({ encoder: 'libsvtav1', codec: 'av1', preset: '10' }).slice(0, 4), ['-c:v', 'libsvtav1', '-preset', '10']);
    assert.deepEqual(video({ encoder: 'h264_nvenc', preset: 'p4' }).slice(0, 4), ['-c:v', 'h264_nvenc', '-preset', 'p4']);
    const vaapi = buildFfmpegArgs({ ...base, encoder: 'h264_vaapi', preset: 'default' }, { output: '/o', format: 'mp4' });
    assert.deepEqual(vaapi.slice(8, 10), ['-vaapi_device', '/dev/dri/renderD128']);
    assert.ok(vaapi.join(' ').includes('-vf format=nv12,hwupload -c:v h264_vaapi'));
  });

  it('VP9 files are WebM with Opus audio', () => {
    const spec: EncodeSpec = { ...base, codec: 'vp9', encoder: 'libvpx-vp9', preset: 'good' };
    assert.deepEqual(containerFor(spec), { format: 'webm', extension: 'webm' });
    assert.ok(buildFfmpegArgs(spec, { output: '/o', format: 'webm' }).join(' ').includes('-c:a libopus'));
  });

  it('refuses an encoder it has no strategy for', () => {
    assert.throws(() => buildFfmpegArgs({ ...base, encoder: 'x264enc' }, { output: '/o', format: 'mp4' }), /no FFmpeg strategy/);
  });

  it('displays a command with quoting for reading, not for a shell', () => {
    assert.equal(displayCommand('ffmpeg', ['-i', 'a b.mp4', "it's"]), `ffmpeg -i 'a b.mp4' 'it'\\''s'`);
  });
});

describe('segment and join commands (segment-parallel encoding)', () => {
  const file: EncodeSpec = { ...base, input: { kind: 'file', path: '/media/in.mkv' } };

  it('a segment: seek to its first frame, video only, exactly its frames, the same encoder settings', () => {
    const args = buildFfmpegArgs(file, { input: '/media/in.mkv', output: '/out/j/segments/s1.mp4', format: 'mp4', segment: { startFrame: 300, frames: 299 } });
    const whole = buildFfmpegArgs(file, { input: '/media/in.mkv', output: '/o.mp4', format: 'mp4' });
    assert.deepEqual(args.slice(args.indexOf('-protocol_whitelist'), args.indexOf('-i') + 2), ['-protocol_whitelist', 'file', '-ss', '10', '-i', '/media/in.mkv']);
    const video = (a: string[]) => a.slice(a.indexOf('-c:v'), a.indexOf('-pix_fmt') + 2);
    assert.deepEqual(video(args), video(whole));
    // x264 measures its own PSNR against the frames it is given: the join combines the segments'
    assert.deepEqual(args.slice(args.indexOf('-pix_fmt') + 2, args.indexOf('-movflags')), ['-flags', '+psnr', '-an', '-sn', '-dn', '-frames:v', '299']);
    assert.ok(!whole.includes('+psnr'));
    assert.ok(args.includes('-map') && !args.includes('0:a:0?') && !args.includes('-t'));
    // the first segment does not seek; a synthetic one seeks its generator
    assert.ok(!buildFfmpegArgs(file, { input: '/media/in.mkv', output: '/s0.mp4', format: 'mp4', segment: { startFrame: 0, frames: 10 } }).includes('-ss'));
    const synth = buildFfmpegArgs(base, { output: '/s.mp4', format: 'mp4', segment: { startFrame: 31, frames: 29 } });
    assert.deepEqual(synth.slice(synth.indexOf('-ss'), synth.indexOf('-ss') + 5), ['-ss', '1.033333', '-f', 'lavfi', '-i']);
    assert.ok(!synth.join(' ').includes('sine='));
  });

  it('x265 closes its GOPs (every segment decodes on its own)', () => {
    const args = buildFfmpegArgs({ ...base, codec: 'h265', encoder: 'libx265', preset: 'medium' }, { output: '/o.mp4', format: 'mp4' });
    assert.equal(args[args.indexOf('-x265-params') + 1], 'log-level=error:no-open-gop=1');
  });

  it('an RTMP output is never cut into segments', () => {
    assert.throws(() => buildFfmpegArgs({ ...base, output: { mode: 'rtmp', url: 'rtmp://h/a' } }, { output: 'rtmp://h/a', format: 'flv', segment: { startFrame: 0, frames: 1 } }), /never split/);
  });

  it('the join: concat demuxer, video copied, audio encoded once from the source, metadata and chapters from it', () => {
    assert.equal(concatList(['/out/j/s0.mp4', "/out/it's/s1.mp4"]), "file '/out/j/s0.mp4'\nfile '/out/it'\\''s/s1.mp4'\n");
    assert.deepEqual(buildJoinArgs(file, { list: '/out/j/segments/list.txt', input: '/media/in.mkv', durationSec: 20, output: '/out/j/attempt-1.output.mp4.partial', format: 'mp4' }), [
      '-hide_banner', '-nostdin', '-nostats', '-progress', 'pipe:1', '-benchmark',
      '-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file', '-i', '/out/j/segments/list.txt',
      '-protocol_whitelist', 'file', '-i', '/media/in.mkv',
      '-map', '0:v:0', '-map', '1:a:0?', '-map_metadata', '1', '-map_chapters', '1',
      '-c:v', 'copy', '-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-sn', '-dn',
      '-t', '20', '-movflags', '+faststart', '-f', 'mp4', '-y', '/out/j/attempt-1.output.mp4.partial',
    ]);
    const synth = buildJoinArgs(base, { list: '/l.txt', durationSec: 4.5, output: '/o.mp4', format: 'mp4' });
    assert.ok(synth.join(' ').includes('-f lavfi -i sine=frequency=440:beep_factor=4:sample_rate=48000:duration=4.5 -map 0:v:0 -map 1:a:0 -map_metadata -1'));
    assert.ok(buildJoinArgs({ audio: false }, { list: '/l.txt', durationSec: 4, output: '/o.mp4', format: 'mp4' }).includes('-an'));
  });
});
