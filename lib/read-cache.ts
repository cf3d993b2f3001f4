/**
 * The front door's reads of Temporal, shared and kept briefly: concurrent readers of one key share
 * one Temporal call, and its answer serves everyone for `ttlMs` (lru-cache's fetch coalesces and
 * expires). Bounded in entries, never a second database: Temporal stays the record, a write of
 * this process replaces or drops what it changed, and nothing is older than the TTL plus one call.
 */
import { LRUCache } from 'lru-cache';

export class ReadCache<V extends object> {
  private readonly lru: LRUCache<string, V, () => Promise<V>>;

  constructor(opts: { max: number; ttlMs: number }) {
    this.lru = new LRUCache<string, V, () => Promise<V>>({
      max: opts.max,
      ttl: opts.ttlMs,
      // an answer past its TTL is of no use to anyone: drop it then, rather than hold `max` stale
      // views until newer ones push them out (a master that created 10,000 jobs kept 2,000 views)
      ttlAutopurge: true,
      // the loader travels with the request: each key is read its own way
      fetchMethod: (_key, _stale, { context }) => context(),
    });
  }

  /** The value of `key`: kept, in flight (joined), or loaded now. A failed load is not kept. */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const v = await this.lru.fetch(key, { context: load });
    if (v === undefined) throw new Error(`read of ${key} gave nothing`);
    return v;
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
