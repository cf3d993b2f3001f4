/**
 * One segment of a split attempt inside the job workflow: what the view shows (SegmentView) plus
 * what the fan-out needs to steer it. Deterministic; no Node built-ins.
 */
import type { EncodeResult, SegmentView } from '../domain/job';
import type { Segment } from '../domain/segments';

export interface SegmentState extends SegmentView {
  node_name: string | null;
  startFrame: number;
  frames: number;
  /** the attempt number its current encode carries (segmentEncodeAttempt of its launches) */
  encodeAttempt: number;
  /** encodes launched, tries and pause hold-backs alike (each gets its own attempt number) */
  launches: number;
  /** how its current encode ended, once it did (consumed by the fan-out) */
  settled: { ok: true; value: EncodeResult } | { ok: false; error: unknown } | null;
  /** its encoder is stopped (SIGSTOP) for a pause */
  suspended: boolean;
  /** canceled for a pause before it ran: launched again on resume */
  held: boolean;
  result: EncodeResult | null;
  error: string | null;
}

export function segmentStates(plan: readonly Segment[]): SegmentState[] {
  return plan.map((p) => ({
    index: p.index,
    start_seconds: p.startSec,
    duration_seconds: p.durationSec,
    status: 'queued',
    node_id: null,
    node_name: null,
    attempts: 0,
    fps: null,
    progress: 0,
    startFrame: p.startFrame,
    frames: p.frames,
    encodeAttempt: 0,
    launches: 0,
    settled: null,
    suspended: false,
    held: false,
    result: null,
    error: null,
  }));
}
