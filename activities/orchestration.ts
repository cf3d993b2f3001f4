/**
 * Light activities for the workflows, run as local activities wherever the workflow runs (worker
 * agents and the master). They ask Temporal, never a worker, so any orchestration host can answer.
 */
import { Context } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import type { OrchestrationActivities } from '../domain/activities';
import { CAPABILITIES, type Capability } from '../domain/encoders';
import { encodeQueue } from '../domain/queues';
import { createWebhookHandOffActivities } from './webhook-handoff';

/** A worker long-polls for up to a minute; one seen more recently than this is live. */
export const LIVE_POLLER_WINDOW_MS = 70_000;

/** Answers within this age are reused: a burst of new jobs asks Temporal once, not once per job. */
const CACHE_MS = 2_000;

export function createOrchestrationActivities(): OrchestrationActivities {
  let cached: { at: number; value: Promise<Capability[]> } | undefined;
  return {
    ...createWebhookHandOffActivities(),
    liveCapabilities(): Promise<Capability[]> {
      if (cached && Date.now() - cached.at < CACHE_MS) return cached.value;
      const value = ask(Context.current().client);
      cached = { at: Date.now(), value };
      value.catch(() => (cached = undefined));
      return value;
    },
  };
}

async function ask(client: Context['client']): Promise<Capability[]> {
  const now = Date.now();
  const live: Capability[] = [];
  await Promise.all(
    CAPABILITIES.map(async (cap) => {
      const r = await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: encodeQueue(cap) },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      });
      const seen = (r.pollers ?? []).some((p) => {
        const t = p.lastAccessTime;
        const ms = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
        return now - ms < LIVE_POLLER_WINDOW_MS;
      });
      if (seen) live.push(cap);
    }),
  );
  return CAPABILITIES.filter((c) => live.includes(c));
}
