/**
 * The Worker options of the orchestration queue (workflow tasks of jobs, nodes and the sequence
 * counter, plus the light liveCapabilities local activity), the same wherever it runs: in every
 * master by default, in a worker agent only when asked (FFRTMP_RUN_WORKFLOWS).
 */
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { createOrchestrationActivities } from '../activities/orchestration';
import { createWebhookDeliveryActivities } from '../activities/webhook-delivery';
import { ORCHESTRATION_QUEUE } from '../domain/queues';
import { WEBHOOK_QUEUE } from '../domain/webhooks';
import type { WebhookMetrics, WebhookSettings } from '../lib/webhook-send';
import { workflowBundlePath } from './bundle-path';

/**
 * How long a workflow task waits on the sticky queue of the process that ran the workflow last
 * before any other orchestration worker may take it. The SDK's default is 10 s: a master killed
 * with SIGKILL (or frozen) then held its workflows' next decisions — POST /jobs stalled 12 s on the
 * sequence counter after a master restart. Our histories are short, so replaying one elsewhere
 * costs less than waiting for a process that may be gone.
 */
export const STICKY_SCHEDULE_TO_START = '1 second';

/**
 * Workflows kept in memory between their tasks (the sticky cache). The SDK sizes it from the heap
 * limit — about 2,300 on a 24 GiB machine — and a master that had seen 11,000 jobs sat at 600 MiB.
 * Job histories are short (tens of events), so replaying one that fell out costs a few
 * milliseconds; 20 keeps the master small: 20 MiB less RSS than 100 after 10,000 jobs (measured,
 * docs/PERFORMANCE.md), and the jobs that have a workflow task at any one moment are few.
 */
export const DEFAULT_WORKFLOW_CACHE = 20;

export function orchestrationWorkerOptions(connection: NativeConnection, namespace: string, identity: string, cachedWorkflows = DEFAULT_WORKFLOW_CACHE): WorkerOptions {
  return {
    maxCachedWorkflows: cachedWorkflows,
    connection,
    namespace,
    identity,
    taskQueue: ORCHESTRATION_QUEUE,
    workflowBundle: { codePath: workflowBundlePath() },
    activities: createOrchestrationActivities(),
    stickyQueueScheduleToStartTimeout: STICKY_SCHEDULE_TO_START,
  };
}

/**
 * The webhook deliveries' worker, in masters only (it holds the settings and the key the secrets
 * come from): activities only, on their own queue, so a worker agent that runs workflows never
 * takes one. Each attempt waits on its receiver, so many may run at once.
 */
export function webhookWorkerOptions(connection: NativeConnection, namespace: string, identity: string, settings: WebhookSettings, metrics?: WebhookMetrics): WorkerOptions {
  return {
    connection,
    namespace,
    identity,
    taskQueue: WEBHOOK_QUEUE,
    activities: createWebhookDeliveryActivities(settings, metrics),
    maxConcurrentActivityTaskExecutions: 200,
  };
}
