/**
 * The hand-off of a job's events (a local activity of the job workflow, wherever it runs): it
 * matches them against the subscriptions and the job's own webhook_url, and signal-with-starts the
 * job's delivery workflow with the ones someone wants. It asks Temporal only, never a receiver: a
 * hand-off takes milliseconds whatever the receivers do.
 *
 * The subscriptions come from a registry read that started after the newest event's change, so a
 * subscription gets every change made after it was created (within the clock difference between
 * Temporal and this process). Hand-offs share reads: one started after their changes serves them
 * all, so a burst of jobs costs a few reads, not one each.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { WebhookHandOffActivities } from '../domain/activities';
import { jobEventsSignal, webhooksQuery } from '../domain/messages';
import { ORCHESTRATION_QUEUE } from '../domain/queues';
import { JOB_URL_TARGET, WEBHOOK_REGISTRY_WORKFLOW_ID, wants, webhookDeliveriesWorkflowId, type HandOffRequest, type JobEventsBatch, type WebhookSubscription } from '../domain/webhooks';
import type { webhookDeliveries } from '../workflows';

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
  /** the latest read (in flight or done) and when it started */
  let latest: { startedAt: number; value: Promise<WebhookSubscription[]> } | undefined;
  const subscriptionsAfter = (client: ActivityClient, changedAt: number) => {
    if (latest && latest.startedAt >= changedAt) return latest.value;
    const read = { startedAt: Date.now(), value: readSubscriptions(client) };
    latest = read;
    read.value.catch(() => {
      if (latest === read) latest = undefined;
    });
    return read.value;
  };
  return {
    async handOffJobEvents(req: HandOffRequest): Promise<number> {
      const client = Context.current().client;
      const changedAt = Math.max(...req.events.map((e) => Date.parse(e.timestamp)));
      const subs = await subscriptionsAfter(client, changedAt);
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
