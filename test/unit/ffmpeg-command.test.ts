import assert from 'node:assert/strict';
import type { EncodeSpec } from '../../domain/job';
import { buildFfmpegArgs, containerFor, displayCommand } from '../../encoders/ffmpeg-command';

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
