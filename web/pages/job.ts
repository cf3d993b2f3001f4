/**
 * One job: its figures, controls, fps/progress chart, state transitions, attempts, segments (of a
 * job split for segment-parallel encoding, when the view carries them), command line and logs, followed on GET /jobs/{id}/events while it runs. The logs are read again (GET
 * /jobs/{id}/logs) whenever the stream moves, one read at a time. A control the state machine
 * refuses (409) is news, shown as a status message, not a failure.
 */
import { api, ApiError } from '../api.js';
import { lineChart } from '../chart.js';
import { DASH, duration, h, notice, num, setText, statusBadge, time } from '../dom.js';
import { follow } from '../sse.js';
import type { JobProgress, JobView, Segment } from '../types.js';

const ACTIONS = ['pause', 'resume', 'cancel', 'retry'] as const;
/** Samples the chart keeps: at two a second, about 30 minutes. */
const MAX_SAMPLES = 3_600;

export async function jobPage(main: HTMLElement, id: string, signal: AbortSignal): Promise<void> {
  let view: JobView;
  try {
    view = await api<JobView>('GET', `/jobs/${encodeURIComponent(id)}`, undefined, signal);
  } catch (err) {
    main.append(h('h1', {}, 'Job'), notice('error', err instanceof ApiError && err.status === 404 ? `No job ${id}.` : `Could not read the job: ${(err as Error).message}`), h('p', {}, h('a', { href: '#/jobs' }, 'Back to the jobs')));
    return;
  }

  const title = h('h1', {});
  const message = h('div', { class: 'messages' });
  const figures = h('dl', { class: 'figures' });
  const energy = h('dl', { class: 'figures' });
  const chartBox = h('div', { class: 'charts' });
  const timeline = h('ol', { class: 'timeline' });
  const attempts = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Attempts', tabindex: 0 });
  const segments = h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Segments table', tabindex: 0 });
  const segmentsSection = h('section', { 'aria-label': 'Segments', hidden: true }, h('h2', {}, 'Segments'), segments);
  const command = h('pre', { class: 'command' });
  const logs = h('pre', { class: 'logs', tabindex: 0, 'aria-label': 'Logs' });
  const followLogs = h('input', { type: 'checkbox', id: 'follow-logs', checked: true });
  const samples: { at: number; progress: number; fps: number | null }[] = [];

  const controls = h('div', { class: 'controls', role: 'group', 'aria-label': 'Job controls' }, ...ACTIONS.map((a) => h('button', { type: 'button', 'data-action': a, onclick: () => void act(a) }, a[0]!.toUpperCase() + a.slice(1))));
  const section = (name: string, ...body: Node[]) => h('section', { 'aria-label': name }, h('h2', {}, name), ...body);
  main.append(
    title,
    controls,
    message,
    h('div', { class: 'columns' }, section('Now', figures), section('Energy and quality', energy)),
    section('Progress and fps over time', chartBox),
    h('div', { class: 'columns' }, section('State transitions', timeline), section('Attempts', attempts)),
    segmentsSection,
    section('Command line', command),
    section('Logs', h('div', { class: 'field inline' }, followLogs, h('label', { for: 'follow-logs' }, 'Follow the end of the logs')), logs),
  );

  const render = (): void => {
    title.replaceChildren(`Job #${view.sequence_number} · ${view.scenario} `, statusBadge(view.status));
    renderFigures(figures, view);
    renderEnergy(energy, view);
    timeline.replaceChildren(
      ...view.state_transitions.map((t) => h('li', {}, h('time', { datetime: t.at }, time(t.at)), ' ', h('strong', {}, t.from ? `${t.from} → ${t.to}` : t.to), h('span', { class: 'muted' }, ` ${t.reason}${t.attempt ? ` (attempt ${t.attempt})` : ''}`))),
    );
    renderAttempts(attempts, view);
    segmentsSection.hidden = !view.segments?.length;
    if (view.segments?.length) renderSegments(segments, view.segments);
    renderChart();
  };

  const renderChart = (): void => {
    // the attempt's run so far as the master keeps it (the view's progress_history), then what the page saw since
    const h0 = view.progress_history;
    const start = h0 ? Date.parse(h0.started_at) : 0;
    const kept = (h0?.points ?? []).map(([t, progress, fps]) => ({ at: start + t * 1000, progress, fps }));
    const after = kept.at(-1)?.at ?? -Infinity;
    const all = [...kept, ...samples.filter((x) => x.at > after)];
    const series = (pick: (s: (typeof samples)[number]) => number | null) => all.flatMap((s) => (pick(s) === null ? [] : [[s.at, pick(s)!] as const]));
    chartBox.replaceChildren(
      all.length === 0 ? notice('info', 'The chart fills in once the job runs.') : '',
      lineChart('Progress', [{ name: 'progress', points: series((s) => s.progress) }], { unit: '%', yMax: 100 }),
      lineChart('Frames per second', [{ name: 'fps', points: series((s) => s.fps) }], { unit: 'fps' }),
    );
  };

  const sample = (p: JobProgress): void => {
    samples.push({ at: Date.now(), progress: p.progress_percent, fps: p.fps });
    if (samples.length > MAX_SAMPLES) samples.shift();
  };

  // logs: one read at a time; a move during a read asks for one more after it
  let reading = false;
  let again = false;
  const readLogs = async (): Promise<void> => {
    if (reading) return void (again = true);
    reading = true;
    try {
      const { logs: text } = await api<{ logs: string }>('GET', `/jobs/${view.id}/logs`, undefined, signal);
      setText(logs, text || 'No logs yet.');
      const commands = [...text.matchAll(/^Command: (.*)$/gm)].map((m) => m[1]!);
      setText(command, commands.at(-1) ?? 'Not started yet: the command line appears once a worker runs the job.');
      if (followLogs.checked) logs.scrollTop = logs.scrollHeight;
    } catch {
      /* the next move reads again */
    } finally {
      reading = false;
      if (again && !signal.aborted) {
        again = false;
        void readLogs();
      }
    }
  };

  const refresh = async (): Promise<void> => {
    view = keepProgress(view, await api<JobView>('GET', `/jobs/${view.id}`, undefined, signal));
    render();
  };

  async function act(action: (typeof ACTIONS)[number]): Promise<void> {
    try {
      view = keepProgress(view, await api<JobView>('POST', `/jobs/${view.id}/${action}`, undefined, signal));
      message.replaceChildren(notice('info', `${action[0]!.toUpperCase()}${action.slice(1)}: done, the job is ${view.status}.`));
      render();
      if (action === 'retry') watch();
    } catch (err) {
      if (signal.aborted) return;
      const refused = err instanceof ApiError && err.status === 409;
      message.replaceChildren(refused ? notice('info', `Not now: ${err.message}`) : notice('error', `${action} failed: ${(err as Error).message}`));
    }
  }

  const watch = (): void =>
    follow(`/jobs/${view.id}/events`, {
      signal,
      onEvent: (e) => {
        const data = JSON.parse(e.data) as Record<string, unknown>;
        if (e.event === 'snapshot') view = data as unknown as JobView;
        else if (e.event === 'state' && data.view) view = keepProgress(view, data.view as JobView);
        else if (e.event === 'progress') {
          view = { ...view, ...(data as unknown as JobProgress) };
          sample(data as unknown as JobProgress);
        } else return void refresh().catch(() => undefined); // end, or a replayed state without its view
        render();
        void readLogs();
      },
      onRefused: (status, text) => message.replaceChildren(notice('error', `Live updates refused (${status}): ${text}`)),
    });

  render();
  void readLogs();
  watch();
}

/**
 * The newer view, but not a step back in the same attempt's progress: a control's answer is the
 * workflow's view, without the encoder's live figures (progress 0 while the job is at 40 %), and a
 * read just after a pause may be too. A new attempt starts again from its own figures.
 */
function keepProgress(prev: JobView, next: JobView): JobView {
  const sameAttempt = next.attempt === prev.attempt && ['assigned', 'running', 'paused'].includes(next.status);
  return sameAttempt && next.progress_percent < prev.progress_percent ? { ...next, progress: prev.progress, progress_percent: prev.progress_percent } : next;
}

function dl(el: HTMLElement, pairs: [string, Node | string][]): void {
  // the same terms each time: update the values in place, so nothing moves
  if (el.children.length !== pairs.length * 2) el.replaceChildren(...pairs.flatMap(([k]) => [h('dt', {}, k), h('dd', {})]));
  pairs.forEach(([, v], i) => {
    const dd = el.children[i * 2 + 1]!;
    if (typeof v === 'string') setText(dd, v);
    else dd.replaceChildren(v);
  });
}

function renderFigures(el: HTMLElement, v: JobView): void {
  const bar = h('progress', { max: 100, 'aria-label': 'Progress' });
  bar.value = v.status === 'completed' ? 100 : v.progress_percent;
  dl(el, [
    ['Status', v.status],
    ['Progress', h('span', { class: 'progress-cell' }, bar, h('span', { class: 'num', 'data-figure': 'progress' }, `${num(bar.value)}%`))],
    ['fps', num(v.fps)],
    ['Speed', v.speed ? `${num(v.speed, 2)}×` : DASH],
    ['ETA', duration(v.eta_seconds)],
    ['Node', v.node_name ?? v.node_id ?? DASH],
    ['Encoder', `${v.encoder} (${v.engine_used})`],
    ['Queue / priority', `${v.queue} / ${v.priority}`],
    ['Created', time(v.created_at)],
    ['Started', time(v.started_at)],
    ['Finished', time(v.completed_at)],
    ['Attempt / retries', `${v.attempt} / ${v.retry_count} of ${v.max_retries}`],
    ['Routing', v.routing ?? DASH],
    ['Error', v.error ?? DASH],
  ]);
}

function renderEnergy(el: HTMLElement, v: JobView): void {
  dl(el, [
    ['Energy', v.energy_joules === null ? DASH : `${num(v.energy_joules)} J`],
    ['Average power', v.avg_power_watts === null ? DASH : `${num(v.avg_power_watts)} W`],
    ['Power source', v.power_source ?? DASH],
    ['PSNR', v.psnr_db === null ? DASH : `${num(v.psnr_db, 2)} dB`],
    ['SSIM', num(v.ssim, 4)],
    ['Average fps', num(v.avg_fps)],
    ['CPU time', v.cpu_seconds === null ? DASH : `${num(v.cpu_seconds)} s`],
    ['Output', v.output?.path ?? v.output?.url ?? DASH],
  ]);
}

function renderAttempts(el: HTMLElement, v: JobView): void {
  if (v.attempts.length === 0) return el.replaceChildren(notice('info', 'No attempt yet: the job waits for a worker.'));
  el.replaceChildren(
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...['#', 'Node', 'Encoder', 'Queue', 'Started', 'Finished', 'Outcome'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...v.attempts.map((a) => h('tr', {}, h('td', {}, a.attempt), h('td', {}, a.node_name ?? a.node_id ?? DASH), h('td', {}, a.encoder), h('td', {}, a.task_queue), h('td', {}, time(a.started_at)), h('td', {}, time(a.finished_at)), h('td', {}, a.outcome ?? 'in progress', a.error ? h('div', { class: 'muted' }, a.error) : '')))),
    ),
  );
}

/** A split job's segments, one row each, in order: where each lies in the input, its state, node, attempts and figures. */
function renderSegments(el: HTMLElement, segs: readonly Segment[]): void {
  const cols: [string, boolean][] = [['#', true], ['Start', true], ['Length', true], ['Status', false], ['Progress', false], ['fps', true], ['Node', false], ['Attempts', true]];
  const done = segs.filter((s) => s.status === 'completed').length;
  el.replaceChildren(
    h(
      'table',
      { class: 'segments' },
      h('caption', { class: 'muted' }, `${segs.length} segments, ${done} completed`),
      h('thead', {}, h('tr', {}, ...cols.map(([c, n]) => h('th', { scope: 'col', class: n ? 'num' : undefined }, c)))),
      h(
        'tbody',
        {},
        ...[...segs]
          .sort((a, b) => a.index - b.index)
          .map((s) => {
            const percent = s.status === 'completed' ? 100 : s.progress;
            const bar = h('progress', { max: 100, 'aria-label': `Segment ${s.index} progress` });
            bar.value = percent;
            return h(
              'tr',
              { 'data-segment': s.index },
              h('td', { class: 'num' }, String(s.index)),
              h('td', { class: 'num' }, duration(s.start_seconds)),
              h('td', { class: 'num' }, duration(s.duration_seconds)),
              h('td', {}, statusBadge(s.status)),
              h('td', {}, h('div', { class: 'progress-cell' }, bar, h('span', { class: 'num' }, `${num(percent)}%`))),
              h('td', { class: 'num' }, num(s.fps)),
              h('td', { class: 'ellipsis' }, s.node_id ?? DASH),
              h('td', { class: 'num' }, String(s.attempts)),
            );
          }),
      ),
    ),
  );
}
