/**
 * The job workflow's side of webhooks: each state change becomes an event (id from the job and the
 * transition's index, the job's view as its data), handed off in order by a tiny local activity
 * that signal-with-starts the job's delivery workflow (workflows/webhook-deliveries.ts) when any
 * subscription, or the job's own webhook_url, wants it. The job never waits for a delivery: the
 * hand-off runs beside its main path and only the end of the run waits for the last hand-off.
 */
import { CancellationScope, condition, log, proxyLocalActivities } from '@temporalio/workflow';
import type { WebhookHandOffActivities } from '../domain/activities';
import { jobEventId, jobEventType, type WebhookEvent } from '../domain/webhooks';
import type { JobState } from './job-state';

const { handOffJobEvents } = proxyLocalActivities<WebhookHandOffActivities>({
  startToCloseTimeout: '10 seconds',
  // Temporal away: keep trying for minutes (the job goes on meanwhile), then log and go on
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

export interface JobNotifier {
  /** resolves once every event so far was handed off */
  drained(): Promise<void>;
}

export function notifyWebhooks(job: JobState): JobNotifier {
  const pending: WebhookEvent[] = [];
  // a manual retry carries the earlier runs' transitions: those were handed off by their run
  let next = job.input.previous?.transitions.length ?? 0;
  const capture = () => {
    const data = job.view();
    for (; next < job.transitions.length; next++) {
      const t = job.transitions[next]!;
      pending.push({ id: jobEventId(job.input.id, next), index: next, type: jobEventType(t.to), timestamp: t.at, data });
    }
  };
  capture();
  job.onTransition = capture;

  let inFlight = false;
  const { request } = job.input;
  void CancellationScope.nonCancellable(async () => {
    for (;;) {
      await condition(() => pending.length > 0);
      const events = pending.splice(0);
      inFlight = true;
      try {
        await handOffJobEvents({ jobId: job.input.id, queue: request.queue, scenario: request.scenario, webhookUrl: request.parameters.webhook_url, events });
      } catch (err) {
        log.warn(`webhook events ${events[0]!.index}..${events[events.length - 1]!.index} not handed off: ${(err as Error).message}`);
      }
      inFlight = false;
    }
  });
  return { drained: () => condition(() => pending.length === 0 && !inFlight) };
}
