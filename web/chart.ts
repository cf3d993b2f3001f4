/**
 * A small line chart as inline SVG: series of (time, value) points on a shared time axis, the
 * value axis from zero to the largest value (or a fixed top). Drawn whole on each call: a few
 * hundred points at most.
 */
const SVG = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 180;
const PAD = { left: 44, right: 12, top: 10, bottom: 24 };

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function lineChart(title: string, series: readonly Series[], opts: { unit: string; yMax?: number }): SVGSVGElement {
  const all = series.flatMap((s) => s.points);
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
  const last = series.map((s) => `${s.name} ${s.points.at(-1)?.[1].toFixed(1) ?? 'no data'} ${opts.unit}`).join(', ');
  svg.append(el('title', {}, `${title}: ${all.length === 0 ? 'no data yet' : `latest ${last}`}`));
  const x0 = Math.min(...all.map((p) => p[0]));
  const x1 = Math.max(...all.map((p) => p[0]), x0 + 1);
  const top = opts.yMax ?? Math.max(1, ...all.map((p) => p[1])) * 1.1;
  const x = (t: number) => PAD.left + ((t - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  for (const f of [0, 0.5, 1]) {
    svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: y(top * f), y2: y(top * f), class: 'grid' }));
    svg.append(el('text', { x: PAD.left - 6, y: y(top * f) + 4, 'text-anchor': 'end', class: 'axis' }, (top * f).toFixed(top * f >= 10 ? 0 : 1)));
  }
  if (all.length > 0) {
    svg.append(el('text', { x: PAD.left, y: H - 6, class: 'axis' }, new Date(x0).toLocaleTimeString()));
    svg.append(el('text', { x: W - PAD.right, y: H - 6, 'text-anchor': 'end', class: 'axis' }, new Date(x1).toLocaleTimeString()));
  }
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    svg.append(el('polyline', { points: s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' '), class: `line c${i % 6}` }));
  });
  return svg;
}

/** The series' names with their line colours, for charts with more than one. */
export function legend(series: readonly Series[]): HTMLElement {
  const ul = document.createElement('ul');
  ul.className = 'legend';
  series.forEach((s, i) => {
    const li = document.createElement('li');
    li.className = `c${i % 6}`;
    li.textContent = s.name;
    ul.append(li);
  });
  return ul;
}
