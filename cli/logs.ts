/**
 * `jobs logs --follow`: the logs endpoint returns the whole text each time — every attempt, plus
 * the running attempt's live stderr tail, which slides, may vanish for a moment, and is replaced by
 * the attempt's full log when it ends. Following prints each line of the text the first time it
 * appears there: a line that occurs n times is printed up to n times in all, never more, whatever
 * the order in which the texts show it.
 */
import type { JobLogs, MasterApi } from './client';
import { politely, sleep } from './polling';
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
 * Prints the logs, then new lines as they come, until the job ends. The job is read before its
 * logs, so the last logs are fetched after the job was seen ended and are complete.
 */
export async function followLogs(api: MasterApi, id: string, print: (line: string) => void, intervalMs: number): Promise<JobLogs> {
  const follower = new LogFollower();
  for (;;) {
    const view = await politely(() => api.getJob(id));
    const logs = await politely(() => api.jobLogs(id));
    for (const line of follower.next(logs.logs)) print(line);
    if (isTerminal(view.status)) return logs;
    await sleep(intervalMs);
  }
}
