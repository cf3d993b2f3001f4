/**
 * Response schemas for the OpenAPI document. The TypeScript types the code uses (domain/job.ts,
 * domain/nodes.ts) are checked against these at compile time (see the assertions at the bottom),
 * so the document cannot drift from what the server sends.
 */
import { z } from 'zod';
import { CAPABILITIES } from './encoders';
import { CONFIDENCES, ENGINES, PRIORITIES, QUEUES, SEGMENT_STATUSES, type JobView } from './job';
import { NODE_STATUSES, type HeartbeatAnswer, type NodeView } from './nodes';
import { POWER_HISTORY_POINTS } from './power';
import { PROGRESS_HISTORY_POINTS } from './progress-history';
import { gpuFeaturesOf, jobParametersSchema } from './schemas';
import { JOB_STATUSES } from './states';

export const errorSchema = z.object({ error: z.string(), status: z.number().int() });

/**
 * The Idempotency-Key request header (draft-ietf-httpapi-idempotency-key-header): 1 to 255
 * printable ASCII characters, as a structured-field string ("…") or bare.
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const idempotencyKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII')
  .describe(
    'makes a retried create safe: a request with a key already used by the same caller answers with the job the first one created ' +
      '(201, Idempotent-Replayed: true) instead of creating another; the same key with a different body answers 422. ' +
      "A key holds while its job exists in Temporal: while it runs and for the namespace's retention period after it ends.",
  );
/**
 * The header as sent: a structured-field string ("…" with \" and \\ escapes, not empty) or a bare
 * key that does not start with a quote (nor start or end with a space, which HTTP strips); either
 * way 1 to 255 printable ASCII characters.
 */
export const idempotencyKeyHeaderSchema = idempotencyKeySchema.regex(/^(?:[\x21\x23-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])+")$/, 'must be a quoted string ("…") or a bare key that does not start with "');
/** Response header of an answer that replays the job an Idempotency-Key created. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** A time on the wire: RFC 3339, UTC (what Date.toISOString writes). */
const time = () => z.iso.datetime();

const transitionSchema = z.object({
  from: z.enum(JOB_STATUSES).nullable(),
  to: z.enum(JOB_STATUSES),
  at: time(),
  reason: z.string(),
  attempt: z.number().int(),
});

const attemptSchema = z.object({
  attempt: z.number().int(),
  node_id: z.string().nullable(),
  node_name: z.string().nullable(),
  task_queue: z.string(),
  encoder: z.string(),
  engine: z.enum(['ffmpeg', 'gstreamer']),
  started_at: time().nullable(),
  finished_at: time().nullable(),
  outcome: z.enum(['completed', 'failed', 'timed_out', 'canceled', 'requeued', 'unclaimed']).nullable(),
  error: z.string().nullable(),
  routing: z.string(),
});

export const jobViewSchema = z.object({
  id: z.string(),
  sequence_number: z.number().int(),
  scenario: z.string(),
  confidence: z.enum(CONFIDENCES),
  engine: z.enum(ENGINES),
  queue: z.enum(QUEUES),
  priority: z.enum(PRIORITIES),
  parameters: jobParametersSchema,
  status: z.enum(JOB_STATUSES),
  progress: z.number().int().min(0).max(100).describe("percent done, a whole number (the spec's clients read an integer); progress_percent has the fraction"),
  progress_percent: z.number().min(0).max(100).describe('percent done, as precise as the encoder reports it'),
  node_id: z.string().nullable(),
  node_name: z.string().nullable(),
  created_at: time(),
  started_at: time().nullable(),
  completed_at: time().nullable(),
  attempt: z.number().int(),
  retry_count: z.number().int(),
  max_retries: z.number().int(),
  error: z.string().nullable(),
  state_transitions: z.array(transitionSchema),
  output: z.object({ path: z.string().nullable(), url: z.string().nullable(), size_bytes: z.number().nullable() }).nullable(),
  fps: z.number().nullable(),
  speed: z.number().nullable(),
  eta_seconds: z.number().nullable(),
  encoder: z.string(),
  engine_used: z.enum(['ffmpeg', 'gstreamer']),
  task_queue: z.string().nullable(),
  routing: z.string().nullable(),
  paused: z.boolean(),
  attempts: z.array(attemptSchema),
  log_tail: z.string(),
  energy_joules: z.number().nullable(),
  avg_power_watts: z.number().nullable(),
  power_source: z.string().nullable().describe('rapl, nvidia-smi, nvidia-smi+rapl, or estimate'),
  estimated_cpu_joules: z.number().nullable(),
  avg_fps: z.number().nullable(),
  cpu_seconds: z.number().nullable(),
  verification: z
    .object({
      level: z.enum(['low', 'medium', 'high']),
      passed: z.boolean(),
      checks: z.array(z.object({ name: z.string(), expected: z.string(), actual: z.string(), ok: z.boolean() })),
      psnr_db: z.number().nullable(),
      ssim: z.number().nullable(),
    })
    .nullable()
    .describe('what was verified before the job was called completed (depends on confidence)'),
  psnr_db: z.number().nullable(),
  ssim: z.number().nullable(),
  progress_history: z
    .object({
      started_at: time(),
      step_seconds: z.number().describe('seconds between points; doubles each time the series fills'),
      points: z.array(z.tuple([z.number(), z.number(), z.number().nullable()])).max(PROGRESS_HISTORY_POINTS).describe('[seconds since started_at, percent done, fps]'),
    })
    .optional()
    .describe("the current attempt's progress and fps over its run, at most 120 evenly spaced points: from the running encode, or the completed attempt; absent when neither has one"),
  segments: z
    .array(
      z.object({
        index: z.number().int(),
        start_seconds: z.number(),
        duration_seconds: z.number(),
        status: z.enum(SEGMENT_STATUSES),
        node_id: z.string().nullable(),
        attempts: z.number().int(),
        fps: z.number().nullable(),
        progress: z.number().min(0).max(100),
      }),
    )
    .optional()
    .describe('present when the job is split (parameters.parallel): one entry per segment; the job\'s progress, energy and CPU time are the sums over them'),
});

export const jobSummarySchema = z.object({
  id: z.string(),
  sequence_number: z.number().int(),
  scenario: z.string(),
  confidence: z.string(),
  engine: z.string(),
  queue: z.string(),
  priority: z.string(),
  parameters: z.record(z.string(), z.unknown()),
  status: z.enum(JOB_STATUSES),
  node_id: z.string().nullable(),
  retry_count: z.number().int(),
  created_at: time(),
  completed_at: time().nullable(),
});

export const jobListSchema = z.object({
  jobs: z.array(jobSummarySchema),
  count: z.number().int(),
  next_page_token: z.string().nullable(),
});

export const jobLogsSchema = z.object({ job_id: z.string(), logs: z.string() });

export const nodeViewSchema = z.object({
  id: z.string(),
  address: z.string(),
  type: z.literal('worker'),
  name: z.string(),
  cpu_threads: z.number().int(),
  cpu_model: z.string(),
  has_gpu: z.boolean(),
  gpu_type: z.string().nullable(),
  gpu_capabilities: z.array(z.string()).describe('GPU features (registered as an array or as the spec\'s comma-separated string)'),
  ram_total_bytes: z.number(),
  capabilities: z.array(z.enum(CAPABILITIES)),
  encoders: z.array(z.string()),
  simulated_capabilities: z.array(z.enum(CAPABILITIES)),
  version: z.string(),
  status: z.enum(NODE_STATUSES),
  registered_at: time(),
  last_heartbeat: time().nullable(),
  load: z
    .object({
      running_jobs: z.number().int(),
      cpu_percent: z.number().nullable(),
      memory_bytes: z.number().nullable(),
      power_watts: z.number().nullable(),
      power_source: z.string().nullable().optional().describe('what power_watts is measured by: rapl, nvidia-smi, nvidia-smi+rapl, or estimate; absent from workers that do not report it'),
    })
    .nullable(),
  drain_requested: z.boolean(),
  heartbeat_interval_seconds: z.number(),
  power_history: z
    .array(z.object({ at: time().describe("the minute's start"), watts: z.number().describe("the mean of that minute's heartbeats"), heartbeats: z.number().int() }))
    .max(POWER_HISTORY_POINTS)
    .optional()
    .describe("the node's power over the last hour, a point a minute, kept by its entity workflow; absent until a heartbeat with power was heard"),
});

export const nodeListSchema = z.object({ nodes: z.array(nodeViewSchema), count: z.number().int() });
export const heartbeatAnswerSchema = z.object({ action: z.enum(['continue', 'drain']), status: z.enum(NODE_STATUSES) });
/** GET /scenarios: the grammar, the presets and the encoders. */
export const scenariosSchema = z.object({
  grammar: z.string(),
  presets: z.array(
    z.object({ name: z.string(), width: z.number(), height: z.number(), fps: z.number(), codec: z.string(), bitrate_kbps: z.number() }),
  ),
  encoders: z.array(z.object({ name: z.string(), engine: z.string(), codec: z.string(), capability: z.string(), presets: z.array(z.string()), default_preset: z.string() })),
});
export const healthSchema = z.object({ status: z.enum(['ok', 'degraded']), temporal: z.enum(['ok', 'unreachable']) });

/** A job as the API answers it (GET /jobs/{id}, POST /jobs, control actions, event snapshots). */
export type JobWire = z.infer<typeof jobViewSchema>;
/** A node as the API answers it. */
export type NodeWire = z.infer<typeof nodeViewSchema>;
/** The API's other answers, as their schemas say (the dashboard reads these types: web/types.ts). */
export type JobSummaryWire = z.infer<typeof jobSummarySchema>;
export type JobListWire = z.infer<typeof jobListSchema>;
export type NodeListWire = z.infer<typeof nodeListSchema>;
export type ScenariosWire = z.infer<typeof scenariosSchema>;
export type TransitionWire = z.infer<typeof transitionSchema>;
export type AttemptWire = z.infer<typeof attemptSchema>;
/** What a `progress` event carries of a job (GET /events, GET /jobs/{id}/events). */
export type ProgressWire = Pick<JobWire, 'id' | 'sequence_number' | 'status' | 'progress' | 'progress_percent' | 'fps' | 'speed' | 'eta_seconds' | 'node_id'>;

/** The progress event of a job view. */
export function progressWire(v: JobView): ProgressWire {
  const w = jobWire(v);
  return { id: w.id, sequence_number: w.sequence_number, status: w.status, progress: w.progress, progress_percent: w.progress_percent, fps: w.fps, speed: w.speed, eta_seconds: w.eta_seconds, node_id: w.node_id };
}

/**
 * The wire form of a job view. The workflow keeps progress as the encoder reports it (21.5);
 * the spec's clients parse `progress` as an integer, so the answer carries the whole percent
 * done (rounded down: 100 only when done) and the precise figure as progress_percent.
 */
export function jobWire(v: JobView): JobWire {
  // one wire object per (cached) view, so the answer's serialization is memoized too (api/gate.ts toJson)
  let w = wireOf.get(v);
  if (w === undefined) {
    const precise = Math.min(100, Math.max(0, v.progress));
    wireOf.set(v, (w = { ...v, progress: Math.floor(precise), progress_percent: precise }));
  }
  return w;
}
const wireOf = new WeakMap<JobView, JobWire>();

/** The wire form of a node: its GPU features as an array (the node keeps the spec's comma-separated form). */
export function nodeWire(n: NodeView): NodeWire {
  return { ...n, gpu_capabilities: gpuFeaturesOf(n.gpu_capabilities) };
}

// --- compile-time checks: the types the code uses and the documented schemas agree both ways
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const assertSame = <T extends true>(): T | undefined => undefined;
assertSame<Same<Omit<JobWire, 'parameters' | 'progress_percent'>, Omit<JobView, 'parameters'>>>();
assertSame<Same<Omit<NodeWire, 'gpu_capabilities'>, Omit<NodeView, 'gpu_capabilities'>>>();
assertSame<Same<z.infer<typeof heartbeatAnswerSchema>, HeartbeatAnswer>>();
