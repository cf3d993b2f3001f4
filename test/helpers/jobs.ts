/** Waiting for a job to reach a state, through the JobService or through the HTTP API. */
import type { JobView } from '../../domain/job';
import { isTerminal } from '../../domain/states';
import type { JobService } from '../../lib/job-service';
import { waitForJob } from '../../lib/wait';
import type { ApiClient } from './master';

type Reader = JobService | ApiClient;

async function read(source: Reader, id: string | number): Promise<JobView | undefined> {
  if ('create' in source) return source.get(String(id));
  const r = await source.get<JobView>(`/jobs/${id}`);
  return r.status === 200 ? r.body : undefined;
}

/** Polls the job until `done` holds (every 50 ms, so short-lived states are seen). */
export function jobWhere(source: Reader, id: string | number, done: (v: JobView) => boolean, label: string, timeoutMs = 60_000): Promise<JobView> {
  return waitForJob(`job ${id}: ${label}`, () => read(source, id), done, { timeoutMs, intervalMs: 50 });
}

export const statusIs = (...statuses: string[]) => (v: JobView) => statuses.includes(v.status);

export function jobStatus(source: Reader, id: string | number, statuses: string[], timeoutMs = 60_000): Promise<JobView> {
  return jobWhere(source, id, statusIs(...statuses), `status ${statuses.join('|')}`, timeoutMs);
}

/** Until the job ended (completed, failed, timed out or canceled). */
export function jobFinished(source: Reader, id: string | number, timeoutMs = 60_000): Promise<JobView> {
  return jobWhere(source, id, (v) => isTerminal(v.status), 'finished', timeoutMs);
}
