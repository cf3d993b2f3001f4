/**
 * Polling the master politely: a follower (`--wait`, `watch`, `logs --follow`) that meets the rate
 * limit waits as long as Retry-After says and goes on, instead of giving up on a job that runs on.
 */
import { ApiError } from '../lib/errors';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one poll; a 429 waits out its Retry-After (at least 1 s) and asks again. */
export async function politely<T>(poll: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await poll();
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 429) throw err;
      const seconds = Math.max(1, Number(err.headers['Retry-After'] ?? 1) || 1);
      await sleep(seconds * 1000);
    }
  }
}
