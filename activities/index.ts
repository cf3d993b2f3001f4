export { createEncodeActivities, LEASE_HEARTBEAT_TIMEOUTS, type EncodeDeps } from './encode';
export type { EncoderLeases } from './encode-session';
export { createControlActivities } from './control';
export { createOrchestrationActivities } from './orchestration';
export { EncoderRegistry } from './encoder-registry';
export { jobLogContext } from './log-context';
export { createSegmentActivities } from './segments';
