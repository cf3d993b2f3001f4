/**
 * Energy: what the most recent completed jobs used (energy and average power, with the source of
 * the figure) and power by node over the last hour (the nodes' minute points, then the page's own
 * samples: web/power.ts).
 */
import { api } from '../api.js';
import { legend, lineChart } from '../chart.js';
import { DASH, h, notice, num, time } from '../dom.js';
import { powerRead, powerSeries } from '../power.js';
import type { JobList, JobView } from '../types.js';

const RECENT = 25;
const NUMERIC = new Set(['Energy', 'Average power', 'Average fps', 'Finished']);

export async function energyPage(main: HTMLElement, signal: AbortSignal): Promise<void> {
  const chart = h('div', { class: 'power-chart' });
  const jobs = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Energy of recent jobs', tabindex: 0 });
  main.append(h('h1', {}, 'Energy'), h('section', { 'aria-label': 'Power by node' }, h('h2', {}, 'Power by node, last hour'), chart), h('section', { 'aria-label': 'Recent jobs' }, h('h2', {}, `Last ${RECENT} completed jobs`), jobs));

  const drawChart = (): void => {
    const series = powerSeries();
    chart.replaceChildren(
      series.length === 0 ? notice('info', 'No power readings yet: nodes report power with their heartbeats, and keep a point a minute for the last hour.') : legend(series),
      lineChart('Power by node', series, { unit: 'W' }),
    );
  };
  await powerRead();
  drawChart();
  const timer = window.setInterval(drawChart, 5_000);
  signal.addEventListener('abort', () => window.clearInterval(timer));

  let views: JobView[];
  try {
    const list = await api<JobList>('GET', `/jobs?status=completed&limit=${RECENT}`, undefined, signal);
    // the list carries no figures: each job's view does (the master's read cache makes these cheap)
    views = await Promise.all(list.jobs.map((j) => api<JobView>('GET', `/jobs/${j.id}`, undefined, signal)));
  } catch (err) {
    if (!signal.aborted) jobs.replaceChildren(notice('error', `Could not read the jobs: ${(err as Error).message}`));
    return;
  }
  if (views.length === 0) return void jobs.replaceChildren(notice('info', 'No completed jobs yet.'));
  const total = views.reduce((s, v) => s + (v.energy_joules ?? 0), 0);
  jobs.replaceChildren(
    h(
      'table',
      { class: 'energy' },
      h('thead', {}, h('tr', {}, ...['Job', 'Scenario', 'Node', 'Energy', 'Average power', 'Source', 'Average fps', 'Finished'].map((c) => h('th', { scope: 'col', class: NUMERIC.has(c) ? 'num' : undefined }, c)))),
      h(
        'tbody',
        {},
        ...views.map((v) =>
          h('tr', {}, h('td', {}, h('a', { href: `#/jobs/${v.id}` }, `#${v.sequence_number}`)), h('td', {}, v.scenario), h('td', {}, v.node_name ?? DASH), h('td', { class: 'num' }, v.energy_joules === null ? DASH : `${num(v.energy_joules)} J`), h('td', { class: 'num' }, v.avg_power_watts === null ? DASH : `${num(v.avg_power_watts)} W`), h('td', {}, v.power_source ?? DASH), h('td', { class: 'num' }, num(v.avg_fps)), h('td', { class: 'num' }, time(v.completed_at))),
        ),
      ),
      h('tfoot', {}, h('tr', {}, h('th', { scope: 'row', colspan: 3 }, 'Total'), h('td', { class: 'num' }, `${num(total)} J`), h('td', { colspan: 4 }))),
    ),
  );
}
