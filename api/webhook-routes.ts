/**
 * The webhook routes (docs/API.md, Webhooks): subscriptions, their deliveries, a job's deliveries,
 * a re-send and a test event. Part of the route table (api/routes.ts), so the express app, the
 * OpenAPI document and the fuzzer see them like every other route.
 */
import type { z } from 'zod';
import { errorSchema } from '../domain/api-schemas';
import { createWebhookSchema, rotateWebhookSchema, webhookDeliveriesQuerySchema } from '../domain/schemas';
import { deliveryListSchema, deliverySchema, jobDeliveriesSchema, webhookListSchema, webhookSchema, webhookTestSchema, webhookWithSecretSchema } from '../domain/webhook-schemas';
import { ApiError } from '../lib/errors';
import type { WebhookService } from '../lib/webhook-service';
import type { RouteContext, RouteSpec } from './routes';

function webhooks(ctx: RouteContext): WebhookService {
  if (!ctx.webhooks) throw new ApiError(404, 'webhooks are managed through the master (its key derives their secrets)');
  return ctx.webhooks;
}

const ok = (description: string, schema?: z.ZodType) => ({ description, schema });
const NO_WEBHOOK = { 404: ok('no such webhook', errorSchema) };
const REFUSED = 'the URL may not receive webhooks: it does not resolve, or resolves to a loopback, private or link-local address the master does not allow (the message names the address)';

export const WEBHOOK_ROUTES: RouteSpec[] = [
  {
    method: 'post',
    path: '/webhooks',
    summary: 'Subscribe a URL to job events (the answer carries its signing secret, once)',
    tag: 'webhooks',
    auth: true,
    body: createWebhookSchema,
    responses: { 201: { ...ok('subscribed; keep the secret: no later answer shows it', webhookWithSecretSchema), linksTo: '/webhooks/:id' }, 422: ok(REFUSED, errorSchema) },
    handler: async (req, ctx) => ({ status: 201, body: await webhooks(ctx).create(req.body as z.infer<typeof createWebhookSchema>) }),
  },
  {
    method: 'get',
    path: '/webhooks',
    summary: 'List the webhook subscriptions (no secrets)',
    tag: 'webhooks',
    auth: true,
    responses: { 200: ok('the subscriptions, oldest first', webhookListSchema) },
    handler: async (_req, ctx) => {
      const list = await webhooks(ctx).list();
      return { status: 200, body: { webhooks: list, count: list.length } };
    },
  },
  {
    method: 'get',
    path: '/webhooks/:id',
    summary: 'Get a webhook subscription (no secret)',
    tag: 'webhooks',
    auth: true,
    responses: { 200: ok('the subscription', webhookSchema), ...NO_WEBHOOK },
    handler: async (req, ctx) => ({ status: 200, body: await webhooks(ctx).get(String(req.params.id)) }),
  },
  {
    method: 'delete',
    path: '/webhooks/:id',
    summary: 'Delete a webhook subscription: its pending deliveries are dropped',
    tag: 'webhooks',
    auth: true,
    responses: { 200: ok('deleted: the subscription as it was', webhookSchema), ...NO_WEBHOOK },
    handler: async (req, ctx) => ({ status: 200, body: await webhooks(ctx).remove(String(req.params.id)) }),
  },
  {
    method: 'post',
    path: '/webhooks/:id/rotate',
    summary: 'A new signing secret; deliveries carry the old one\'s signature too for the grace period',
    tag: 'webhooks',
    auth: true,
    body: rotateWebhookSchema,
    bodyOptional: true,
    responses: { 200: ok('rotated: the new secret, shown once', webhookWithSecretSchema), ...NO_WEBHOOK },
    handler: async (req, ctx) => {
      const b = req.body as z.infer<typeof rotateWebhookSchema> | undefined;
      return { status: 200, body: await webhooks(ctx).rotate(String(req.params.id), b?.grace_seconds) };
    },
  },
  {
    method: 'post',
    path: '/webhooks/:id/test',
    summary: 'Send one signed webhook.test event to the subscription now (one attempt, not retried) and tell how it went',
    tag: 'webhooks',
    auth: true,
    responses: { 200: ok('the attempt (delivered: a 2xx answer)', webhookTestSchema), ...NO_WEBHOOK },
    handler: async (req, ctx) => ({ status: 200, body: await webhooks(ctx).test(String(req.params.id)) }),
  },
  {
    method: 'get',
    path: '/webhooks/:id/deliveries',
    summary: "A subscription's deliveries, each attempt with its time, status code, latency and error, among the latest jobs with deliveries",
    tag: 'webhooks',
    auth: true,
    query: webhookDeliveriesQuerySchema,
    responses: { 200: ok('the deliveries', deliveryListSchema), ...NO_WEBHOOK },
    handler: async (req, ctx) => {
      const q = req.query as z.infer<typeof webhookDeliveriesQuerySchema>;
      const list = await webhooks(ctx).deliveries(String(req.params.id), q.jobs);
      return { status: 200, body: { deliveries: list, count: list.length } };
    },
  },
  {
    method: 'post',
    path: '/webhooks/:id/deliveries/:event_id/resend',
    summary: 'Send a failed (or canceled) delivery again: its attempts start over',
    tag: 'webhooks',
    auth: true,
    responses: {
      200: ok('queued again (status pending)', deliverySchema),
      404: ok('no such webhook or delivery', errorSchema),
      409: ok('the delivery is pending or delivered', errorSchema),
    },
    handler: async (req, ctx) => {
      const id = String(req.params.id);
      return { status: 200, body: await webhooks(ctx).resend(id, String(req.params.event_id)) };
    },
  },
  {
    method: 'get',
    path: '/jobs/:id/webhooks',
    summary: "A job's webhook deliveries (every subscription, and its own webhook_url), each attempt with its time, status code, latency and error",
    tag: 'jobs',
    auth: true,
    responses: { 200: ok("the job's deliveries, in the job's order per target", jobDeliveriesSchema), 404: ok('no such job', errorSchema) },
    handler: async (req, ctx) => {
      const job = await ctx.jobs.get(String(req.params.id));
      const list = await webhooks(ctx).jobDeliveries(job.id);
      return { status: 200, body: { job_id: job.id, deliveries: list, count: list.length } };
    },
  },
];
