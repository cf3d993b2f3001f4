/**
 * Live updates without polling: server-sent events for one job (`GET /jobs/{id}/events`) and for
 * all jobs matching the list's filters (`GET /events`). One watcher per job (or per filter set)
 * reads Temporal through the shared read cache every half second while anyone listens, and fans
 * its changes out to every subscriber: 1,000 subscribers to a job cost the Temporal calls of one.
 *
 * Job stream: `snapshot` (the view) first; then `state` (one per transition, in order), `progress`
 * (at most every 0.5 s, when it moved), `end` (the job ended; the stream closes). Event ids are
 * `<transitions seen>` for state events and `<transitions>.<n>` for progress, so a client that
 * reconnects with `Last-Event-ID` gets the transitions it missed before anything else.
 * All-jobs stream: `state` per job status change and `progress` per running job of one page of the
 * list — the page a client shows (the list's filters, `limit` up to 200 and `page_token`; without
 * them the first 200) — with ids from a counter of the watcher; a reconnect replays the last 1,000
 * events after its id, or says `reset` (list again) when its id is older than that. Every running
 * job on the page gets its progress (a dashboard's rows are all live), through the shared reads.
 */
import { jobWire, progressWire } from '../domain/api-schemas';
import type { JobView } from '../domain/job';
import { isTerminal } from '../domain/states';
import type { JobFilters, JobService, JobSummary } from '../lib/job-service';

export interface ServerEvent {
  event: string;
  id?: string;
  data: unknown;
}

/** A queue of events for one subscriber, read as an async iterable; closing it ends the stream. */
class Subscription implements AsyncIterable<ServerEvent> {
  private readonly queue: ServerEvent[] = [];
  private wake: (() => void) | undefined;
  closed = false;

  constructor(private readonly onClose: () => void) {}

  push(e: ServerEvent): void {
    if (this.closed) return;
    // a reader that cannot keep up loses intermediate progress, never a state change
    if (this.queue.length > 200) {
      const i = this.queue.findIndex((q) => q.event === 'progress');
      if (i >= 0) this.queue.splice(i, 1);
    }
    this.queue.push(e);
    this.wake?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    this.onClose();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ServerEvent> {
    try {
      for (;;) {
        while (this.queue.length > 0) yield this.queue.shift()!;
        if (this.closed) return;
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
      }
    } finally {
      this.close();
    }
  }
}

class JobWatcher {
  readonly subscribers = new Set<Subscription>();
  private last: JobView | undefined;
  private progressTick = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly id: string,
    private readonly jobs: JobService,
    private readonly intervalMs: number,
    private readonly onIdle: () => void,
  ) {}

  async subscribe(lastEventId: string | undefined): Promise<Subscription> {
    const v = this.last ?? (await this.jobs.get(this.id));
    this.last ??= v;
    const sub = new Subscription(() => {
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) this.stop();
    });
    const seen = lastEventId ? Number.parseInt(lastEventId, 10) : NaN;
    if (Number.isInteger(seen) && seen >= 0 && seen <= v.state_transitions.length) {
      // a reconnect: the transitions it missed, then on as usual
      v.state_transitions.slice(seen).forEach((t, i) => sub.push({ event: 'state', id: String(seen + i + 1), data: { ...t, job_id: v.id, status: t.to } }));
    } else {
      sub.push({ event: 'snapshot', id: String(v.state_transitions.length), data: jobWire(v) });
    }
    if (isTerminal(v.status)) {
      sub.push({ event: 'end', id: String(v.state_transitions.length), data: { id: v.id, status: v.status } });
      sub.close();
      return sub;
    }
    this.subscribers.add(sub);
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
    return sub;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.onIdle();
  }

  private broadcast(e: ServerEvent): void {
    for (const s of this.subscribers) s.push(e);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const v = await this.jobs.get(this.id);
      const before = this.last;
      this.last = v;
      const from = before?.state_transitions.length ?? 0;
      const fresh = v.state_transitions.slice(from);
      fresh.forEach((t, i) => this.broadcast({ event: 'state', id: String(from + i + 1), data: { ...t, job_id: v.id, status: t.to, view: jobWire(v) } }));
      if (fresh.length > 0) this.progressTick = 0;
      const moved = !before || before.progress !== v.progress || before.fps !== v.fps || before.status !== v.status;
      if (moved && !isTerminal(v.status)) this.broadcast({ event: 'progress', id: `${v.state_transitions.length}.${++this.progressTick}`, data: progressWire(v) });
      if (isTerminal(v.status)) {
        this.broadcast({ event: 'end', id: String(v.state_transitions.length), data: { id: v.id, status: v.status } });
        for (const s of [...this.subscribers]) s.close();
      }
    } catch {
      /* Temporal away for a moment: the next tick asks again */
    } finally {
      this.polling = false;
    }
  }
}

/** The page of the list an all-jobs stream follows: its filters, size and start. */
export interface StreamPage extends JobFilters {
  limit: number;
  page_token?: string;
}

/** The most rows an all-jobs stream follows (a page of the dashboard's table at most). */
export const STREAM_PAGE_MAX = 200;

class ListWatcher {
  readonly subscribers = new Set<Subscription>();
  private readonly recent: ServerEvent[] = [];
  private counter = 0;
  private statuses = new Map<string, string>();
  private progress = new Map<string, number>();
  private primed = false;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly page: StreamPage,
    private readonly jobs: JobService,
    private readonly intervalMs: number,
    private readonly onIdle: () => void,
  ) {}

  async subscribe(lastEventId: string | undefined): Promise<Subscription> {
    const sub = new Subscription(() => {
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
        this.onIdle();
      }
    });
    const seen = lastEventId ? Number.parseInt(lastEventId, 10) : NaN;
    if (Number.isInteger(seen)) {
      const oldest = this.recent[0] ? Number(this.recent[0].id) : this.counter + 1;
      if (seen + 1 >= oldest) for (const e of this.recent) if (Number(e.id) > seen) sub.push(e);
      else sub.push({ event: 'reset', id: String(this.counter), data: { reason: 'the stream moved on past your last event; list the jobs again' } });
    }
    this.subscribers.add(sub);
    if (!this.timer) {
      await this.poll();
      this.timer = setInterval(() => void this.poll(), this.intervalMs);
    }
    return sub;
  }

  private emit(event: string, data: unknown): void {
    const e: ServerEvent = { event, id: String(++this.counter), data };
    this.recent.push(e);
    if (this.recent.length > 1_000) this.recent.shift();
    for (const s of this.subscribers) s.push(e);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const page = await this.jobs.list(this.page, Math.min(this.page.limit, STREAM_PAGE_MAX), this.page.page_token);
      const running: JobSummary[] = [];
      for (const j of page.jobs) {
        if (this.primed && this.statuses.get(j.id) !== j.status) this.emit('state', { id: j.id, sequence_number: j.sequence_number, status: j.status, node_id: j.node_id });
        this.statuses.set(j.id, j.status);
        if (j.status === 'running') running.push(j);
      }
      this.primed = true;
      // progress of every running job on the page, through the shared reads (one per job per tick, whoever listens)
      await Promise.all(
        running.map(async (j) => {
          const v = await this.jobs.get(j.id).catch(() => undefined);
          if (!v || this.progress.get(j.id) === v.progress) return;
          this.progress.set(j.id, v.progress);
          this.emit('progress', progressWire(v));
        }),
      );
    } catch {
      /* next tick */
    } finally {
      this.polling = false;
    }
  }
}

/** The master's event streams: watchers created on first subscriber, dropped after the last. */
export class EventHub {
  private readonly jobWatchers = new Map<string, JobWatcher>();
  private readonly listWatchers = new Map<string, ListWatcher>();

  constructor(
    private readonly jobs: JobService,
    private readonly intervalMs = 500,
  ) {}

  async job(idOrSequence: string, lastEventId?: string): Promise<AsyncIterable<ServerEvent>> {
    const id = await this.jobs.resolveId(idOrSequence);
    let w = this.jobWatchers.get(id);
    if (!w) {
      w = new JobWatcher(id, this.jobs, this.intervalMs, () => this.jobWatchers.delete(id));
      this.jobWatchers.set(id, w);
    }
    return w.subscribe(lastEventId);
  }

  async all(page: StreamPage, lastEventId?: string): Promise<AsyncIterable<ServerEvent>> {
    const key = JSON.stringify([page.status, page.queue, page.priority, page.scenario, page.node, page.limit, page.page_token]);
    let w = this.listWatchers.get(key);
    if (!w) {
      w = new ListWatcher(page, this.jobs, Math.max(this.intervalMs, 1_000), () => this.listWatchers.delete(key));
      this.listWatchers.set(key, w);
    }
    return w.subscribe(lastEventId);
  }

  /** Watchers alive now (tests and metrics). */
  get watching(): number {
    return this.jobWatchers.size + this.listWatchers.size;
  }
}
