/**
 * Power by node over the last hour. Each node's entity keeps a point a minute of its heartbeats'
 * power (the node view's power_history, domain/power.ts), so a page opened just now draws the last
 * hour at once; after the last of those points (the minute under way) the page adds what it samples
 * itself (GET /nodes every 5 s, each node's load.power_watts).
 */
import { api } from './api.js';
import type { Series } from './chart.js';
import type { NodeList, NodeView } from './types.js';

const EVERY_MS = 5_000;
const KEEP_MS = 60 * 60 * 1000;

/** per node name: its history from the master, and the page's own samples since */
const nodes = new Map<string, { history: [number, number][]; samples: [number, number][] }>();
let timer: number | undefined;

function historyOf(n: NodeView): [number, number][] {
  // a point stands for its minute, drawn at the minute's start
  return (n.power_history ?? []).map((p) => [Date.parse(p.at), p.watts]);
}

async function sample(): Promise<void> {
  const list = await api<NodeList>('GET', '/nodes');
  const now = Date.now();
  for (const n of list.nodes) {
    const entry = nodes.get(n.name) ?? { history: [], samples: [] };
    entry.history = historyOf(n);
    const watts = n.load?.power_watts;
    if (watts !== null && watts !== undefined) entry.samples.push([now, watts]);
    // the page's own samples go on from the node's last minute point (the minute under way)
    const since = Math.max(now - KEEP_MS, entry.history.at(-1)?.[0] ?? 0);
    entry.samples = entry.samples.filter((p) => p[0] >= since);
    if (entry.history.length + entry.samples.length > 0) nodes.set(n.name, entry);
  }
}

let first: Promise<void> | undefined;

/** Starts sampling (once; the page calls it when the key is known). */
export function samplePower(): void {
  if (timer !== undefined) return;
  const tick = () => sample().catch(() => undefined);
  timer = window.setInterval(() => void tick(), EVERY_MS);
  first = tick();
}

/** Resolves once the first read of the nodes is in (at once if sampling has not started). */
export function powerRead(): Promise<void> {
  return first ?? Promise.resolve();
}

export function powerSeries(): Series[] {
  const from = Date.now() - KEEP_MS;
  return [...nodes].map(([name, n]) => ({ name, points: [...n.history.filter((p) => p[0] >= from), ...n.samples] }));
}
