import assert from 'node:assert/strict';
import type { EncodeSpec } from '../../domain/job';
import { planRoute, type RoutingInput } from '../../domain/routing';

const spec = (over: Partial<EncodeSpec> = {}): EncodeSpec => ({
  width: 1920, height: 1080, fps: 30, durationSec: 10, codec: 'h264', encoder: 'libx264', engine: 'ffmpeg',
  bitrateKbps: 6000, preset: 'medium', audio: true, input: { kind: 'synthetic' }, output: { mode: 'file' }, ...over,
});
const input = (over: Partial<RoutingInput>): RoutingInput => ({
  spec: spec(), engine: 'auto', queue: 'default', hardware: 'auto', explicitEncoder: false, live: ['cpu'], gpuWaitMs: 30_000, fellBack: false, ...over,
});
const routeOf = (i: RoutingInput) => {
  const d = planRoute(i);
  assert.equal(d.kind, 'route', JSON.stringify(d));
  return (d as Extract<typeof d, { kind: 'route' }>).route;
};

describe('routing', () => {
  it('auto without a live GPU: software on the CPU queue', () => {
    const r = routeOf(input({}));
    assert.deepEqual([r.taskQueue, r.spec.encoder, r.scheduleToStartMs], ['encode.cpu', 'libx264', undefined]);
    assert.match(r.reason, /no live GPU worker/);
  });

  it('auto with a live nvenc worker: h264_nvenc, with a CPU fallback after the wait', () => {
    const r = routeOf(input({ live: ['cpu', 'nvenc'] }));
    assert.deepEqual([r.taskQueue, r.spec.encoder, r.spec.preset, r.scheduleToStartMs, r.onTimeout], ['encode.nvenc', 'h264_nvenc', 'p4', 30_000, 'fallback-to-cpu']);
  });

  it('the fallback rewrites encoder and preset, keeps the bitrate, and passes no GPU option', () => {
    const gpu = spec({ encoder: 'h264_nvenc', preset: 'p2' });
    const r = routeOf(input({ spec: gpu, explicitEncoder: true, fellBack: true }));
    assert.deepEqual([r.taskQueue, r.spec.encoder, r.spec.preset, r.spec.bitrateKbps], ['encode.cpu', 'libx264', 'superfast', 6000]);
    assert.match(r.reason, /fell back to the CPU/);
    const h265 = routeOf(input({ spec: spec({ codec: 'h265', encoder: 'hevc_nvenc', preset: 'p6' }), explicitEncoder: true, fellBack: true }));
    assert.deepEqual([h265.spec.encoder, h265.spec.preset], ['libx265', 'medium']);
  });

  it('an explicit hardware encoder: its queue, fallback allowed unless required', () => {
    const gpu = spec({ encoder: 'h264_nvenc', preset: 'p4' });
    const ifPossible = routeOf(input({ spec: gpu, explicitEncoder: true }));
    assert.deepEqual([ifPossible.taskQueue, ifPossible.onTimeout], ['encode.nvenc', 'fallback-to-cpu']);
    const required = routeOf(input({ spec: gpu, explicitEncoder: true, hardware: 'required' }));
    assert.deepEqual([required.taskQueue, required.scheduleToStartMs], ['encode.nvenc', undefined]);
  });

  it('hardware=required with no live GPU waits; with one, goes there without a timeout', () => {
    const d = planRoute(input({ hardware: 'required' }));
    assert.deepEqual(d, { kind: 'wait', reason: 'hardware=required: waiting for a live nvenc/qsv/vaapi worker' });
    const r = routeOf(input({ hardware: 'required', live: ['cpu', 'vaapi'] }));
    assert.deepEqual([r.taskQueue, r.spec.encoder, r.scheduleToStartMs], ['encode.vaapi', 'h264_vaapi', undefined]);
    assert.equal(planRoute(input({ hardware: 'required', spec: spec({ codec: 'vp9', encoder: 'libvpx-vp9', preset: 'good' }) })).kind, 'wait');
  });

  it('hardware=if-possible tries nvenc even when none is live, then falls back', () => {
    const r = routeOf(input({ hardware: 'if-possible' }));
    assert.deepEqual([r.taskQueue, r.onTimeout], ['encode.nvenc', 'fallback-to-cpu']);
  });

  it('hardware=cpu never uses a GPU; an explicit software encoder stays itself', () => {
    assert.equal(routeOf(input({ hardware: 'cpu', live: ['cpu', 'nvenc'] })).spec.encoder, 'libx264');
    const x265 = routeOf(input({ spec: spec({ codec: 'h265', encoder: 'libx265' }), explicitEncoder: true, live: ['cpu', 'nvenc'] }));
    assert.deepEqual([x265.taskQueue, x265.spec.encoder], ['encode.cpu', 'libx265']);
  });

  it('engine=auto: GStreamer for the live queue and RTMP output when a worker has it, FFmpeg otherwise', () => {
    const live = routeOf(input({ queue: 'live', live: ['cpu', 'gstreamer'] }));
    assert.deepEqual([live.taskQueue, live.spec.encoder, live.spec.engine], ['encode.gstreamer', 'x264enc', 'gstreamer']);
    const rtmp = routeOf(input({ spec: spec({ output: { mode: 'rtmp', url: 'rtmp://h/app/k' } }), live: ['cpu', 'gstreamer'] }));
    assert.equal(rtmp.spec.engine, 'gstreamer');
    const noGst = routeOf(input({ queue: 'live', live: ['cpu'] }));
    assert.deepEqual([noGst.spec.engine, noGst.reason], ['ffmpeg', 'engine=auto: no live GStreamer worker, using FFmpeg']);
    assert.equal(routeOf(input({ live: ['cpu', 'gstreamer'] })).spec.engine, 'ffmpeg', 'batch/default file work stays on FFmpeg');
  });

  it('engine=gstreamer: its queue, failing clearly if no worker takes it in time', () => {
    const r = routeOf(input({ engine: 'gstreamer', spec: spec({ encoder: 'x264enc', engine: 'gstreamer' }), live: ['cpu'] }));
    assert.deepEqual([r.taskQueue, r.onTimeout, r.scheduleToStartMs], ['encode.gstreamer', 'fail', 30_000]);
    assert.match(r.reason, /no live worker offers it yet/);
  });
});
