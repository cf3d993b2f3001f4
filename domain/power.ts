/**
 * Where a power figure comes from, and a node's power over the last hour. A reading names its
 * source (`rapl`: CPU energy counters; `nvidia-smi`: NVIDIA GPUs; `estimate`: CPU time × watts per
 * busy thread, where no sensor exists); a figure summed over sources names them joined by `+`
 * (`nvidia-smi+rapl`). The history is downsampled where it is kept (the node's entity workflow):
 * one point a minute, the mean of that minute's heartbeats, the last hour only — bounded, so the
 * entity's state and its continue-as-new input stay small.
 */
export const POWER_SOURCES = ['rapl', 'nvidia-smi', 'estimate'] as const;
export type PowerSource = (typeof POWER_SOURCES)[number];

/** A figure's sources as one name: the distinct sources, sorted, joined by '+'. */
export function combinedSource(sources: readonly PowerSource[]): string | null {
  const distinct = [...new Set(sources)].sort();
  return distinct.length > 0 ? distinct.join('+') : null;
}

/** `rapl`, `nvidia-smi+rapl`, …: what combinedSource can write. */
export const COMBINED_SOURCE = /^(?:rapl|nvidia-smi|estimate)(?:\+(?:rapl|nvidia-smi|estimate)){0,2}$/;

/** One minute of a node's power: the mean of the watts its heartbeats reported in that minute. */
export interface PowerPoint {
  /** the minute's start (RFC 3339, UTC) */
  at: string;
  watts: number;
  /** heartbeats averaged into it */
  heartbeats: number;
}

export const POWER_HISTORY_STEP_MS = 60_000;
/** An hour of points. */
export const POWER_HISTORY_POINTS = 60;

/**
 * The history with one more reading at `nowMs`: folded into the current minute's point (a running
 * mean), or a new point; points older than an hour dropped. Pure: the entity workflow calls it with
 * its deterministic clock.
 */
export function addPowerReading(history: readonly PowerPoint[], nowMs: number, watts: number): PowerPoint[] {
  const minute = Math.floor(nowMs / POWER_HISTORY_STEP_MS) * POWER_HISTORY_STEP_MS;
  const at = new Date(minute).toISOString();
  const oldest = minute - (POWER_HISTORY_POINTS - 1) * POWER_HISTORY_STEP_MS;
  const kept = history.filter((p) => Date.parse(p.at) >= oldest && p.at !== at);
  const current = history.find((p) => p.at === at);
  const point: PowerPoint = current
    ? // a running mean: the sum of large readings would overflow to Infinity (JSON null; the fuzzer found it)
      { at, heartbeats: current.heartbeats + 1, watts: current.watts + (watts - current.watts) / (current.heartbeats + 1) }
    : { at, heartbeats: 1, watts };
  return [...kept, point].slice(-POWER_HISTORY_POINTS);
}
