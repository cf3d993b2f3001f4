/**
 * Activity contracts between the workflows and the worker agents (types only: the workflow
 * imports them with `import type`, the worker implements them in activities/).
 */
import type { Capability } from './encoders';
import type { Confidence, EncodeResult, EncodeSpec } from './job';

export interface EncodeRequest {
  jobId: string;
  attempt: number;
  spec: EncodeSpec;
  confidence: Confidence;
  stallTimeoutMs: number;
}

/** Details of an encode failure that the workflow records with the attempt. */
export interface EncodeFailureDetails {
  log: string;
}

/** Failure types the encode activity throws (ApplicationFailure.type); the workflow maps them. */
export const FAILURE = {
  /** no encoder progress for the stall interval: the attempt timed out */
  stalled: 'EncoderStalled',
  /** the encoder exited with an error: retryable */
  encoderFailed: 'EncoderFailed',
  /** the output did not pass the checks its confidence asks for: retryable */
  verificationFailed: 'VerificationFailed',
  /** the request cannot work anywhere (unknown encoder, unreadable input): not retryable */
  invalidJob: 'InvalidJob',
  /** the worker is shutting down: retry elsewhere */
  workerShutdown: 'WorkerShutdown',
  /** the control target (a running encoder) is not on this node */
  encoderNotFound: 'EncoderNotFound',
} as const;

export interface EncodeActivities {
  encode(req: EncodeRequest): Promise<EncodeResult>;
}

export interface ControlRequest {
  jobId: string;
  attempt: number;
}

export interface NodeControlActivities {
  suspendEncoder(req: ControlRequest): Promise<void>;
  resumeEncoder(req: ControlRequest): Promise<void>;
}

/** Light activities on the orchestration queue (run as local activities by the workflow). */
export interface OrchestrationActivities {
  /** capabilities whose encode queues live workers poll right now */
  liveCapabilities(): Promise<Capability[]>;
}
