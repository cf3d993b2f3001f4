/**
 * Request schemas (zod): the one source of truth for what the API accepts. The API validates with
 * them, the OpenAPI document is generated from them, and the CLI's options map onto them.
 * Unknown fields are errors that name the field. Edge-only: the workflow never imports this.
 */
import { z } from 'zod';
import { CONFIDENCES, ENGINES, HARDWARE_POLICIES, OUTPUT_MODES, PRIORITIES, QUEUES } from './job';
import { JOB_STATUSES } from './states';
import { textProblem } from './text-rules';

/** Longest clip a job may ask for: a day. */
export const MAX_DURATION_SECONDS = 86_400;
export const MAX_RETRIES_LIMIT = 10;

/** Any Unicode but control, separator and bidi characters, and nothing an encoder could read as an option (domain/text-rules.ts). */
const safeText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine((s, ctx) => {
      const problem = textProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

export const bitrateSchema = z
  .string()
  .max(16)
  .regex(/^\d{1,6}(\.\d{1,3})?[kKmM]?$/, 'must be a number of bit/s with an optional k or M suffix, e.g. 10M or 2500k');

export const jobParametersSchema = z
  .object({
    duration: z.number().positive().max(MAX_DURATION_SECONDS).describe('clip length in seconds').optional(),
    bitrate: bitrateSchema.describe('target video bitrate, e.g. 10M, 2500k').optional(),
    input: safeText(4096).describe('a file under the media root, or an http(s) URL when allowed').optional(),
    output_mode: z.enum(OUTPUT_MODES).describe('write a file, or stream to rtmp_url').optional(),
    rtmp_url: safeText(2048).describe('rtmp:// or rtmps:// URL for output_mode=rtmp').optional(),
    codec: safeText(32).describe('h264, h265, vp9, av1, or an encoder name such as libx264').optional(),
    preset: safeText(32).describe('encoder preset from its allowlist (GET /scenarios lists them)').optional(),
    timeout: z.number().positive().max(7 * MAX_DURATION_SECONDS).describe('per-attempt deadline in seconds').optional(),
    max_retries: z.number().int().min(0).max(MAX_RETRIES_LIMIT).describe('automatic retries (default 3)').optional(),
    hardware: z.enum(HARDWARE_POLICIES).describe('auto | cpu | if-possible | required').optional(),
    audio: z.boolean().describe('encode an audio track (default true)').optional(),
  })
  .strict();

export const createJobSchema = z
  .object({
    scenario: safeText(64).describe('scenario name, e.g. 4K60-h264 (GET /scenarios)'),
    confidence: z.enum(CONFIDENCES).default('auto'),
    engine: z.enum(ENGINES).default('auto'),
    queue: z.enum(QUEUES).default('default'),
    priority: z.enum(PRIORITIES).default('medium'),
    parameters: jobParametersSchema.default({}),
  })
  .strict();

export type CreateJobBody = z.infer<typeof createJobSchema>;

export const listJobsQuerySchema = z
  .object({
    status: z.enum(JOB_STATUSES).optional(),
    queue: z.enum(QUEUES).optional(),
    priority: z.enum(PRIORITIES).optional(),
    scenario: safeText(64).optional(),
    node: safeText(128).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    page_token: z.string().max(4096).optional(),
  })
  .strict();

export const registerNodeSchema = z
  .object({
    address: z.string().url().max(512),
    type: z.literal('worker').default('worker'),
    name: safeText(128).optional(),
    cpu_threads: z.number().int().min(1).max(4096),
    cpu_model: z.string().max(256),
    has_gpu: z.boolean().default(false),
    gpu_type: z.string().max(256).nullable().optional(),
    gpu_capabilities: z.string().max(256).default(''),
    ram_total_bytes: z.number().int().min(0),
    capabilities: z.array(z.string().max(32)).max(16).optional(),
    encoders: z.array(z.string().max(64)).max(64).optional(),
    simulated_capabilities: z.array(z.string().max(32)).max(16).optional(),
    version: z.string().max(64).optional(),
  })
  .strict();

export const heartbeatSchema = z
  .object({
    running_jobs: z.number().int().min(0).max(10_000).optional(),
    cpu_percent: z.number().min(0).max(100_000).nullable().optional(),
    memory_bytes: z.number().min(0).nullable().optional(),
    power_watts: z.number().min(0).nullable().optional(),
  })
  .strict();

/** "10M" → 10000, "2500k" → 2500, "800000" → 800 (kbit/s). */
export function parseBitrateKbps(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  if (!m) throw new Error(`bad bitrate ${text}`);
  const value = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const kbps = unit === 'm' ? value * 1000 : unit === 'k' ? value : value / 1000;
  return Math.round(kbps);
}

/** One line per problem, each naming its field: `parameters.duration: too big`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const where = i.path.length > 0 ? i.path.join('.') : 'body';
      if (i.code === 'unrecognized_keys') {
        const keys = i.keys.map((k) => (i.path.length > 0 ? `${i.path.join('.')}.${k}` : k));
        return `unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`;
      }
      return `${where}: ${i.message}`;
    })
    .join('; ');
}
