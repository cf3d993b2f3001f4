/**
 * The activity proxies the job workflow and a split attempt share: the same options wherever an
 * encode, a control action or a publish is sent. Creating a proxy issues no command.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { EncodeActivities, NodeControlActivities, SegmentActivities } from '../domain/activities';
import { nodeQueue } from '../domain/queues';
import type { Route } from '../domain/routing';

/** An encode on the route's queue: one try (the workflow retries), heartbeats, canceled and waited for. */
export function encodeProxy(route: Route, heartbeatTimeoutMs: number, priorityKey: number) {
  return proxyActivities<EncodeActivities>({
    taskQueue: route.taskQueue,
    ...(route.scheduleToStartMs ? { scheduleToStartTimeout: route.scheduleToStartMs } : {}),
    // pauses can be long; the attempt deadline is a workflow timer that skips paused time
    startToCloseTimeout: '7 days',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    priority: { priorityKey },
  });
}

/** Suspend/continue on the node that runs the encoder. */
export function controlProxy(nodeId: string) {
  return proxyActivities<NodeControlActivities>({
    taskQueue: nodeQueue(nodeId),
    scheduleToCloseTimeout: '10 seconds',
    retry: { maximumAttempts: 3, initialInterval: '200 ms' },
  });
}

/** Publishing a staged output, on the node that wrote it. */
export function publishProxy(nodeId: string) {
  return proxyActivities<NodeControlActivities>({
    taskQueue: nodeQueue(nodeId),
    scheduleToCloseTimeout: '60 seconds',
    retry: { maximumAttempts: 3, initialInterval: '500 ms' },
  });
}

/** Removing a split job's segment files, on a node that wrote some (a node that does not take it in seconds is gone). */
export function segmentCleaner(nodeId: string) {
  return proxyActivities<Pick<SegmentActivities, 'removeSegments'>>({
    taskQueue: nodeQueue(nodeId),
    scheduleToStartTimeout: '5 seconds',
    startToCloseTimeout: '60 seconds',
    retry: { maximumAttempts: 2, initialInterval: '500 ms' },
  });
}
