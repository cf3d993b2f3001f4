/**
 * Activity contracts between the workflows and the worker agents (types only: the workflow
 * imports them with `import type`, the worker implements them in activities/).
 */
import type { Capability } from './encoders';
import type { Confidence, EncodeResult, EncodeSpec, JobOutput } from './job';
import type { SegmentPsnr } from './split-checks';
import type { AttemptResult, DeliverRequest, HandOffRequest } from './webhooks';

export interface EncodeRequest {
  jobId: string;
  attempt: number;
  spec: EncodeSpec;
  confidence: Confidence;
  stallTimeoutMs: number;
  /**
   * Write the verified output under the attempt's own name and leave publishing it to the workflow
   * (publishOutput). Absent in requests of workflows started before staged outputs.
   */
  stage?: boolean;
  /** the encoder is stopped when its worker has had no contact with Temporal this long (set by the worker) */
  leaseMs?: number;
  /** one segment of a split job: these output frames, video only, into the job's segment folder */
  segment?: SegmentTask;
}

/** The output frames one segment encodes (domain/segments.ts). */
export interface SegmentTask {
  index: number;
  startFrame: number;
  frames: number;
}

/** What planning a split needs to know of the input (read on a worker: it sees the media root). */
export interface SplitProbe {
  inputSec: number | null;
  /** the source's audio duration, null without audio */
  audioSec: number | null;
  keyframes: number[];
}

export interface JoinRequest {
  jobId: string;
  attempt: number;
  spec: EncodeSpec;
  /** the segments' staged files, in order */
  segments: string[];
  /** the range encoded, seconds, and what a single pass of it makes */
  durationSec: number;
  totalFrames: number;
  audioSec: number | null;
  /**
   * each segment's frames and its encoder's PSNR, in order (absent from older workflows, or null
   * where the encoder measures none: the join then measures the output against the source)
   */
  segmentPsnr?: (SegmentPsnr | null)[];
}

export interface JoinResult {
  result: EncodeResult;
  /** the node that wrote the joined file (it publishes it) */
  nodeId: string;
}

/** The split job's own activities, on the encode queue of its route (any worker sees the shared root). */
export interface SegmentActivities {
  probeForSplit(req: { jobId: string; spec: EncodeSpec }): Promise<SplitProbe>;
  /** concat + audio once + metadata, then the checks every split job gets; the output staged */
  joinSegments(req: JoinRequest): Promise<JoinResult>;
  /** removes the job's segment folder */
  removeSegments(req: { jobId: string }): Promise<void>;
}

export interface PublishRequest {
  jobId: string;
  attempt: number;
  /** the attempt's verified output */
  staged: string;
  /** the job's output: where it goes */
  final: string;
}

/** Details of an encode failure that the workflow records with the attempt. */
export interface EncodeFailureDetails {
  log: string;
}

export interface EncodeActivities {
  encode(req: EncodeRequest): Promise<EncodeResult>;
}

export interface ControlRequest {
  jobId: string;
  attempt: number;
}

/** Where a suspended encoder stopped: the job's paused figure (what it reports until it continues). */
export interface SuspendedAt {
  progress: number;
}

export interface NodeControlActivities {
  /** void from workers before SuspendedAt existed: a workflow takes either */
  suspendEncoder(req: ControlRequest): Promise<SuspendedAt | void>;
  resumeEncoder(req: ControlRequest): Promise<void>;
  /** follows an attempt of this node whose encode activity Temporal lost sight of; its result */
  adoptAttempt(req: ControlRequest): Promise<EncodeResult>;
  /** makes the accepted attempt's staged output the job's output */
  publishOutput(req: PublishRequest): Promise<JobOutput>;
}

/** Light activities on the orchestration queue (run as local activities by the workflow). */
export interface OrchestrationActivities extends WebhookHandOffActivities {
  /** capabilities whose encode queues live workers poll right now */
  liveCapabilities(): Promise<Capability[]>;
}

/** The hand-off of job events, one of the orchestration activities. */
export interface WebhookHandOffActivities {
  /** hands a job's new events to its delivery workflow (signal-with-start) when anyone wants them; how many targets */
  handOffJobEvents(req: HandOffRequest): Promise<number>;
}

/** One webhook delivery attempt, on the masters' webhook queue. */
export interface WebhookDeliveryActivities {
  deliverWebhook(req: DeliverRequest): Promise<AttemptResult>;
}
