/**
 * A job's views as they change, for the followers (`jobs watch`, `submit --wait`, `logs --follow`):
 * from the master's event stream (GET /jobs/{id}/events) where the transport has one, polled where
 * it has not (--via temporal) or the master refuses a stream (an older master, a rate limit). A
 * dropped stream reconnects with Last-Event-ID; after three failed tries in a row it polls instead.
 * The last view is always read afresh once the job has ended, so the outcome is the job's own.
 */
import type { JobView } from '../domain/job';
import { isTerminal, type JobStatus } from '../domain/states';
import { StreamRefused, type StreamEvent } from '../lib/http-client';
import type { MasterApi } from './client';
import { politely, sleep } from './polling';

/** The fields a progress event carries (domain/api-schemas.ts ProgressWire) that the view takes. */
type ProgressFields = Pick<JobView, 'status' | 'progress' | 'fps' | 'speed' | 'eta_seconds' | 'node_id'>;

const RECONNECT_TRIES = 3;

/** Applies one event to the view so far; `end` is answered by the caller. */
function applyEvent(view: JobView | undefined, e: StreamEvent): JobView | undefined {
  if (e.event === 'snapshot') return e.data as JobView;
  if (!view) return undefined;
  if (e.event === 'state') {
    // a live transition carries the view; one replayed after a reconnect only its status
    const d = e.data as { status: JobStatus; view?: JobView };
    return d.view ?? { ...view, status: d.status };
  }
  if (e.event === 'progress') {
    const { status, progress, fps, speed, eta_seconds, node_id } = e.data as ProgressFields;
    return { ...view, status, progress, fps, speed, eta_seconds, node_id };
  }
  return view;
}

/** Views from the stream until the job ends (true), or false when the stream cannot be had. */
async function* streamed(api: MasterApi, id: string, retryMs: number): AsyncGenerator<JobView, boolean> {
  let view: JobView | undefined;
  let lastEventId: string | undefined;
  let failures = 0;
  while (failures < RECONNECT_TRIES) {
    const events = api.jobEvents(id, lastEventId);
    if (!events) return false;
    try {
      for await (const e of events) {
        failures = 0;
        if (e.id !== undefined) lastEventId = e.id;
        if (e.event === 'end') return true;
        const next = applyEvent(view, e);
        if (next && next !== view) yield (view = next);
      }
    } catch (err) {
      if (err instanceof StreamRefused) return false;
    }
    // the stream ended without the job ending (a master restart, a proxy's timeout): again
    failures++;
    await sleep(retryMs);
  }
  return false;
}

/** Every view of the job as it changes, ending with its final view (read afresh). */
export async function* jobViews(api: MasterApi, id: string, intervalMs: number): AsyncGenerator<JobView> {
  const stream = streamed(api, id, Math.min(intervalMs, 1_000));
  for (;;) {
    const r = await stream.next();
    if (r.done) {
      if (r.value) {
        yield await politely(() => api.getJob(id));
        return;
      }
      break;
    }
    yield r.value;
  }
  for (;;) {
    const view = await politely(() => api.getJob(id));
    yield view;
    if (isTerminal(view.status)) return;
    await sleep(intervalMs);
  }
}
