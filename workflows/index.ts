// Everything the workflow bundle registers. Deterministic code only below this folder.
export { transcodeJob } from './job';
export { sequenceCounter } from './sequence';
export { nodeEntity } from './node';
export { webhookRegistry } from './webhook-registry';
export { webhookDeliveries } from './webhook-deliveries';
