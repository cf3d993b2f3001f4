/**
 * The hand-off of a job's events (a local activity of the job workflow, wherever it runs): it
 * matches them against the subscriptions (read from the registry, shared for a second so a burst
 * of jobs asks once) and the job's own webhook_url, and signal-with-starts the job's delivery
 * workflow with the ones someone wants. It asks Temporal only, never a receiver: a hand-off takes
 * milliseconds whatever the receivers do.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { WebhookHandOffActivities } from '../domain/activities';
import { jobEventsSignal, webhooksQuery } from '../domain/messages';
import { ORCHESTRATION_QUEUE } from '../domain/queues';
import { JOB_URL_TARGET, WEBHOOK_REGISTRY_WORKFLOW_ID, wants, webhookDeliveriesWorkflowId, type HandOffRequest, type JobEventsBatch, type WebhookSubscription } from '../domain/webhooks';
import type { webhookDeliveries } from '../workflows';

/** Subscriptions read within this age are reused: a new one sees the changes from about a second after its creation. */
export const SUBSCRIPTIONS_CACHE_MS = 1_000;

type ActivityClient = Context['client'];

/** The subscriptions in the registry; none when it was never started. */
export async function readSubscriptions(client: ActivityClient): Promise<WebhookSubscription[]> {
  try {
    return await client.workflow.getHandle(WEBHOOK_REGISTRY_WORKFLOW_ID).query(webhooksQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return [];
    throw err;
  }
}

export function createWebhookHandOffActivities(): WebhookHandOffActivities {
  let cached: { at: number; value: Promise<WebhookSubscription[]> } | undefined;
  const subscriptions = (client: ActivityClient) => {
    if (cached && Date.now() - cached.at < SUBSCRIPTIONS_CACHE_MS) return cached.value;
    const value = readSubscriptions(client);
    cached = { at: Date.now(), value };
    value.catch(() => (cached = undefined));
    return value;
  };
  return {
    async handOffJobEvents(req: HandOffRequest): Promise<number> {
      const client = Context.current().client;
      const subs = await subscriptions(client);
      const batch: JobEventsBatch = {
        events: req.events.map((e) => ({
          ...e,
          targets: [...subs.filter((s) => wants(s, e.type, req)).map((s) => s.id), ...(req.webhookUrl ? [JOB_URL_TARGET] : [])],
        })),
      };
      const targets = batch.events.reduce((n, e) => n + e.targets.length, 0);
      if (targets === 0) return 0;
      await client.workflow.signalWithStart<typeof webhookDeliveries, [JobEventsBatch]>('webhookDeliveries', {
        workflowId: webhookDeliveriesWorkflowId(req.jobId),
        taskQueue: ORCHESTRATION_QUEUE,
        args: [{ jobId: req.jobId }],
        signal: jobEventsSignal,
        signalArgs: [batch],
      });
      return targets;
    },
  };
}
