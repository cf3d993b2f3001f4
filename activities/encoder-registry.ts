/**
 * The encode sessions on this worker, by job and attempt: the node's control activities suspend
 * and continue them, the agent kills them on shutdown, and a session whose activity Temporal lost
 * sight of (an outage, a heartbeat that did not get through) waits here a while to be adopted by
 * the workflow (`adoptAttempt`) rather than thrown away.
 */
import type { EncodeSession } from './encode-session';

interface Entry {
  session: EncodeSession;
  /** set while nobody follows the session: it is dropped when this runs out */
  orphanTimer: NodeJS.Timeout | null;
}

export class EncoderRegistry {
  private readonly entries = new Map<string, Entry>();

  private static key(jobId: string, attempt: number): string {
    return `${jobId}#${attempt}`;
  }

  /** Registers a new session; it leaves the registry when it settles, unless it is orphaned. */
  add(session: EncodeSession): void {
    const key = EncoderRegistry.key(session.jobId, session.attempt);
    const entry: Entry = { session, orphanTimer: null };
    this.entries.set(key, entry);
    void session.result.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      if (this.entries.get(key) === entry && entry.orphanTimer === null) this.entries.delete(key);
    });
  }

  get(jobId: string, attempt: number): EncodeSession | undefined {
    return this.entries.get(EncoderRegistry.key(jobId, attempt))?.session;
  }

  /**
   * Nobody follows this session any more (its activity is gone from Temporal's view). It keeps
   * running, or keeps its result, for `graceMs`; adopted by then it goes on, otherwise it is
   * canceled (or its staged output removed) and forgotten.
   */
  orphan(session: EncodeSession, graceMs: number, onDrop: (s: EncodeSession) => Promise<void>): void {
    const key = EncoderRegistry.key(session.jobId, session.attempt);
    const entry = this.entries.get(key) ?? { session, orphanTimer: null };
    this.entries.set(key, entry);
    if (entry.orphanTimer) clearTimeout(entry.orphanTimer);
    entry.orphanTimer = setTimeout(() => {
      if (this.entries.get(key) !== entry) return;
      this.entries.delete(key);
      void onDrop(session);
    }, graceMs);
  }

  /** The session of an attempt, taken over by a new follower (undefined when this node has none). */
  adopt(jobId: string, attempt: number): EncodeSession | undefined {
    const key = EncoderRegistry.key(jobId, attempt);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.orphanTimer) clearTimeout(entry.orphanTimer);
    entry.orphanTimer = null;
    if (entry.session.finished) {
      // a finished session is handed over once, then forgotten
      this.entries.delete(key);
    } else {
      void entry.session.result.catch(() => undefined).then(() => {
        if (this.entries.get(key) === entry && entry.orphanTimer === null) this.entries.delete(key);
      });
    }
    return entry.session;
  }

  /** false when this worker runs no such attempt */
  suspend(jobId: string, attempt: number): boolean {
    const s = this.get(jobId, attempt);
    return s ? s.suspend() : false;
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
