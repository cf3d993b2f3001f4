/**
 * Jobs: a page of GET /jobs (its filters and paging in the URL's hash), kept live from GET /events
 * for the same page (filters, limit, page_token), which streams the progress of every running job
 * on it. Events are applied once per animation frame, cell by cell and only where
 * a figure changed, so 200 rows of progress do not make the page fall behind; each applied event
 * is measured (performance.measure "ffrtmp:row-update", from its arrival to its row's update) for
 * anyone who wants to see the lag.
 */
import { api } from '../api.js';
import { DASH, duration, h, notice, num, setText, statusBadge, time } from '../dom.js';
import { listFilters } from '../schema.js';
import { follow, type StreamEvent } from '../sse.js';
import type { JobList, JobProgress, JobSummary } from '../types.js';

/** The User Timing name of an event's way from its arrival to its row. */
const ROW_UPDATE = 'ffrtmp:row-update';
const PAGE_SIZES = ['25', '50', '100', '200'];
/** GET /jobs's filters; the document lists the choices of the enumerated ones, the rest are text. */
const FILTERS = ['status', 'queue', 'priority', 'scenario', 'node'] as const;

interface Row {
  tr: HTMLTableRowElement;
  status: HTMLElement;
  bar: HTMLProgressElement;
  percent: HTMLElement;
  fps: HTMLElement;
  eta: HTMLElement;
  node: HTMLElement;
}

/** What events change in a row, and when the first of those it merges arrived. */
type Patch = Partial<JobProgress> & { receivedAt: number };

export async function jobsPage(main: HTMLElement, query: URLSearchParams, signal: AbortSignal): Promise<void> {
  const filters = new URLSearchParams();
  for (const f of FILTERS) if (query.get(f)) filters.set(f, query.get(f)!);
  const limit = PAGE_SIZES.includes(query.get('limit') ?? '') ? query.get('limit')! : '50';
  const pageToken = query.get('page_token');

  const live = h('p', { class: 'live', role: 'status' }, 'Connecting…');
  const wrap = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Jobs', tabindex: 0 });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  main.append(h('h1', {}, 'Jobs'), await filterForm(filters, limit), live, wrap, pager);

  const rows = new Map<string, Row>();
  const tbody = h('tbody');
  let reloadTimer: number | undefined;

  const load = async (): Promise<void> => {
    const q = new URLSearchParams(filters);
    q.set('limit', limit);
    if (pageToken) q.set('page_token', pageToken);
    let list: JobList;
    try {
      list = await api<JobList>('GET', `/jobs?${q}`, undefined, signal);
    } catch (err) {
      if (signal.aborted) return;
      wrap.replaceChildren(notice('error', `Could not list the jobs: ${(err as Error).message}`, h('button', { type: 'button', onclick: () => void load() }, 'Try again')));
      return;
    }
    const known = new Map(rows);
    rows.clear();
    tbody.replaceChildren(...list.jobs.map((j) => {
      const row = known.get(j.id) ?? makeRow(j);
      rows.set(j.id, row);
      applyPatch(row, { status: j.status, node_id: j.node_id });
      return row.tr;
    }));
    wrap.replaceChildren(list.jobs.length === 0 ? notice('info', filters.size > 0 ? 'No jobs match these filters.' : 'No jobs yet. Submit one to see it here.') : table(tbody));
    pager.replaceChildren(
      ...(pageToken ? [h('a', { href: `#/jobs?${withQuery(filters, limit)}` }, 'First page')] : []),
      ...(list.next_page_token ? [h('a', { href: `#/jobs?${withQuery(filters, limit, list.next_page_token)}` }, 'Next page')] : []),
      h('span', { class: 'muted' }, `${list.count} shown`),
    );
  };

  // a job this page does not show yet (a new one, one that moved into the filter): list again, at most once a second
  const reloadSoon = (): void => {
    if (pageToken || reloadTimer !== undefined) return;
    reloadTimer = window.setTimeout(() => {
      reloadTimer = undefined;
      void load();
    }, 1_000);
  };
  signal.addEventListener('abort', () => window.clearTimeout(reloadTimer));

  const pending = new Map<string, Patch>();
  let measured = 0;
  let frame: number | undefined;
  const flush = (): void => {
    frame = undefined;
    for (const [id, p] of pending) {
      const row = rows.get(id);
      if (!row) continue;
      applyPatch(row, p);
      performance.measure(ROW_UPDATE, { start: p.receivedAt });
      // the measures are for a look now and then, not a history: bounded
      if (++measured % 5_000 === 0) performance.clearMeasures(ROW_UPDATE);
    }
    pending.clear();
  };
  signal.addEventListener('abort', () => frame !== undefined && cancelAnimationFrame(frame));

  const onEvent = (e: StreamEvent): void => {
    const receivedAt = performance.now();
    if (e.event === 'reset') return void load();
    if (e.event !== 'state' && e.event !== 'progress') return;
    const data = JSON.parse(e.data) as Partial<JobProgress> & { id: string };
    if (!rows.has(data.id)) return reloadSoon();
    const before = pending.get(data.id);
    pending.set(data.id, { ...before, ...data, receivedAt: before?.receivedAt ?? receivedAt });
    frame ??= requestAnimationFrame(flush);
  };

  await load();
  // the stream of this very page (its filters, size and start): every row it shows is live
  follow(`/events?${withQuery(filters, limit, pageToken ?? undefined)}`, {
    signal,
    onEvent,
    onState: (state, detail) => setText(live, state === 'live' ? 'Live: updates as they happen.' : `Reconnecting… (${detail ?? ''})`),
    onRefused: (status, message) => live.replaceWith(notice('error', `Live updates refused (${status}): ${message}`)),
  });
}

function withQuery(filters: URLSearchParams, limit: string, pageToken?: string): string {
  const q = new URLSearchParams(filters);
  q.set('limit', limit);
  if (pageToken) q.set('page_token', pageToken);
  return q.toString();
}

async function filterForm(filters: URLSearchParams, limit: string): Promise<HTMLElement> {
  let choices: Map<string, string[]>;
  try {
    choices = await listFilters();
  } catch (err) {
    return notice('error', `Filters unavailable: ${(err as Error).message}`);
  }
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' });
  const select = (name: string, label: string, options: string[], value: string, any?: string) => {
    const id = `filter-${name}`;
    const s = h('select', { id, name }, ...(any ? [h('option', { value: '' }, any)] : []), ...options.map((o) => h('option', { value: o, selected: o === value }, o)));
    form.append(h('div', { class: 'field' }, h('label', { for: id }, label), s));
  };
  for (const f of FILTERS) {
    const label = f[0]!.toUpperCase() + f.slice(1);
    const options = choices.get(f);
    if (options) select(f, label, options, filters.get(f) ?? '', 'any');
    else form.append(h('div', { class: 'field' }, h('label', { for: `filter-${f}` }, label), h('input', { id: `filter-${f}`, name: f, type: 'search', value: filters.get(f) ?? '', placeholder: 'any' })));
  }
  select('limit', 'Rows per page', PAGE_SIZES, limit);
  form.addEventListener('change', () => {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v) q.set(k, v);
    location.hash = `#/jobs?${q}`;
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  return form;
}

function table(tbody: HTMLTableSectionElement): HTMLTableElement {
  const cols: [string, string][] = [['Job', 'c-seq'], ['Scenario', 'c-scenario'], ['Status', 'c-status'], ['Progress', 'c-progress'], ['fps', 'c-num'], ['ETA', 'c-num'], ['Node', 'c-node'], ['Queue / priority', 'c-queue'], ['Created', 'c-time']];
  const numeric = (c: string) => c === 'c-num' || c === 'c-time';
  return h('table', { class: 'jobs' }, h('colgroup', {}, ...cols.map(([, c]) => h('col', { class: c }))), h('thead', {}, h('tr', {}, ...cols.map(([name, c]) => h('th', { scope: 'col', class: numeric(c) ? 'num' : undefined }, name)))), tbody);
}

function makeRow(j: JobSummary): Row {
  const status = statusBadge(j.status);
  const bar = h('progress', { max: 100, value: 0, 'aria-label': `Job ${j.sequence_number} progress` });
  const percent = h('span', { class: 'num' }, DASH);
  const fps = h('td', { class: 'num' }, DASH);
  const eta = h('td', { class: 'num' }, DASH);
  const node = h('td', { class: 'ellipsis' }, j.node_id ?? DASH);
  const href = `#/jobs/${j.id}`;
  const tr = h(
    'tr',
    {
      'data-job-id': j.id,
      class: 'clickable',
      // the whole row opens the job; its link is the way for the keyboard
      onclick: (e: Event) => {
        if (!(e.target as Element).closest('a')) location.hash = href;
      },
    },
    h('td', {}, h('a', { href }, `#${j.sequence_number}`)),
    h('td', { class: 'ellipsis' }, j.scenario),
    h('td', {}, status),
    h('td', {}, h('div', { class: 'progress-cell' }, bar, percent)),
    fps,
    eta,
    node,
    h('td', {}, `${j.queue} / ${j.priority}`),
    h('td', { class: 'num' }, time(j.created_at)),
  );
  return { tr, status, bar, percent, fps, eta, node };
}

function applyPatch(row: Row, p: Partial<JobProgress>): void {
  if (p.status !== undefined) {
    setText(row.status, p.status);
    row.status.className = `badge s-${p.status}`;
  }
  const percent = p.status === 'completed' ? 100 : p.progress_percent;
  if (percent !== undefined) {
    row.bar.value = percent;
    setText(row.percent, `${num(percent)}%`);
  }
  if (p.fps !== undefined) setText(row.fps, num(p.fps));
  if (p.eta_seconds !== undefined) setText(row.eta, duration(p.eta_seconds));
  if (p.node_id !== undefined) setText(row.node, p.node_id ?? DASH);
}
