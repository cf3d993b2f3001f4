/**
 * Polling with a deadline: how the tests and the benchmarks wait for something (never a sleep as
 * synchronisation). A probe that throws is asked again; the last error is named on timeout.
 */
import type { JobView } from '../domain/job';

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const suffix = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Polls a job's view until `done` holds; `read` answers undefined while the job cannot be read. */
export function waitForJob(
  what: string,
  read: () => Promise<JobView | undefined>,
  done: (v: JobView) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<JobView> {
  return waitFor<JobView>(what, async () => {
    const v = await read();
    return v && done(v) ? v : undefined;
  }, opts);
}
