import assert from 'node:assert/strict';
import type { JobRequest, JobView, JobWorkflowInput, SegmentView } from '../../domain/job';
import { initialJobView, withLiveSegments } from '../../domain/view';
import { resolveJob } from '../../domain/resolve';
import { createJobSchema, describeZodError } from '../../domain/schemas';
import { combinedPsnr } from '../../domain/split-checks';
import { parseKeyframeList } from '../../activities/probe';
import { decideSplit, expectedFrames, planSegments, singlePassFrames, splitRefusal, type Segment, type SplittableSpec } from '../../domain/segments';

/** [startFrame, frames, cut] per segment: the table form of a plan. */
const shape = (segments: Segment[]) => segments.map((s) => [s.startFrame, s.frames, s.cut]);

describe('segment planning', () => {
  it('single-pass frame counts: frames below the end, no more than a shorter input holds', () => {
    const table: [number, number | null, number, number][] = [
      // requested s, input s, fps, frames
      [4, null, 30, 120],
      [4, 10, 30, 120],
      [4.0334, null, 30, 122], // a frame starts at 4.0333 s, below the end
      [10, 11.934, 30, 300],
      [60, 11.934, 30, 358], // the VFR clip measured: ffmpeg -vf fps=30 made 358 frames
      [1 / 30, null, 30, 1],
      [2.5, null, 24, 60],
      [0.01, null, 30, 1],
    ];
    for (const [req, input, fps, frames] of table) assert.equal(singlePassFrames(req, input, fps), frames, `${req} s of ${input} s at ${fps}`);
    assert.equal(expectedFrames(0, 30), 0);
  });

  it('cuts at frame counts: one segment every segment_seconds, the rest in the last', () => {
    const table: [string, number, number, number, (string | number)[][]][] = [
      // name, total frames, fps, segment s, [start, frames, cut]
      ['even', 120, 30, 2, [[0, 60, 'start'], [60, 60, 'frame']]],
      ['a 1-frame last segment', 121, 30, 2, [[0, 60, 'start'], [60, 60, 'frame'], [120, 1, 'frame']]],
      ['shorter than one segment', 45, 30, 10, [[0, 45, 'start']]],
      ['25 fps, 10 s segments', 750, 25, 10, [[0, 250, 'start'], [250, 250, 'frame'], [500, 250, 'frame']]],
      ['one frame', 1, 30, 2, [[0, 1, 'start']]],
    ];
    for (const [name, total, fps, segmentSec, want] of table) {
      assert.deepEqual(shape(planSegments({ durationSec: total / fps, fps, totalFrames: total }, { segmentSec })), want, name);
    }
  });

  it('N segments of nearly equal length, never more segments than frames', () => {
    const table: [number, number, (string | number)[][]][] = [
      [120, 4, [[0, 30, 'start'], [30, 30, 'frame'], [60, 30, 'frame'], [90, 30, 'frame']]],
      [121, 2, [[0, 61, 'start'], [61, 60, 'frame']]],
      [358, 3, [[0, 119, 'start'], [119, 120, 'frame'], [239, 119, 'frame']]],
      [2, 4, [[0, 1, 'start'], [1, 1, 'frame']]],
    ];
    for (const [total, count, want] of table) {
      const plan = planSegments({ durationSec: total / 30, fps: 30, totalFrames: total }, { count });
      assert.deepEqual(shape(plan), want, `${total} frames into ${count}`);
      assert.equal(plan.reduce((n, s) => n + s.frames, 0), total);
    }
  });

  it('cuts at source keyframes within half a segment, at frame counts where keyframes are far apart', () => {
    const fps = 30;
    const table: [string, number[], (string | number)[][]][] = [
      ['a keyframe every 2 s', [0, 2, 4, 6, 8], [[0, 60, 'start'], [60, 60, 'keyframe'], [120, 60, 'keyframe'], [180, 60, 'keyframe']]],
      ['scene cuts off the grid', [0, 1.5, 4.3, 6.9], [[0, 45, 'start'], [45, 84, 'keyframe'], [129, 78, 'keyframe'], [207, 33, 'keyframe']]],
      ['far apart: one keyframe every 30 s', [0], [[0, 60, 'start'], [60, 60, 'frame'], [120, 60, 'frame'], [180, 60, 'frame']]],
      ['one usable, one too far', [0, 2.2, 7.5], [[0, 66, 'start'], [66, 54, 'keyframe'], [120, 60, 'frame'], [180, 60, 'frame']]],
    ];
    for (const [name, keyframes, want] of table) {
      const plan = planSegments({ durationSec: 8, fps, totalFrames: 240, keyframes }, { segmentSec: 2 });
      assert.deepEqual(shape(plan), want, name);
      assert.equal(plan.reduce((n, s) => n + s.frames, 0), 240, name);
    }
  });

  it('a VFR source: cuts are output frames, so times are exact multiples of 1/fps', () => {
    // keyframes of a VFR source fall between output frames: they snap to the nearest frame
    const plan = planSegments({ durationSec: 11.934, fps: 30, totalFrames: 358, keyframes: [0, 3.983, 8.05] }, { segmentSec: 4 });
    assert.deepEqual(shape(plan), [[0, 119, 'start'], [119, 123, 'keyframe'], [242, 116, 'keyframe']]);
    for (const s of plan) {
      assert.equal(s.startSec, s.startFrame / 30);
      assert.equal(s.durationSec, s.frames / 30);
    }
  });
});

describe('split decision', () => {
  const spec = (over: Partial<SplittableSpec> = {}): SplittableSpec & { fps: number } => ({ output: { mode: 'file' }, engine: 'ffmpeg', queue: 'default', fps: 30, ...over });
  const ctx = { parallel: 'auto' as const, segmentSec: 10, liveWorkers: 2 };

  it('auto splits a file output of at least 3 segments when workers are live', () => {
    const table: [string, number, Partial<typeof ctx>, boolean, RegExp][] = [
      ['30 s in 10 s segments', 900, {}, true, /auto: 3 segments of 10 s/],
      ['29 s: three, the last one shorter', 870, {}, true, /auto: 3 segments/],
      ['20 s', 600, {}, false, /too short to gain: 2 segment\(s\)/],
      ['no live worker', 900, { liveWorkers: 0 }, false, /no live encode worker/],
      ['off', 9000, { parallel: 'off' } as never, false, /parallel=off/],
    ];
    for (const [name, frames, over, split, reason] of table) {
      const d = decideSplit(spec(), frames, { ...ctx, ...over });
      assert.equal(d.split, split, name);
      assert.match(d.reason, reason, name);
    }
  });

  it('N splits into N whatever the length; never beyond the frame count', () => {
    const d = decideSplit(spec(), 60, { ...ctx, parallel: 4 });
    assert.deepEqual(d.split && d.plan, { count: 4 });
    assert.match(decideSplit(spec(), 3, { ...ctx, parallel: 4 }).reason, /3 frames cannot make 4 segments/);
  });

  it('RTMP outputs, the live queue and GStreamer never split, and say why', () => {
    assert.match(splitRefusal(spec({ output: { mode: 'rtmp', url: 'rtmp://h/a' } }))!, /RTMP output/);
    assert.match(splitRefusal(spec({ queue: 'live' }))!, /live queue/);
    assert.match(splitRefusal(spec({ engine: 'gstreamer' }))!, /FFmpeg only/);
    assert.equal(splitRefusal(spec()), undefined);
    assert.equal(decideSplit(spec({ output: { mode: 'rtmp', url: 'rtmp://h/a' } }), 9000, ctx).split, false);
  });
});

describe('parallel and segment_seconds in the request', () => {
  const body = (parameters: Record<string, unknown>, over: Record<string, unknown> = {}) => createJobSchema.safeParse({ scenario: '240p30-h264', parameters, ...over });
  const resolve = (parameters: JobRequest['parameters'], over: Partial<JobRequest> = {}) =>
    resolveJob({ scenario: '240p30-h264', confidence: 'auto', engine: 'auto', queue: 'default', priority: 'medium', parameters, ...over });

  it('the schema takes off, auto, 2–64 and segment_seconds 2–60, and names the field otherwise', () => {
    for (const ok of [{ parallel: 'off' }, { parallel: 'auto' }, { parallel: 2 }, { parallel: 64 }, { parallel: 'auto', segment_seconds: 2 }, { parallel: 'auto', segment_seconds: 60 }]) {
      assert.ok(body(ok).success, JSON.stringify(ok));
    }
    for (const bad of [{ parallel: 1 }, { parallel: 65 }, { parallel: 2.5 }, { parallel: 'on' }, { segment_seconds: 1.9 }, { segment_seconds: 61 }]) {
      const r = body(bad);
      assert.equal(r.success, false, JSON.stringify(bad));
      assert.match(describeZodError(r.error!), new RegExp(`parameters\\.${Object.keys(bad)[0]}`));
    }
  });

  it('resolution: off is absent, auto takes the default length, N for an RTMP output or the live queue is refused', () => {
    assert.equal(resolve({}).segmenting, undefined);
    assert.equal(resolve({ parallel: 'off' }).segmenting, undefined);
    assert.deepEqual(resolve({ parallel: 'auto' }).segmenting, { parallel: 'auto', segmentSec: 10 });
    assert.deepEqual(resolve({ parallel: 'auto', segment_seconds: 4 }).segmenting, { parallel: 'auto', segmentSec: 4 });
    assert.deepEqual(resolve({ parallel: 3 }).segmenting, { parallel: 3, segmentSec: 10 });
    assert.throws(() => resolve({ parallel: 3, output_mode: 'rtmp', rtmp_url: 'rtmp://h/live/k' }), /parameters\.parallel: cannot split this job: an RTMP output is one live stream/);
    assert.throws(() => resolve({ parallel: 3 }, { queue: 'live' }), /parameters\.parallel: cannot split this job: a job of the live queue/);
    // segment_seconds is auto's: with a number or off it is ignored, not refused (the schema allows it)
    assert.deepEqual(resolve({ parallel: 3, segment_seconds: 5 }).segmenting, { parallel: 3, segmentSec: 10 });
    assert.equal(resolve({ parallel: 'off', segment_seconds: 5 }).segmenting, undefined);
    // auto on a job that can never be split is accepted: it simply is not split
    assert.deepEqual(resolve({ parallel: 'auto', output_mode: 'rtmp', rtmp_url: 'rtmp://h/live/k' }).segmenting, { parallel: 'auto', segmentSec: 10 });
  });
});

describe('a split job in the view', () => {
  const seg = (index: number, over: Partial<SegmentView> = {}): SegmentView => ({ index, start_seconds: index * 10, duration_seconds: 10, status: 'queued', node_id: null, attempts: 0, fps: null, progress: 0, ...over });
  const view = (segments: SegmentView[], progress = 0) => ({ ...initialJobView(input), status: 'running', progress, segments }) as JobView;
  const input = { id: 'j', sequenceNumber: 1, createdAt: '2026-01-01T00:00:00.000Z', request: { scenario: '240p30-h264', confidence: 'auto', engine: 'auto', queue: 'default', priority: 'medium', parameters: {} }, ...resolveJob({ scenario: '240p30-h264', confidence: 'auto', engine: 'auto', queue: 'default', priority: 'medium', parameters: {} }) } as JobWorkflowInput;

  it("progress is the whole job's (segments weighted by length), fps the running segments' sum, each segment its own heartbeat", () => {
    const v = withLiveSegments(
      view([seg(0, { status: 'completed', progress: 100, attempts: 1, node_id: 'a' }), seg(1, { status: 'running', attempts: 2, node_id: 'b' }), seg(2, { status: 'running', attempts: 1, node_id: 'a', duration_seconds: 5 }), seg(3)], 25),
      [{ segment_index: 1, progress: 50, fps: 40 }, { segment_index: 2, progress: 20, fps: 35.5 }],
    );
    assert.deepEqual(v.segments!.map((s) => [s.progress, s.fps]), [[100, null], [50, 40], [20, 35.5], [0, null]]);
    // (10 + 5 + 1) s of 35 s
    assert.equal(v.progress, 45);
    assert.equal(v.fps, 75.5);
  });

  it('never moves the progress back, and a heartbeat of a segment that is not running is not shown', () => {
    const v = withLiveSegments(view([seg(0, { status: 'completed', progress: 100 }), seg(1)], 60), [{ segment_index: 1, progress: 80, fps: 10 }]);
    assert.equal(v.progress, 60);
    assert.deepEqual(v.segments![1]!.progress, 0);
    assert.equal(v.fps, null);
  });
});

describe("the joined output's PSNR from its segments'", () => {
  it('averages the squared error by frames, as one pass over all frames does (not the dB figures)', () => {
    assert.equal(combinedPsnr([{ frames: 900, psnrDb: 38.5 }, { frames: 900, psnrDb: 38.5 }]), 38.5);
    // 30 dB and 40 dB over equal frames: MSE (1e-3 + 1e-4) / 2 of peak², 32.596 dB, not 35
    assert.equal(combinedPsnr([{ frames: 100, psnrDb: 30 }, { frames: 100, psnrDb: 40 }]), 32.596);
    // a 1-frame last segment weighs one frame
    assert.equal(combinedPsnr([{ frames: 299, psnrDb: 40 }, { frames: 1, psnrDb: 20 }]), 38.761);
    assert.equal(combinedPsnr([]), null);
  });
});

describe("the source's keyframes, as FFmpeg lists them", () => {
  it('times from decode times plus the reorder delay (MOV misaligns pts of the packets it keeps)', () => {
    // `-discard nokey` on an MP4 with B-frames, keyframes every 1.5 s at 1/15360: pts 24064 is wrong
    const listing = ['#tb 0: 1/15360', '#media_type 0: video', '0,      -1024,          0,      512,     4959, 0x00035b10', '0,      22016,      24064,      512,     5393, 0x712e747d', '0,      45056,      45568,      512,     5742, 0xb6621a53', ''].join('\n');
    assert.deepEqual(parseKeyframeList(listing), [0, 1.5, 3]);
    assert.deepEqual(parseKeyframeList('#tb 0: 1/90000\n'), []);
    assert.deepEqual(parseKeyframeList(''), []);
  });
});
