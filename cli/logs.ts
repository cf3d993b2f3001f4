/**
 * `jobs logs --follow`: the logs endpoint returns the whole text each time (every attempt, plus the
 * running attempt's live stderr tail, which is replaced by its full log when it ends). Following
 * prints only the lines not printed before: the lines of the new text outside its longest common
 * subsequence with the old one.
 */
import type { JobLogs, MasterApi } from './client';
import { isTerminal } from '../domain/states';

/** Beyond this many cells the diff is skipped and the changed part printed whole. */
const MAX_DIFF_CELLS = 4_000_000;

export function unseenLines(prev: readonly string[], next: readonly string[]): string[] {
  let start = 0;
  while (start < prev.length && start < next.length && prev[start] === next[start]) start++;
  const a = prev.slice(start);
  const b = next.slice(start);
  if (a.length === 0 || b.length === 0) return b;
  if ((a.length + 1) * (b.length + 1) > MAX_DIFF_CELLS) return b;
  // lcs[i][j]: longest common subsequence of a[i..] and b[j..]
  const w = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const fresh: string[] = [];
  let i = 0;
  let j = 0;
  while (j < b.length) {
    if (i < a.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (i < a.length && lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) {
      i++;
    } else {
      fresh.push(b[j]!);
      j++;
    }
  }
  return fresh;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Prints the logs, then new lines as they come, until the job ends. The job is read before its
 * logs, so the last logs are fetched after the job was seen ended and are complete.
 */
export async function followLogs(api: MasterApi, id: string, print: (line: string) => void, intervalMs: number): Promise<JobLogs> {
  let printed: string[] = [];
  for (;;) {
    const view = await api.getJob(id);
    const logs = await api.jobLogs(id);
    const lines = logs.logs === '' ? [] : logs.logs.split('\n');
    for (const line of unseenLines(printed, lines)) print(line);
    printed = lines;
    if (isTerminal(view.status)) return logs;
    await sleep(intervalMs);
  }
}
