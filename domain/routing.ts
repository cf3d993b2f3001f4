/**
 * Routing: which task queue (capability) an attempt goes to, and with which encoder. Pure, so the
 * workflow can decide deterministically and the tests can table-test every case.
 */
import { findEncoder, type Capability } from './encoders';
import type { EncodeSpec } from './job';
import { encodeQueue } from './queues';

export interface Route {
  capability: Capability;
  taskQueue: string;
  /** the spec this attempt encodes with (encoder and preset may differ from the request's) */
  spec: EncodeSpec;
  /** why the attempt goes there, for the job view */
  reason: string;
}

export function directRoute(spec: EncodeSpec): Route {
  const info = findEncoder(spec.encoder);
  const capability: Capability = info?.capability ?? 'cpu';
  return {
    capability,
    taskQueue: encodeQueue(capability),
    spec,
    reason: `${spec.encoder} needs capability ${capability}`,
  };
}
