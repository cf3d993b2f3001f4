/**
 * Webhooks on Temporal, for the master's routes: subscriptions in the registry workflow, each
 * job's deliveries in its delivery workflow. Stateless; errors are ApiErrors. Secrets are derived
 * here only to show them once (create, rotate) and to sign a test event.
 */
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE } from '../domain/failures';
import * as msg from '../domain/messages';
import { ORCHESTRATION_QUEUE } from '../domain/queues';
import type { z } from 'zod';
import type { createWebhookSchema } from '../domain/schemas';
import {
  TEST_EVENT_TYPE,
  WEBHOOK_DELIVERIES_PREFIX,
  WEBHOOK_REGISTRY_WORKFLOW_ID,
  webhookDeliveriesWorkflowId,
  type DeliveryAttempt,
  type DeliveryRecord,
  type WebhookSubscription,
} from '../domain/webhooks';
import type { webhookDeliveries, webhookRegistry } from '../workflows';
import { readSubscriptions } from '../activities/webhook-handoff';
import { ApiError, conflict, notFound, temporalFailure } from './errors';
import { DestinationRefused, checkDestination } from './webhook-http';
import { webhookSecret } from './webhook-secrets';
import { sendEvent, type WebhookMetrics, type WebhookSettings } from './webhook-send';

export type CreateWebhookBody = z.infer<typeof createWebhookSchema>;

/** A job event's id names its job (domain/webhooks.ts jobEventId). */
const EVENT_ID = /^msg_([0-9a-f-]{36})_(\d{1,6})$/;

export class WebhookService {
  constructor(
    readonly client: Client,
    private readonly settings: WebhookSettings,
    private readonly metrics?: WebhookMetrics,
  ) {}

  /** The secret a subscription's deliveries are signed with now. */
  private secretOf(sub: WebhookSubscription): string {
    return webhookSecret(this.settings.secretKey(), { subscription: sub.id }, sub.secret_version);
  }

  /** The secret of one job's own webhook_url (POST /jobs answers it in its Webhook-Secret header). */
  jobSecret(jobId: string): string {
    return webhookSecret(this.settings.secretKey(), { job: jobId }, 1);
  }

  /** Refuses (422) a receiver URL the master may not deliver to; the message says why. */
  async checkUrl(url: string, field = 'url'): Promise<void> {
    try {
      await checkDestination(new URL(url), this.settings.allowHosts);
    } catch (err) {
      if (err instanceof DestinationRefused) throw new ApiError(422, `${field}: ${err.message}`);
      throw err;
    }
  }

  async create(body: CreateWebhookBody): Promise<WebhookSubscription & { secret: string }> {
    await this.checkUrl(body.url);
    const sub: WebhookSubscription = {
      id: randomUUID(),
      url: body.url,
      events: [...new Set(body.events)],
      queues: [...new Set(body.queues ?? [])],
      scenarios: [...new Set(body.scenarios ?? [])],
      description: body.description ?? null,
      created_at: new Date().toISOString(),
      secret_version: 1,
      previous_secret: null,
    };
    const created = await this.guard(() =>
      this.client.workflow.executeUpdateWithStart(msg.createWebhookUpdate, {
        args: [sub],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof webhookRegistry>('webhookRegistry', {
          workflowId: WEBHOOK_REGISTRY_WORKFLOW_ID,
          taskQueue: ORCHESTRATION_QUEUE,
          args: [{ subscriptions: [] }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      }),
    );
    return { ...created, secret: this.secretOf(created) };
  }

  async list(): Promise<WebhookSubscription[]> {
    const subs = await this.guard(() => readSubscriptions(this.client));
    return [...subs].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<WebhookSubscription> {
    const sub = (await this.list()).find((s) => s.id === id);
    if (!sub) throw notFound(`webhook ${id.slice(0, 64)} not found`);
    return sub;
  }

  async remove(id: string): Promise<WebhookSubscription> {
    return this.guard(() => this.registry().executeUpdate(msg.deleteWebhookUpdate, { args: [id] }), `webhook ${id.slice(0, 64)}`);
  }

  async rotate(id: string, graceSeconds?: number): Promise<WebhookSubscription & { secret: string }> {
    const graceMs = graceSeconds === undefined ? this.settings.rotationGraceMs : Math.round(graceSeconds * 1000);
    const sub = await this.guard(() => this.registry().executeUpdate(msg.rotateWebhookUpdate, { args: [{ id, graceMs }] }), `webhook ${id.slice(0, 64)}`);
    return { ...sub, secret: this.secretOf(sub) };
  }

  /** One signed test event to the subscription's URL, now, from this master (not retried). */
  async test(id: string): Promise<{ event_id: string; delivered: boolean; attempt: DeliveryAttempt }> {
    const sub = await this.get(id);
    const eventId = `msg_test_${randomUUID()}`;
    const now = new Date().toISOString();
    const r = await sendEvent(this.settings, sub.url, [this.secretOf(sub)], { id: eventId, type: TEST_EVENT_TYPE, timestamp: now, data: { webhook_id: sub.id, message: 'a test event from ffrtmp' } }, this.metrics);
    return { event_id: eventId, delivered: r.outcome === 'delivered', attempt: r.attempt };
  }

  /** A job's deliveries, every target (none when nobody wanted its events). */
  async jobDeliveries(jobId: string): Promise<DeliveryRecord[]> {
    try {
      return await this.client.workflow.getHandle(webhookDeliveriesWorkflowId(jobId)).query(msg.deliveriesQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return [];
      throw temporalFailure(err, `deliveries of job ${jobId}`) ?? err;
    }
  }

  /** A subscription's deliveries among the latest `jobs` jobs that had any (newest job first). */
  async deliveries(id: string, jobs: number): Promise<DeliveryRecord[]> {
    await this.get(id);
    const jobIds: string[] = [];
    await this.guard(async () => {
      for await (const wf of this.client.workflow.list({ query: `WorkflowType = 'webhookDeliveries'`, pageSize: jobs })) {
        jobIds.push(wf.workflowId.slice(WEBHOOK_DELIVERIES_PREFIX.length));
        if (jobIds.length >= jobs) break;
      }
    });
    const unique = [...new Set(jobIds)];
    const lists = await Promise.all(unique.map((j) => this.jobDeliveries(j).catch(() => [] as DeliveryRecord[])));
    return lists.flat().filter((d) => d.target === id);
  }

  /** Sends a failed (or canceled) delivery again, from its first attempt's budget anew. */
  async resend(target: string, eventId: string): Promise<DeliveryRecord> {
    const m = EVENT_ID.exec(eventId);
    if (!m) throw notFound(`no delivery ${eventId.slice(0, 80)} (event ids look like msg_<job id>_<n>)`);
    const jobId = m[1]!;
    const handle = this.client.workflow.getHandle(webhookDeliveriesWorkflowId(jobId));
    const req = { target, eventId };
    const desc = await this.guard(() => handle.describe(), `delivery ${eventId}`);
    if (desc.status.name === 'RUNNING') {
      try {
        return await handle.executeUpdate(msg.resendDeliveryUpdate, { args: [req] });
      } catch (err) {
        // it may have closed in between: carry its state below
        if (!(err instanceof WorkflowNotFoundError)) return this.guard(() => Promise.reject(err), `delivery ${eventId}`);
      }
    }
    const state = await this.guard(() => handle.query(msg.deliveryStateQuery), `delivery ${eventId}`);
    const d = state.deliveries.find((x) => x.target === target && x.event_id === eventId);
    if (!d) throw notFound(`no delivery of ${eventId} to ${target}`);
    if (d.status === 'delivered' || d.status === 'pending') throw conflict(`the delivery of ${eventId} is ${d.status}: only a failed or canceled one can be re-sent`);
    await this.guard(() =>
      this.client.workflow.signalWithStart<typeof webhookDeliveries, [msg.ResendInput]>('webhookDeliveries', {
        workflowId: webhookDeliveriesWorkflowId(jobId),
        taskQueue: ORCHESTRATION_QUEUE,
        args: [{ jobId, carried: state }],
        signal: msg.resendDeliverySignal,
        signalArgs: [req],
      }),
    );
    return { ...d, status: 'pending', error: null, finished_at: null };
  }

  private registry() {
    return this.client.workflow.getHandle(WEBHOOK_REGISTRY_WORKFLOW_ID);
  }

  private async guard<T>(fn: () => Promise<T>, what = 'webhooks'): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        if (err.cause.type === FAILURE.webhookNotFound) throw notFound(err.cause.message);
        if (err.cause.type === FAILURE.webhookConflict) throw conflict(err.cause.message);
      }
      if (err instanceof WorkflowNotFoundError) throw notFound(`${what} not found`);
      throw temporalFailure(err, what) ?? err;
    }
  }
}
