/**
 * Job sequence numbers for one front door, from the durable counter workflow:
 *   - coalesced: while one `next` update is in flight, the requests that arrive wait, and the
 *     next update asks for all of them at once (Temporal admits only a few updates in flight per
 *     workflow; one per request would cap POST /jobs at a few per second);
 *   - prefetched as far as the load asks: each update also takes as many numbers as arrived
 *     during the previous one, so under steady load a create finds its number here and never
 *     waits a round trip for it (that wait, before its start, held POST /jobs at 60% of the
 *     engine's start rate at 32 connections). At rest nothing is prefetched: no gaps.
 * Numbers are unique, and increase in arrival order on this front door; across replicas they
 * follow creation order to within one round trip of the counter. A crash loses at most the
 * numbers prefetched in the last round (a gap, never a duplicate).
 */
export class SequenceAllocator {
  private waiting: { resolve: (n: number) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = false;
  /** numbers held here, in order: ranges [from, to) */
  private readonly held: [number, number][] = [];
  /** requests that arrived during the update in flight (the demand of one round trip) */
  private arrived = 0;
  private demand = 0;

  constructor(
    private readonly take: (count: number) => Promise<number>,
    private readonly maxTake = 1000,
  ) {}

  private get heldCount(): number {
    return this.held.reduce((n, [from, to]) => n + (to - from), 0);
  }

  private takeHeld(): number | undefined {
    const r = this.held[0];
    if (!r) return undefined;
    const n = r[0]++;
    if (r[0] >= r[1]) this.held.shift();
    return n;
  }

  next(): Promise<number> {
    if (this.inFlight) this.arrived++;
    const n = this.waiting.length === 0 ? this.takeHeld() : undefined;
    if (n !== undefined) {
      this.pump();
      return Promise.resolve(n);
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight) return;
    // fetch for whoever waits, and top up to what the last round showed the load needs
    const want = this.waiting.length + Math.max(0, this.demand - this.heldCount);
    if (want === 0) return;
    const count = Math.min(this.maxTake, want);
    this.inFlight = true;
    this.arrived = 0;
    this.take(count).then(
      (first) => {
        this.held.push([first, first + count]);
        while (this.waiting.length > 0) {
          const n = this.takeHeld();
          if (n === undefined) break;
          this.waiting.shift()!.resolve(n);
        }
      },
      (err: unknown) => {
        for (const w of this.waiting.splice(0, count)) w.reject(err);
      },
    ).finally(() => {
      this.demand = this.arrived;
      this.inFlight = false;
      this.pump();
    });
  }
}
