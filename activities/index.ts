export { createEncodeActivity, type EncodeDeps } from './encode';
export { createControlActivities } from './control';
export { EncoderRegistry } from './encoder-registry';
