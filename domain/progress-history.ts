/**
 * A job attempt's progress and fps over its run, kept small where it naturally lives: the encode
 * activity's heartbeat details while it runs (the master reads them with the pending activity)
 * and the attempt's result once it is done (so the workflow's state and the view keep it). At
 * most PROGRESS_HISTORY_POINTS points: a point per `step_seconds`, and when the series is full
 * every other point goes and the step doubles — a run of any length fits, evenly spaced.
 */
export interface ProgressHistory {
  /** when the attempt started (RFC 3339) */
  started_at: string;
  /** seconds between points (1, 2, 4, …: doubles each time the series fills) */
  step_seconds: number;
  /** [seconds since started_at, percent done, fps (null before the encoder reports one)] */
  points: [number, number, number | null][];
}

export const PROGRESS_HISTORY_POINTS = 120;
const FIRST_STEP_SECONDS = 1;

export function newProgressHistory(startedAt: Date): ProgressHistory {
  return { started_at: startedAt.toISOString(), step_seconds: FIRST_STEP_SECONDS, points: [] };
}

const tenth = (n: number) => Math.round(n * 10) / 10;

/**
 * The series with a reading `seconds` after its start: taken when a step has passed since the
 * last point (or `final`, the attempt's last figure); thinned to half when it overflows.
 */
export function addProgressPoint(h: ProgressHistory, seconds: number, progress: number, fps: number | null, final = false): ProgressHistory {
  const last = h.points.at(-1);
  if (!final && last && seconds - last[0] < h.step_seconds) return h;
  let points = [...h.points, [tenth(seconds), tenth(progress), fps === null ? null : tenth(fps)] as [number, number, number | null]];
  let step = h.step_seconds;
  while (points.length > PROGRESS_HISTORY_POINTS) {
    // keep the first, every other one after it, and always the newest
    const newest = points.at(-1)!;
    points = points.filter((_, i) => i % 2 === 0);
    if (points.at(-1) !== newest) points.push(newest);
    step *= 2;
  }
  return { ...h, step_seconds: step, points };
}
