export { createEncodeActivity, type EncodeDeps } from './encode';
export { createControlActivities } from './control';
export { createOrchestrationActivities } from './orchestration';
export { EncoderRegistry } from './encoder-registry';
export { jobLogContext } from './log-context';
