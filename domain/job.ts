/**
 * The job model shared by the API, the CLI, the workflow and the activities.
 *
 * A job request (what a client sent, defaults filled in) is resolved once, at the edge, into an
 * EncodeSpec (what an encoder must produce) and a JobPolicy (retries and timeouts). The workflow
 * carries all three and publishes a JobView — the wire format of GET /jobs/{id}, snake_case as the
 * spec writes it.
 */
import type { Engine } from './encoders';
import type { Codec } from './scenarios';
import type { ProgressHistory } from './progress-history';
import type { ParallelChoice } from './segments';
import type { JobStatus } from './states';

export const CONFIDENCES = ['auto', 'high', 'medium', 'low'] as const;
export type Confidence = (typeof CONFIDENCES)[number];
export const ENGINES = ['auto', 'ffmpeg', 'gstreamer'] as const;
export type EngineChoice = (typeof ENGINES)[number];
export const QUEUES = ['live', 'default', 'batch'] as const;
export type QueueName = (typeof QUEUES)[number];
export const PRIORITIES = ['high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const OUTPUT_MODES = ['file', 'rtmp'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];
export const HARDWARE_POLICIES = ['auto', 'cpu', 'if-possible', 'required'] as const;
/** auto: best live capability; cpu: never a GPU; if-possible: GPU, else CPU after a wait; required: GPU or wait */
export type HardwarePolicy = (typeof HARDWARE_POLICIES)[number];

/** Job parameters as the spec lists them, plus a few documented extras. */
export interface JobParameters {
  duration?: number;
  bitrate?: string;
  input?: string;
  output_mode?: OutputMode;
  rtmp_url?: string;
  codec?: string;
  preset?: string;
  /** per-attempt deadline in seconds (default: derived from the expected work) */
  timeout?: number;
  max_retries?: number;
  hardware?: HardwarePolicy;
  audio?: boolean;
  /** this job's own webhook: every state change is posted there (docs/API.md, Webhooks) */
  webhook_url?: string;
  /** segment-parallel encoding: off (default), auto, or a number of segments (domain/segments.ts) */
  parallel?: ParallelChoice;
  /** segment length for parallel=auto, seconds */
  segment_seconds?: number;
}

export interface JobRequest {
  scenario: string;
  confidence: Confidence;
  engine: EngineChoice;
  queue: QueueName;
  priority: Priority;
  parameters: JobParameters;
}

export type InputSpec =
  | { kind: 'synthetic' }
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string };

export type OutputSpec = { mode: 'file' } | { mode: 'rtmp'; url: string };

/** What the encoder must produce: fully resolved, nothing left to defaults. */
export interface EncodeSpec {
  width: number;
  height: number;
  fps: number;
  durationSec: number;
  codec: Codec;
  encoder: string;
  engine: Engine;
  bitrateKbps: number;
  preset: string;
  audio: boolean;
  input: InputSpec;
  output: OutputSpec;
}

export interface JobPolicy {
  maxRetries: number;
  /** first automatic retry waits this long; each next one twice as long, up to the max */
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  /** active (unpaused) time one attempt may take from the moment a worker takes it */
  attemptDeadlineMs: number;
  /** no encoder progress for this long (paused time excluded) times the attempt out */
  stallTimeoutMs: number;
  /** a worker that stops heartbeating this long is presumed dead */
  heartbeatTimeoutMs: number;
  hardware: HardwarePolicy;
  /** how long a GPU job waits for a GPU worker before it falls back to CPU (if-possible) */
  gpuWaitMs: number;
}

export const POLICY_DEFAULTS = {
  maxRetries: 3,
  retryBackoffMs: 5_000,
  retryBackoffMaxMs: 300_000,
  stallTimeoutMs: 60_000,
  heartbeatTimeoutMs: 15_000,
  gpuWaitMs: 30_000,
} as const;

/**
 * The per-attempt deadline derived from the expected work: a fixed allowance plus a multiple of
 * the clip length scaled by pixel rate and codec cost, relative to 720p30 H.264 (which a 2-core
 * machine encodes at several times real time). Streams run in real time, so they get their
 * duration plus a margin.
 */
export function deriveDeadlineMs(spec: Pick<EncodeSpec, 'width' | 'height' | 'fps' | 'durationSec' | 'codec' | 'output'>): number {
  if (spec.output.mode === 'rtmp') return Math.round((spec.durationSec * 1.5 + 60) * 1000);
  const pixelRate = (spec.width * spec.height * spec.fps) / (1280 * 720 * 30);
  const codecCost: Record<Codec, number> = { h264: 1, h265: 4, vp9: 4, av1: 3 };
  const seconds = 120 + spec.durationSec * 10 * Math.max(1, pixelRate) * codecCost[spec.codec];
  return Math.round(seconds * 1000);
}

export function backoffMs(policy: Pick<JobPolicy, 'retryBackoffMs' | 'retryBackoffMaxMs'>, retryNumber: number): number {
  return Math.min(policy.retryBackoffMaxMs, policy.retryBackoffMs * 2 ** Math.max(0, retryNumber - 1));
}

export interface Transition {
  from: JobStatus | null;
  to: JobStatus;
  at: string;
  reason: string;
  attempt: number;
}

/** Live figures from the running encoder (heartbeat details of the encode activity). */
export interface EncodeProgress {
  progress: number;
  fps: number | null;
  speed: number | null;
  eta_seconds: number | null;
  frame: number;
  out_time_us: number;
  /** true once the encoder produced its first frame */
  started: boolean;
  suspended: boolean;
}

export interface AttemptRecord {
  attempt: number;
  node_id: string | null;
  node_name: string | null;
  task_queue: string;
  encoder: string;
  engine: Engine;
  started_at: string | null;
  finished_at: string | null;
  /** unclaimed: no worker took it before its schedule-to-start timeout (a fallback follows) */
  outcome: 'completed' | 'failed' | 'timed_out' | 'canceled' | 'requeued' | 'unclaimed' | null;
  error: string | null;
  /** why this attempt ran where it ran (routing decision) */
  routing: string;
  log: string;
}

export interface JobOutput {
  path: string | null;
  url: string | null;
  size_bytes: number | null;
}

export interface JobEnergyFigures {
  energy_joules: number;
  avg_power_watts: number;
  /** rapl | nvidia-smi | nvidia-smi+rapl | estimate */
  power_source: string;
  /** a CPU estimate kept apart when only the GPU part was measured */
  estimated_cpu_joules: number | null;
}

export interface VerificationCheck {
  name: string;
  expected: string;
  actual: string;
  ok: boolean;
}

/** What was checked before the job was called completed (see activities/verify.ts). */
export interface Verification {
  level: 'low' | 'medium' | 'high';
  passed: boolean;
  checks: VerificationCheck[];
  psnr_db: number | null;
  ssim: number | null;
}

/** Quality a high-confidence job must reach against its source. */
export const QUALITY_THRESHOLDS = { minPsnrDb: 25, minSsim: 0.8 } as const;

export interface EncodeResult {
  output: JobOutput;
  /** the attempt's verified file, until the workflow publishes it as output.path */
  staged?: string;
  log: string;
  frames: number;
  duration_seconds: number;
  avg_fps: number | null;
  cpu_seconds: number | null;
  energy: JobEnergyFigures | null;
  verification: Verification | null;
  /** progress and fps over the attempt (absent from workers older than it) */
  progress_history?: ProgressHistory;
  /**
   * PSNR (dB) the encoder measured against the frames it was given, where it measures it
   * (SELF_MEASURED_PSNR: a split job's x264 segments); the join combines them (combinedPsnr)
   */
  encoder_psnr_db?: number;
}

export interface JobView {
  id: string;
  sequence_number: number;
  scenario: string;
  confidence: Confidence;
  engine: EngineChoice;
  queue: QueueName;
  priority: Priority;
  parameters: JobParameters;
  status: JobStatus;
  progress: number;
  node_id: string | null;
  node_name: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  attempt: number;
  retry_count: number;
  max_retries: number;
  error: string | null;
  state_transitions: Transition[];
  output: JobOutput | null;
  fps: number | null;
  speed: number | null;
  eta_seconds: number | null;
  encoder: string;
  engine_used: Engine;
  task_queue: string | null;
  routing: string | null;
  paused: boolean;
  attempts: Omit<AttemptRecord, 'log'>[];
  log_tail: string;
  energy_joules: number | null;
  avg_power_watts: number | null;
  power_source: string | null;
  estimated_cpu_joules: number | null;
  /** the completed attempt's encode figures */
  avg_fps: number | null;
  cpu_seconds: number | null;
  verification: Verification | null;
  psnr_db: number | null;
  ssim: number | null;
  /**
   * the current attempt's progress and fps over its run (domain/progress-history.ts): the running
   * encode's heartbeat details, or the completed attempt's result; absent when neither has one
   */
  progress_history?: ProgressHistory;
  /** present when the job is split into segments (segment-parallel encoding) */
  segments?: SegmentView[];
}

export const SEGMENT_STATUSES = ['queued', 'running', 'completed', 'failed', 'canceled'] as const;
export type SegmentStatus = (typeof SEGMENT_STATUSES)[number];

/** One segment of a split job, as the job view shows it. */
export interface SegmentView {
  index: number;
  start_seconds: number;
  duration_seconds: number;
  status: SegmentStatus;
  node_id: string | null;
  /** encodes of this segment so far (a lost worker's segment runs again: 2) */
  attempts: number;
  fps: number | null;
  /** 0-100 */
  progress: number;
}

/** The workflow's input: what the API resolved, plus what earlier runs of the same job left. */
/**
 * What routing needs to know about the request, decided once at the edge (resolveJob): the
 * workflow reads it and never works it out again from the request.
 */
export interface RoutingIntent {
  engine: EngineChoice;
  hardware: HardwarePolicy;
  queue: QueueName;
  /** the request named an encoder (codec=h264_nvenc) rather than a codec family (codec=h264) */
  explicitEncoder: boolean;
  /** Temporal priority keys of the job's first attempt and of its later ones (domain/queues.ts) */
  priorityKey: { first: number; later: number };
}

/** What the request asks of segment-parallel encoding, resolved at the edge (resolveJob). */
export interface SegmentingIntent {
  parallel: Exclude<ParallelChoice, 'off'>;
  segmentSec: number;
}

export interface JobWorkflowInput {
  id: string;
  sequenceNumber: number;
  createdAt: string;
  request: JobRequest;
  spec: EncodeSpec;
  policy: JobPolicy;
  /** absent in the inputs of jobs started before it existed: routingIntentOf() derives it */
  routing?: RoutingIntent;
  /** set when a manual retry starts a new run of a failed/timed-out/canceled job */
  previous?: CarriedJobState;
  /** present when the request asks for segment-parallel encoding (parallel=auto or N) */
  segmenting?: SegmentingIntent;
}

export interface CarriedJobState {
  transitions: Transition[];
  attempts: AttemptRecord[];
  startedAt: string | null;
  status: JobStatus;
  reason: string;
}

/** Memo keys of a job run: `job` (static fields, for lists) and `view` (the whole view, kept current). */
export const SUMMARY_MEMO = 'job';
export const VIEW_MEMO = 'view';

export const JOB_WORKFLOW_ID_PREFIX = 'job-';
export function jobWorkflowId(jobId: string): string {
  return JOB_WORKFLOW_ID_PREFIX + jobId;
}
