/**
 * `jobs logs --follow`: the logs endpoint returns the whole text each time — every attempt, plus
 * the running attempt's live stderr tail, which slides, may vanish for a moment, and is replaced by
 * the attempt's full log when it ends. Following prints each line of the text the first time it
 * appears there: a line that occurs n times is printed up to n times in all, never more, whatever
 * the order in which the texts show it.
 */
import type { JobLogs, MasterApi } from './client';
import { jobViews } from './job-stream';
import { politely } from './polling';
import { isTerminal } from '../domain/states';

export class LogFollower {
  /** how many times each line has been printed */
  private readonly printed = new Map<string, number>();

  /** The lines of `text` not printed yet, in their order in the text. */
  next(text: string): string[] {
    const seen = new Map<string, number>();
    const fresh: string[] = [];
    for (const line of text === '' ? [] : text.split('\n')) {
      const n = (seen.get(line) ?? 0) + 1;
      seen.set(line, n);
      if (n > (this.printed.get(line) ?? 0)) {
        this.printed.set(line, n);
        fresh.push(line);
      }
    }
    return fresh;
  }
}


/**
 * Prints the logs, then new lines as they come, until the job ends: the logs are read again when
 * the job's stream (or poll) shows it moved, at most every intervalMs, and once more after it ended,
 * so the last logs are complete.
 */
export async function followLogs(api: MasterApi, id: string, print: (line: string) => void, intervalMs: number): Promise<JobLogs> {
  const follower = new LogFollower();
  let readAt = -Infinity;
  let logs: JobLogs | undefined;
  for await (const view of jobViews(api, id, intervalMs)) {
    if (!isTerminal(view.status) && Date.now() - readAt < intervalMs) continue;
    readAt = Date.now();
    logs = await politely(() => api.jobLogs(id));
    for (const line of follower.next(logs.logs)) print(line);
  }
  return logs!;
}
