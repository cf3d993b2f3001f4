/**
 * Webhooks: the model shared by the API, the workflows and the delivery activity. A subscription
 * names a URL and the job events it wants; each state change of a job is one event (`job.<status>`,
 * the job's view as its data), with an id derived from the job and the transition's index, so a
 * replayed or repeated hand-off keeps the same `webhook-id`. Pure, safe in the workflow sandbox;
 * secrets are never here (lib/webhook-secrets.ts derives them where they are used).
 */
import type { JobView } from './job';
import { JOB_STATUSES, type JobStatus } from './states';

/** The one subscription registry (an entity workflow) and the per-job delivery workflows. */
export const WEBHOOK_REGISTRY_WORKFLOW_ID = 'ffrtmp-webhooks';
export const WEBHOOK_DELIVERIES_PREFIX = 'webhooks-job-';
export const webhookDeliveriesWorkflowId = (jobId: string): string => WEBHOOK_DELIVERIES_PREFIX + jobId;

/** Deliveries run here: only masters poll it (they hold the settings and the secret key). */
export const WEBHOOK_QUEUE = 'ffrtmp-webhook-deliveries';

export const JOB_EVENT_TYPES = JOB_STATUSES.map((s) => `job.${s}` as const);
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];
/** What `POST /webhooks/{id}/test` sends. */
export const TEST_EVENT_TYPE = 'webhook.test';

export const jobEventType = (status: JobStatus): JobEventType => `job.${status}`;
/** The event of a job's transition number `index` (0-based, counted over every run of the job). */
export const jobEventId = (jobId: string, index: number): string => `msg_${jobId}_${index}`;

/** The target of a job's own `parameters.webhook_url` (beside subscription ids). */
export const JOB_URL_TARGET = 'job';

export interface WebhookSubscription {
  id: string;
  url: string;
  /** job event types, or ['*'] for all */
  events: string[];
  /** only jobs of these queues / scenarios (empty: any) */
  queues: string[];
  scenarios: string[];
  description: string | null;
  created_at: string;
  /** the secret's generation (the secret itself is derived, never stored: lib/webhook-secrets.ts) */
  secret_version: number;
  /** the generation before the last rotation, and until when deliveries are signed with it too */
  previous_secret: { version: number; valid_until: string } | null;
}

export interface WebhookEvent {
  id: string;
  /** index of the job's transition */
  index: number;
  type: string;
  /** when the change happened */
  timestamp: string;
  data: JobView | Record<string, unknown>;
}

/** What a receiver gets as the body: the spec's recommended envelope. */
export function eventBody(e: Pick<WebhookEvent, 'type' | 'timestamp' | 'data'>): string {
  return JSON.stringify({ type: e.type, timestamp: e.timestamp, data: e.data });
}

/** Whether a subscription wants an event of this type about a job of this queue and scenario. */
export function wants(sub: Pick<WebhookSubscription, 'events' | 'queues' | 'scenarios'>, type: string, job: { queue: string; scenario: string }): boolean {
  if (!sub.events.includes('*') && !sub.events.includes(type)) return false;
  if (sub.queues.length > 0 && !sub.queues.includes(job.queue)) return false;
  if (sub.scenarios.length > 0 && !sub.scenarios.includes(job.scenario)) return false;
  return true;
}

/** How deliveries retry: the delivering master's settings (each attempt's answer carries them). */
export interface DeliveryPolicy {
  backoffMs: number;
  backoffMaxMs: number;
  /** a delivery not done this long after its first attempt is marked failed */
  giveUpMs: number;
  /** one attempt's limit (connect, send, answer) */
  attemptTimeoutMs: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = { backoffMs: 5_000, backoffMaxMs: 3_600_000, giveUpMs: 86_400_000, attemptTimeoutMs: 10_000 };

export function deliveryBackoffMs(policy: DeliveryPolicy, failedAttempts: number): number {
  return Math.min(policy.backoffMaxMs, policy.backoffMs * 2 ** Math.max(0, failedAttempts - 1));
}

/** One attempt as recorded: time, HTTP status, latency, error. */
export interface DeliveryAttempt {
  at: string;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
}

/**
 * delivered: a 2xx; retry: anything else that may pass later; refused: the URL resolves where
 * deliveries may not go (not retried); gone: the subscription was deleted.
 */
export type AttemptOutcome = 'delivered' | 'retry' | 'refused' | 'gone';

export interface AttemptResult {
  outcome: AttemptOutcome;
  attempt: DeliveryAttempt;
  policy: DeliveryPolicy;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'canceled';

export interface DeliveryRecord {
  /** the subscription id, or JOB_URL_TARGET */
  target: string;
  job_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  next_attempt_at: string | null;
  finished_at: string | null;
  error: string | null;
}

export interface DeliverRequest {
  /** a subscription id, or JOB_URL_TARGET (the URL is the job's parameters.webhook_url) */
  target: string;
  event: WebhookEvent;
}

/** Events the job workflow hands off: each with the targets that want it. */
export interface JobEventsBatch {
  events: (WebhookEvent & { targets: string[] })[];
}

export interface HandOffRequest {
  jobId: string;
  queue: string;
  scenario: string;
  webhookUrl?: string;
  events: WebhookEvent[];
}

export interface WebhookDeliveriesInput {
  jobId: string;
  /** a re-send after the workflow closed: what the earlier run knew */
  carried?: { deliveries: DeliveryRecord[]; events: WebhookEvent[] };
}
