/**
 * Response schemas for the OpenAPI document. The TypeScript types the code uses (domain/job.ts,
 * domain/nodes.ts) are checked against these at compile time (see the assertions at the bottom),
 * so the document cannot drift from what the server sends.
 */
import { z } from 'zod';
import { CAPABILITIES } from './encoders';
import { CONFIDENCES, ENGINES, PRIORITIES, QUEUES, type JobView } from './job';
import { NODE_STATUSES, type HeartbeatAnswer, type NodeView } from './nodes';
import { jobParametersSchema } from './schemas';
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
/** Response header of an answer that replays the job an Idempotency-Key created. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

const transitionSchema = z.object({
  from: z.enum(JOB_STATUSES).nullable(),
  to: z.enum(JOB_STATUSES),
  at: z.string(),
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
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
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
  progress: z.number(),
  node_id: z.string().nullable(),
  node_name: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
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
  created_at: z.string(),
  completed_at: z.string().nullable(),
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
  gpu_capabilities: z.string(),
  ram_total_bytes: z.number(),
  capabilities: z.array(z.enum(CAPABILITIES)),
  encoders: z.array(z.string()),
  simulated_capabilities: z.array(z.enum(CAPABILITIES)),
  version: z.string(),
  status: z.enum(NODE_STATUSES),
  registered_at: z.string(),
  last_heartbeat: z.string().nullable(),
  load: z
    .object({
      running_jobs: z.number().int(),
      cpu_percent: z.number().nullable(),
      memory_bytes: z.number().nullable(),
      power_watts: z.number().nullable(),
    })
    .nullable(),
  drain_requested: z.boolean(),
  heartbeat_interval_seconds: z.number(),
});

export const nodeListSchema = z.object({ nodes: z.array(nodeViewSchema), count: z.number().int() });
export const heartbeatAnswerSchema = z.object({ action: z.enum(['continue', 'drain']), status: z.enum(NODE_STATUSES) });
export const healthSchema = z.object({ status: z.enum(['ok', 'degraded']), temporal: z.enum(['ok', 'unreachable']) });

// --- compile-time checks: the types the code uses and the documented schemas agree both ways
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const assertSame = <T extends true>(): T | undefined => undefined;
assertSame<Same<Omit<z.infer<typeof jobViewSchema>, 'parameters'>, Omit<JobView, 'parameters'>>>();
assertSame<Same<z.infer<typeof nodeViewSchema>, NodeView>>();
assertSame<Same<z.infer<typeof heartbeatAnswerSchema>, HeartbeatAnswer>>();
