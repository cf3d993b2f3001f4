/**
 * Job sequence numbers for one front door, coalesced: while one `next` update is in flight, the
 * requests that arrive wait, and the next update asks for all of them at once. Temporal admits
 * only a few updates in flight per workflow (the rest are refused and retried with backoff), so
 * one update per request would cap POST /jobs at a few per second under concurrency; one update
 * per batch keeps it near the single-update latency. Numbers are handed out in arrival order.
 */
export class SequenceAllocator {
  private waiting: { resolve: (n: number) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = false;

  constructor(private readonly take: (count: number) => Promise<number>) {}

  next(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, 1000);
    this.inFlight = true;
    this.take(batch.length).then(
      (first) => batch.forEach((w, i) => w.resolve(first + i)),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    ).finally(() => {
      this.inFlight = false;
      this.pump();
    });
  }
}
