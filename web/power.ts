/**
 * Power by node over the last hour, sampled in the page: GET /nodes every 5 s, each node's
 * load.power_watts (what its heartbeat reported). The master keeps no power history of its own, so
 * the chart starts when the page was opened and holds while it stays open.
 */
import { api } from './api.js';
import type { Series } from './chart.js';
import type { NodeList } from './types.js';

const EVERY_MS = 5_000;
const KEEP_MS = 60 * 60 * 1000;

const history = new Map<string, [number, number][]>();
let timer: number | undefined;

async function sample(): Promise<void> {
  const { nodes } = await api<NodeList>('GET', '/nodes');
  const now = Date.now();
  for (const n of nodes) {
    const watts = n.load?.power_watts;
    if (watts === null || watts === undefined) continue;
    const points = history.get(n.name) ?? [];
    points.push([now, watts]);
    while (points.length > 0 && points[0]![0] < now - KEEP_MS) points.shift();
    history.set(n.name, points);
  }
}

/** Starts sampling (once; the page calls it when the key is known). */
export function samplePower(): void {
  if (timer !== undefined) return;
  const tick = () => void sample().catch(() => undefined);
  tick();
  timer = window.setInterval(tick, EVERY_MS);
}

export function powerSeries(): Series[] {
  return [...history].map(([name, points]) => ({ name, points }));
}
