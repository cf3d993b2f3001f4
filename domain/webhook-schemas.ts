/**
 * Answer schemas of the webhook routes, for the OpenAPI document; the types the code answers with
 * (domain/webhooks.ts) are checked against them at compile time (bottom).
 */
import { z } from 'zod';
import { QUEUES } from './job';
import type { DeliveryRecord, WebhookSubscription } from './webhooks';

const time = () => z.iso.datetime();

export const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  queues: z.array(z.enum(QUEUES)),
  scenarios: z.array(z.string()),
  description: z.string().nullable(),
  created_at: time(),
  secret_version: z.number().int().describe('the secret\'s generation: each rotation adds one'),
  previous_secret: z.object({ version: z.number().int(), valid_until: time() }).nullable().describe('the secret before the last rotation: deliveries carry its signature too until valid_until'),
});

export const webhookWithSecretSchema = webhookSchema.extend({
  secret: z.string().describe('the signing secret (whsec_…), shown in this answer only: keep it'),
});

export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema), count: z.number().int() });

const attemptSchema = z.object({
  at: time(),
  status_code: z.number().int().nullable(),
  latency_ms: z.number().nullable(),
  error: z.string().nullable(),
});

export const deliverySchema = z.object({
  target: z.string().describe('the subscription id, or "job" for the job\'s own webhook_url'),
  job_id: z.string(),
  event_id: z.string().describe('the webhook-id header of every attempt'),
  event_type: z.string(),
  status: z.enum(['pending', 'delivered', 'failed', 'canceled']),
  attempts: z.array(attemptSchema),
  next_attempt_at: time().nullable(),
  finished_at: time().nullable(),
  error: z.string().nullable(),
});

export const deliveryListSchema = z.object({ deliveries: z.array(deliverySchema), count: z.number().int() });
export const jobDeliveriesSchema = z.object({ job_id: z.string(), deliveries: z.array(deliverySchema), count: z.number().int() });

export const webhookTestSchema = z.object({
  event_id: z.string(),
  delivered: z.boolean(),
  attempt: attemptSchema,
});

// compile-time agreement between what the code answers with and what the document says
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _subscription: Same<Omit<z.infer<typeof webhookSchema>, 'queues'>, Omit<WebhookSubscription, 'queues'>> = true;
const _delivery: Same<z.infer<typeof deliverySchema>, DeliveryRecord> = true;
void _subscription;
void _delivery;
