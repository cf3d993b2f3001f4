/**
 * Messages of the job workflow, named by kind. The API, the CLI's `--via temporal` mode and the
 * `temporal` CLI (`temporal workflow update execute --name pause`, `... signal --name pause`,
 * `... query --type view`) all use these names.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JobView, JobWorkflowInput } from './job';
import type { HeartbeatAnswer, NodeLoad, NodeRegistration, NodeView } from './nodes';
import type { DeliveryRecord, JobEventsBatch, WebhookDeliveriesInput, WebhookSubscription } from './webhooks';

export const viewQuery = defineQuery<JobView>('view');
/** The full log of every attempt, in the spec's format. */
export const logsQuery = defineQuery<string>('logs');
/** The input of the job's next run: what a manual retry starts, earlier attempts carried along. */
export const retryInputQuery = defineQuery<JobWorkflowInput>('retry-input');

export interface ControlInput {
  reason?: string;
}

/** Updates answer with the job view once the action took effect, or reject a forbidden one. */
export const pauseUpdate = defineUpdate<JobView, [ControlInput]>('pause');
export const resumeUpdate = defineUpdate<JobView, [ControlInput]>('resume');
export const cancelUpdate = defineUpdate<JobView, [ControlInput]>('cancel');

/** Fire-and-forget twins of the updates, for `temporal workflow signal`; forbidden ones are ignored and logged. */
export const pauseSignal = defineSignal<[ControlInput]>('pause');
export const resumeSignal = defineSignal<[ControlInput]>('resume');
export const cancelSignal = defineSignal<[ControlInput]>('cancel');

export interface EncodeStartedEvent {
  attempt: number;
  nodeId: string;
  nodeName: string;
}
export interface EncodeRunningEvent {
  attempt: number;
}
/** Sent by the encode activity: a worker took the attempt (assigned) / the first frame is out (running). */
export const encodeStartedSignal = defineSignal<[EncodeStartedEvent]>('encode-started');
export const encodeRunningSignal = defineSignal<[EncodeRunningEvent]>('encode-running');

/**
 * The sequence counter: `next` hands out `count` consecutive job sequence numbers (default 1) and
 * answers with the first. A master asks for several at once when several jobs wait for one.
 */
export const nextSequenceUpdate = defineUpdate<number, [number?]>('next');
export const currentSequenceQuery = defineQuery<number>('current');
export const SEQUENCE_WORKFLOW_ID = 'ffrtmp-sequence';

/** Node entity messages (one workflow per node, id node-<node id>). */
export interface RegisterResult {
  created: boolean;
  node: NodeView;
}
export const registerNodeUpdate = defineUpdate<RegisterResult, [NodeRegistration]>('register');
export const nodeHeartbeatUpdate = defineUpdate<HeartbeatAnswer, [NodeLoad]>('heartbeat');
export const drainNodeUpdate = defineUpdate<NodeView>('drain');
export const nodeViewQuery = defineQuery<NodeView>('node');

/** The webhook subscription registry (one workflow, id ffrtmp-webhooks). */
export const createWebhookUpdate = defineUpdate<WebhookSubscription, [WebhookSubscription]>('create-webhook');
export const deleteWebhookUpdate = defineUpdate<WebhookSubscription, [string]>('delete-webhook');
export interface RotateWebhookInput {
  id: string;
  graceMs: number;
}
export const rotateWebhookUpdate = defineUpdate<WebhookSubscription, [RotateWebhookInput]>('rotate-webhook');
export const webhooksQuery = defineQuery<WebhookSubscription[]>('webhooks');

/** A job's deliveries (one workflow per job, id webhooks-job-<job id>). */
export const jobEventsSignal = defineSignal<[JobEventsBatch]>('job-events');
export interface ResendInput {
  target: string;
  eventId: string;
}
export const resendDeliveryUpdate = defineUpdate<DeliveryRecord, [ResendInput]>('resend');
export const resendDeliverySignal = defineSignal<[ResendInput]>('resend');
export const deliveriesQuery = defineQuery<DeliveryRecord[]>('deliveries');
export const deliveryStateQuery = defineQuery<NonNullable<WebhookDeliveriesInput['carried']>>('delivery-state');
