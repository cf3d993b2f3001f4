/**
 * The encode sessions on this worker, by job and attempt: the node's control activities suspend
 * and continue them, the agent kills them on shutdown, and the workflow can adopt one
 * (`adoptAttempt`) when Temporal lost sight of its encode activity — an outage, a heartbeat or a
 * completion that did not get through — rather than encode again:
 *   - a running session nobody follows any more waits `graceMs` to be adopted, then is canceled;
 *   - a finished session keeps its result for `lingerMs`, then its staged output (if the workflow
 *     never published it) is removed and the session forgotten.
 */
import type { SuspendedAt } from '../domain/activities';
import type { EncodeSession } from './encode-session';

interface Entry {
  session: EncodeSession;
  dropTimer: NodeJS.Timeout | null;
  /** finished with a staged output the workflow has not published yet */
  awaitingPublish: boolean;
}

export interface RegistryTimings {
  /** how long an unfollowed running session waits for its workflow */
  graceMs: number;
  /** how long a finished session keeps its result */
  lingerMs: number;
}

export const DEFAULT_REGISTRY_TIMINGS: RegistryTimings = { graceMs: 60_000, lingerMs: 120_000 };

export class EncoderRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly idleWaiters = new Set<() => void>();

  constructor(private readonly timings: RegistryTimings = DEFAULT_REGISTRY_TIMINGS) {}

  private static key(jobId: string, attempt: number): string {
    return `${jobId}#${attempt}`;
  }

  /** Registers a new session; once it settles it lingers, then goes. */
  add(session: EncodeSession): void {
    const entry: Entry = { session, dropTimer: null, awaitingPublish: false };
    this.entries.set(EncoderRegistry.key(session.jobId, session.attempt), entry);
    void session.result.then((r) => (entry.awaitingPublish = Boolean(r.staged)), () => undefined);
    this.lingerWhenSettled(entry);
  }

  private lingerWhenSettled(entry: Entry): void {
    void entry.session.result.catch(() => undefined).then(() => {
      if (this.current(entry) && entry.dropTimer === null) this.scheduleDrop(entry, this.timings.lingerMs);
      this.changed();
    });
  }

  /** The workflow published this attempt's output: nothing of it is waited for any more. */
  markPublished(jobId: string, attempt: number): void {
    const entry = this.entries.get(EncoderRegistry.key(jobId, attempt));
    if (entry) entry.awaitingPublish = false;
    this.changed();
  }

  /** No encoder runs and no finished attempt waits to be published: the node's queue may close. */
  get idle(): boolean {
    return [...this.entries.values()].every((e) => e.session.finished && !e.awaitingPublish);
  }

  /** Resolves true once idle, false when `timeoutMs` passed first. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.idle) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.idleWaiters.delete(check);
        resolve(ok);
      };
      const check = () => this.idle && done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(check);
    });
  }

  private changed(): void {
    for (const w of [...this.idleWaiters]) w();
  }

  private current(entry: Entry): boolean {
    return this.entries.get(EncoderRegistry.key(entry.session.jobId, entry.session.attempt)) === entry;
  }

  private scheduleDrop(entry: Entry, ms: number): void {
    if (entry.dropTimer) clearTimeout(entry.dropTimer);
    entry.dropTimer = setTimeout(() => {
      if (!this.current(entry)) return;
      this.entries.delete(EncoderRegistry.key(entry.session.jobId, entry.session.attempt));
      const s = entry.session;
      void (s.finished ? s.discard() : s.cancel('not adopted by its workflow'));
      this.changed();
    }, ms);
    entry.dropTimer.unref();
  }

  get(jobId: string, attempt: number): EncodeSession | undefined {
    return this.entries.get(EncoderRegistry.key(jobId, attempt))?.session;
  }

  /** Nobody follows this session any more (its activity is gone from Temporal's view). */
  orphan(session: EncodeSession): void {
    const entry = this.entries.get(EncoderRegistry.key(session.jobId, session.attempt));
    if (!entry || entry.session !== session) return;
    this.scheduleDrop(entry, session.finished ? this.timings.lingerMs : this.timings.graceMs);
  }

  /** The session of an attempt, taken over by a new follower (undefined when this node has none). */
  adopt(jobId: string, attempt: number): EncodeSession | undefined {
    const entry = this.entries.get(EncoderRegistry.key(jobId, attempt));
    if (!entry) return undefined;
    if (entry.dropTimer) clearTimeout(entry.dropTimer);
    entry.dropTimer = null;
    if (entry.session.finished) this.scheduleDrop(entry, this.timings.lingerMs);
    else this.lingerWhenSettled(entry);
    return entry.session;
  }

  /** Where the attempt's encoder stopped; undefined when this worker runs no such attempt. */
  suspend(jobId: string, attempt: number): SuspendedAt | undefined {
    const s = this.get(jobId, attempt);
    return s?.suspend() ? { progress: s.details().progress } : undefined;
  }

  resume(jobId: string, attempt: number): boolean {
    const s = this.get(jobId, attempt);
    return s ? s.resume() : false;
  }

  /** Encodes still running (finished sessions kept for adoption do not count). */
  get size(): number {
    return [...this.entries.values()].filter((e) => !e.session.finished).length;
  }

  /** Kill every encoder (worker shutdown); the parent-death signal covers the cases this cannot. */
  async killAll(reason = 'the worker is stopping'): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.session.kill(reason)));
  }
}
