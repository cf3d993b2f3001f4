/**
 * Task queue names and dispatch priority. One encode queue per capability, one control queue per
 * node, one orchestration queue for workflow tasks and light activities.
 */
import type { Capability } from './encoders';
import type { Priority, QueueName } from './job';

export const ORCHESTRATION_QUEUE = 'ffrtmp-orchestration';

export function encodeQueue(capability: Capability): string {
  return `encode.${capability}`;
}

export function nodeQueue(nodeId: string): string {
  return `node.${nodeId}`;
}

const QUEUE_RANK: Readonly<Record<QueueName, number>> = { live: 0, default: 1, batch: 2 };
const PRIORITY_RANK: Readonly<Record<Priority, number>> = { high: 0, medium: 1, low: 2 };

/** Priority levels the Temporal server must be configured with (matching.priorityLevels). */
export const PRIORITY_LEVELS = 18;

/**
 * Temporal priority key (1 = dispatched first): queue class dominates, then priority, then a job
 * that already had an attempt (a retry, a fallback) before a fresh one of the same class — a job
 * whose worker was lost does not go to the back of a long queue. Within one key Temporal
 * dispatches first come, first served.
 */
export function priorityKey(queue: QueueName, priority: Priority, again = false): number {
  return 2 * (QUEUE_RANK[queue] * 3 + PRIORITY_RANK[priority]) + (again ? 1 : 2);
}
