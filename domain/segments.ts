/**
 * Segment-parallel encoding, the pure part: whether a job is split, and where it is cut.
 *
 * The output is constant frame rate (the encoder's filter chain ends in `fps=<scenario fps>`), so
 * a cut is a frame number of the output: segment i encodes output frames [startFrame, startFrame +
 * frames) with `-ss startFrame/fps -i src -frames:v frames`, each starting with an IDR frame and a
 * closed GOP. Frame numbers add up exactly to the single-pass count, whatever the source's frame
 * rate does (a variable-frame-rate source is resampled the same way in every segment). Where the
 * source's keyframe times are known, a cut is moved to the nearest keyframe within half a segment
 * (the segment's decoder then starts at that keyframe instead of decoding from the one before);
 * where none lies that near (keyframes far apart), the cut stays at its frame count.
 *
 * Deterministic and free of Node built-ins: the workflow imports it.
 */
import type { EncodeSpec, QueueName } from './job';

/** `off`, `auto` (split when it gains), or a number of segments. */
export type ParallelChoice = 'off' | 'auto' | number;

export const SEGMENT_SECONDS = { min: 2, max: 60, default: 10 } as const;
export const PARALLEL_SEGMENTS = { min: 2, max: 64 } as const;
/** `auto` splits only when the input makes at least this many segments. */
export const AUTO_MIN_SEGMENTS = 3;

export interface SegmentSource {
  /** the range to encode, seconds from the start: the requested duration, no longer than the input */
  durationSec: number;
  /** the output frame rate */
  fps: number;
  /** the source's keyframe times in seconds, ascending, when the cut is at keyframes */
  keyframes?: readonly number[];
}

export interface Segment {
  index: number;
  /** first output frame of the segment */
  startFrame: number;
  frames: number;
  /** startFrame / fps: the seek position in the source */
  startSec: number;
  durationSec: number;
  /** where its start was put: a source keyframe, or a frame count (the first segment starts at 0) */
  cut: 'start' | 'keyframe' | 'frame';
}

/** The output frames a single pass of `durationSec` at `fps` makes: those with a time below the end. */
export function expectedFrames(durationSec: number, fps: number): number {
  if (!(durationSec > 0) || !(fps > 0)) return 0;
  // a tolerance of a microsecond so 4 s × 30 fps is 120, not 121, in floating point
  return Math.max(1, Math.ceil(durationSec * fps - 1e-6 * fps));
}

/**
 * The length of the range to encode: the request's duration, or the input's own when it is
 * shorter (a file input is never extended). The frame count of that range follows from it.
 */
export function encodedDuration(requestedSec: number, inputSec: number | null): number {
  return inputSec !== null && inputSec > 0 ? Math.min(requestedSec, inputSec) : requestedSec;
}

/**
 * The frame count of a single pass over the range: frames below the requested end, and no more
 * than the input holds (ffmpeg's fps filter makes round(input duration × fps) of a shorter input).
 */
export function singlePassFrames(requestedSec: number, inputSec: number | null, fps: number): number {
  const byRequest = expectedFrames(requestedSec, fps);
  if (inputSec === null || !(inputSec > 0) || inputSec >= requestedSec) return byRequest;
  return Math.min(byRequest, Math.max(1, Math.round(inputSec * fps)));
}

/** Target segment starts (output frames) for a plan of `count` segments, or of `segmentSec` each. */
function targetStarts(total: number, fps: number, plan: { count: number } | { segmentSec: number }): number[] {
  if ('count' in plan) {
    const n = Math.min(plan.count, total);
    return Array.from({ length: n }, (_, i) => Math.round((i * total) / n));
  }
  const step = Math.max(1, Math.round(plan.segmentSec * fps));
  const starts: number[] = [];
  for (let f = 0; f < total; f += step) starts.push(f);
  return starts;
}

/** The keyframe nearest `target` (a frame number) within `reach` frames that keeps starts increasing. */
function snapToKeyframe(target: number, reach: number, lower: number, upper: number, keyframeFrames: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const k of keyframeFrames) {
    if (k <= lower || k >= upper || Math.abs(k - target) > reach) continue;
    if (best === undefined || Math.abs(k - target) < Math.abs(best - target)) best = k;
  }
  return best;
}

/**
 * Cuts `total` output frames into segments: `count` of nearly equal length, or one every
 * `segmentSec` (the last one holds what is left, a single frame if that is what is left).
 */
export function planSegments(source: SegmentSource & { totalFrames: number }, plan: { count: number } | { segmentSec: number }): Segment[] {
  const { fps, totalFrames: total } = source;
  if (total <= 0) return [];
  const targets = targetStarts(total, fps, plan);
  const step = targets.length > 1 ? targets[1]! - targets[0]! : total;
  const keyframeFrames = (source.keyframes ?? []).map((t) => Math.round(t * fps));
  const starts: { frame: number; cut: Segment['cut'] }[] = [{ frame: 0, cut: 'start' }];
  for (let i = 1; i < targets.length; i++) {
    const target = targets[i]!;
    const lower = starts[starts.length - 1]!.frame;
    const kf = snapToKeyframe(target, Math.floor(step / 2), lower, total, keyframeFrames);
    starts.push(kf !== undefined ? { frame: kf, cut: 'keyframe' } : { frame: target, cut: 'frame' });
  }
  return starts.map((s, index) => {
    const end = index + 1 < starts.length ? starts[index + 1]!.frame : total;
    const frames = end - s.frame;
    return { index, startFrame: s.frame, frames, startSec: s.frame / fps, durationSec: frames / fps, cut: s.cut };
  });
}

/** What decides whether a job can be split at all. */
export type SplittableSpec = Pick<EncodeSpec, 'output' | 'engine'> & { queue: QueueName };

export interface SplitContext {
  parallel: ParallelChoice;
  segmentSec: number;
  /** encode task queues with a live poller (auto splits only onto live workers) */
  liveWorkers: number;
}

export type SplitDecision = { split: false; reason: string } | { split: true; plan: { count: number } | { segmentSec: number }; reason: string };

/**
 * Whether a job is split: never for an RTMP output or a live (non-file) input; N when the request
 * names N; `auto` when the range makes at least AUTO_MIN_SEGMENTS segments and workers are live.
 * The edge refuses N for a job that cannot be split (splitRefusal), so here N only meets jobs that can.
 */
export function decideSplit(spec: SplittableSpec & Pick<EncodeSpec, 'fps'>, totalFrames: number, ctx: SplitContext): SplitDecision {
  if (ctx.parallel === 'off') return { split: false, reason: 'parallel=off' };
  const refusal = splitRefusal(spec);
  if (refusal) return { split: false, reason: refusal };
  if (typeof ctx.parallel === 'number') {
    if (totalFrames < ctx.parallel) return { split: false, reason: `${totalFrames} frames cannot make ${ctx.parallel} segments` };
    return { split: true, plan: { count: ctx.parallel }, reason: `parallel=${ctx.parallel}` };
  }
  const segments = Math.ceil(totalFrames / Math.max(1, Math.round(ctx.segmentSec * spec.fps)));
  if (segments < AUTO_MIN_SEGMENTS) return { split: false, reason: `too short to gain: ${segments} segment(s) of ${ctx.segmentSec} s (auto splits from ${AUTO_MIN_SEGMENTS})` };
  if (ctx.liveWorkers < 1) return { split: false, reason: 'no live encode worker to take segments' };
  return { split: true, plan: { segmentSec: ctx.segmentSec }, reason: `auto: ${segments} segments of ${ctx.segmentSec} s` };
}

/** Why a job can never be split (undefined when it can): the API's 400 for parallel=N says it. */
export function splitRefusal(spec: SplittableSpec): string | undefined {
  if (spec.output.mode === 'rtmp') return 'an RTMP output is one live stream and is never split';
  if (spec.queue === 'live') return 'a job of the live queue is encoded as it comes, never split';
  if (spec.engine !== 'ffmpeg') return 'segments are encoded with FFmpeg only (engine=ffmpeg or auto)';
  return undefined;
}

/**
 * The encode attempt number of a segment's try, unique within the job (the worker's sessions,
 * suspend/continue and adoption are keyed by job and attempt): 100,000 per job attempt, 100 per
 * segment (at most 64), then the try (at most the job's max_retries + 1 ≤ 11).
 */
export function segmentEncodeAttempt(jobAttempt: number, index: number, tryNumber: number): number {
  return jobAttempt * 100_000 + (index + 1) * 100 + tryNumber;
}

/** The folder of a job's segment files, inside its output folder (the shared output root). */
export const SEGMENTS_DIR = 'segments';
