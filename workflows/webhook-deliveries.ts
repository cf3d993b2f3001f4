/**
 * A job's webhook deliveries (one workflow per job, id webhooks-job-<job id>), started by the job's
 * first hand-off (signal-with-start) and fed by each later one. One lane per target (a
 * subscription, or the job's own URL): a lane delivers its events in the job's order, each as an
 * activity on the masters' webhook queue, retried here with exponential backoff until it succeeds
 * or its time is up (the delivering master's settings), so every attempt is recorded with its
 * time, status code, latency and error. Lanes never wait for each other: a dead receiver delays
 * only its own. Once everything is settled it lingers a while (a manual retry of the job, a
 * re-send), then completes.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { WebhookDeliveryActivities } from '../domain/activities';
import { FAILURE } from '../domain/failures';
import { deliveriesQuery, deliveryStateQuery, jobEventsSignal, resendDeliverySignal, resendDeliveryUpdate, type ResendInput } from '../domain/messages';
import {
  DEFAULT_DELIVERY_POLICY,
  WEBHOOK_QUEUE,
  deliveryBackoffMs,
  type AttemptResult,
  type DeliveryPolicy,
  type DeliveryRecord,
  type WebhookDeliveriesInput,
  type WebhookEvent,
} from '../domain/webhooks';

/** How long a settled job's deliveries wait for more (a manual retry, a re-send) before the workflow ends. */
const LINGER_MS = 15 * 60_000;
/** Attempts kept per delivery (the first ones and the latest). */
const MAX_ATTEMPTS_KEPT = 50;
/** Beyond one attempt's own limit, before a lost attempt (its master died) counts as failed. */
const ATTEMPT_MARGIN_MS = 5_000;

export async function webhookDeliveries(input: WebhookDeliveriesInput): Promise<void> {
  const events = new Map<string, WebhookEvent>((input.carried?.events ?? []).map((e) => [e.id, e]));
  const deliveries: DeliveryRecord[] = [...(input.carried?.deliveries ?? [])];
  const lanes = new Set<string>();
  let policy: DeliveryPolicy = DEFAULT_DELIVERY_POLICY;
  let rev = 0;

  const find = ({ target, eventId }: ResendInput) => deliveries.find((d) => d.target === target && d.event_id === eventId);
  const nextPending = (target: string) => deliveries.find((d) => d.target === target && d.status === 'pending');
  const settled = () => deliveries.every((d) => d.status !== 'pending');

  const deliver = async (d: DeliveryRecord): Promise<void> => {
    const event = events.get(d.event_id)!;
    const started = Date.now();
    let failures = 0;
    for (;;) {
      const { deliverWebhook } = proxyActivities<WebhookDeliveryActivities>({
        taskQueue: WEBHOOK_QUEUE,
        startToCloseTimeout: policy.attemptTimeoutMs + ATTEMPT_MARGIN_MS,
        retry: { maximumAttempts: 1 },
      });
      let r: AttemptResult;
      try {
        r = await deliverWebhook({ target: d.target, event });
      } catch (err) {
        const why = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
        r = { outcome: 'retry', policy, attempt: { at: new Date().toISOString(), status_code: null, latency_ms: null, error: `attempt lost (${why})` } };
      }
      policy = r.policy;
      d.attempts.push(r.attempt);
      if (d.attempts.length > MAX_ATTEMPTS_KEPT) d.attempts.splice(1, 1);
      rev++;
      if (r.outcome === 'delivered') return finish(d, 'delivered', null);
      if (r.outcome === 'gone') return finish(d, 'canceled', 'the subscription was deleted');
      if (r.outcome === 'refused') return finish(d, 'failed', r.attempt.error);
      failures++;
      const wait = deliveryBackoffMs(policy, failures);
      if (Date.now() + wait - started > policy.giveUpMs) {
        return finish(d, 'failed', `gave up after ${failures} attempt(s) in ${Math.round((Date.now() - started) / 1000)} s: ${r.attempt.error ?? `status ${r.attempt.status_code}`}`);
      }
      d.next_attempt_at = new Date(Date.now() + wait).toISOString();
      await sleep(wait);
    }
  };
  const finish = (d: DeliveryRecord, status: DeliveryRecord['status'], error: string | null) => {
    d.status = status;
    d.error = error;
    d.next_attempt_at = null;
    d.finished_at = new Date().toISOString();
    rev++;
  };
  const lane = async (target: string): Promise<void> => {
    for (;;) {
      await condition(() => nextPending(target) !== undefined);
      await deliver(nextPending(target)!);
    }
  };
  const ensureLane = (target: string) => {
    if (lanes.has(target)) return;
    lanes.add(target);
    void lane(target);
  };

  setHandler(jobEventsSignal, ({ events: batch }) => {
    for (const e of batch) {
      if (events.has(e.id)) continue; // a repeated hand-off: the same event, already here
      const { targets, ...event } = e;
      events.set(e.id, event);
      for (const target of targets) {
        deliveries.push({ target, job_id: input.jobId, event_id: e.id, event_type: e.type, status: 'pending', attempts: [], next_attempt_at: null, finished_at: null, error: null });
        ensureLane(target);
      }
    }
    rev++;
  });
  const reopen = (req: ResendInput): DeliveryRecord => {
    const d = find(req)!;
    d.status = 'pending';
    d.error = null;
    d.finished_at = null;
    ensureLane(d.target);
    rev++;
    return d;
  };
  const resendable = (req: ResendInput) => {
    const d = find(req);
    if (!d) throw ApplicationFailure.create({ type: FAILURE.webhookNotFound, message: `no delivery of ${req.eventId} to ${req.target}`, nonRetryable: true });
    if (d.status === 'pending' || d.status === 'delivered') {
      throw ApplicationFailure.create({ type: FAILURE.webhookConflict, message: `the delivery of ${req.eventId} is ${d.status}: only a failed or canceled one can be re-sent`, nonRetryable: true });
    }
  };
  setHandler(resendDeliveryUpdate, reopen, { validator: resendable });
  // the signal twin starts a closed job's deliveries again (signal-with-start, state carried)
  setHandler(resendDeliverySignal, (req) => {
    const d = find(req);
    if (d && d.status !== 'pending' && d.status !== 'delivered') reopen(req);
  });
  setHandler(deliveriesQuery, () => deliveries);
  setHandler(deliveryStateQuery, () => ({ deliveries, events: [...events.values()] }));

  for (const d of deliveries) if (d.status === 'pending') ensureLane(d.target);

  for (;;) {
    await condition(settled);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof webhookDeliveries>({ jobId: input.jobId, carried: { deliveries, events: [...events.values()] } });
    }
    const seen = rev;
    if (!(await condition(() => rev !== seen, LINGER_MS))) break;
  }
  await condition(allHandlersFinished);
}
