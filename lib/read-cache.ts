/**
 * The front door's reads of Temporal, shared and kept briefly: concurrent readers of one key share
 * one Temporal call, and its answer serves everyone for `ttlMs` (lru-cache's fetch coalesces and
 * expires). Bounded in entries, never a second database: Temporal stays the record, a write of
 * this process replaces or drops what it changed, and nothing is older than the TTL plus one call.
 */
import { LRUCache } from 'lru-cache';

/** A load's own failure, told apart from lru-cache aborting a read in flight (a write replaced it). */
class LoadFailed extends Error {
  constructor(readonly failure: unknown) {
    super('load failed');
  }
}

export class ReadCache<V extends object> {
  private readonly lru: LRUCache<string, V, () => Promise<V>>;

  constructor(opts: { max: number; ttlMs: number }) {
    this.lru = new LRUCache<string, V, () => Promise<V>>({
      max: opts.max,
      ttl: opts.ttlMs,
      // the loader travels with the request: each key is read its own way
      fetchMethod: (_key, _stale, { context }) =>
        context().catch((err: unknown) => {
          throw new LoadFailed(err);
        }),
    });
  }

  /**
   * The value of `key`: kept, in flight (joined), or loaded now. A failed load is not kept. A
   * write of this process during the read (set, delete) aborts it: the reader gets what was written,
   * or reads again (that abort had answered 500: GET /jobs/{id}/webhooks beside a retry, fuzzed).
   */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    for (let tries = 0; ; tries++) {
      try {
        const v = await this.lru.fetch(key, { context: load });
        if (v === undefined) throw new Error(`read of ${key} gave nothing`);
        return v;
      } catch (err) {
        if (err instanceof LoadFailed) throw err.failure;
        const written = this.lru.peek(key);
        if (written !== undefined) return written;
        if (tries >= 2) throw err;
      }
    }
  }

  /** What this process just wrote: readers see it at once. */
  set(key: string, value: V): void {
    this.lru.set(key, value);
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }
}
