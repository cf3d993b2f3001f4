/**
 * Request schemas (zod): the one source of truth for what the API accepts. The API validates with
 * them, the OpenAPI document is generated from them, and the CLI's options map onto them.
 * Unknown fields are errors that name the field. Edge-only: the workflow never imports this.
 */
import { z } from 'zod';
import { ALL_PRESETS, CAPABILITIES, ENCODERS, ENCODER_NAMES, chooseEncoder, type EncoderInfo } from './encoders';
import { CONFIDENCES, ENGINES, HARDWARE_POLICIES, OUTPUT_MODES, PRIORITIES, QUEUES, type EngineChoice, type JobParameters } from './job';
import { COMBINED_SOURCE } from './power';
import { CODECS, SCENARIO_GRAMMAR, parseScenario, scenarioPattern, type Codec } from './scenarios';
import { AUTO_MIN_SEGMENTS, PARALLEL_SEGMENTS, SEGMENT_SECONDS } from './segments';
import { JOB_STATUSES } from './states';
import { GST_UNSAFE_END_PATTERN, SAFE_TEXT_PATTERN, textProblem } from './text-rules';
import { HTTP_URL_PATTERN, RTMP_URL_PATTERN } from './urls';
import { JOB_EVENT_TYPES } from './webhooks';

/** Longest clip a job may ask for: a day. */
export const MAX_DURATION_SECONDS = 86_400;
export const MAX_RETRIES_LIMIT = 10;

/**
 * Any Unicode but control, separator and bidi characters, and nothing an encoder could read as an
 * option (domain/text-rules.ts). The check words its refusal with the character's code point; the
 * document publishes the same rule as a pattern.
 */
export const safeText = (max: number, min = 1) => checkedText(max, min).meta({ pattern: SAFE_TEXT_PATTERN });

/** The text rule's check alone, for fields that publish a narrower pattern of their own (URLs). */
const checkedText = (max: number, min = 1) =>
  z
    .string()
    .min(min)
    .max(max)
    .superRefine((s, ctx) => {
      const problem = textProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** An http(s) URL in the one grammar the API takes (domain/urls.ts). */
const httpUrl = (max: number) => checkedText(max).regex(new RegExp(HTTP_URL_PATTERN), 'must be an http(s) URL: http[s]://host[:port][/path], an ASCII host name or IPv4 address, no credentials');

/**
 * A bitrate: a number (up to three decimals, no leading zeros) of bit/s with an optional k or M
 * suffix, between 50k and 200M — the range is part of the pattern, so the document says it too.
 */
const BITRATE_PATTERN =
  '^(?:' +
  [
    // M: 0.05 .. 200
    '(?:0\\.(?:0[5-9]\\d?|[1-9]\\d{0,2})|(?:[1-9]\\d?|1\\d\\d)(?:\\.\\d{1,3})?|200(?:\\.0{1,3})?)[mM]',
    // k: 50 .. 200000
    '(?:[5-9]\\d(?:\\.\\d{1,3})?|[1-9]\\d{2,4}(?:\\.\\d{1,3})?|1\\d{5}(?:\\.\\d{1,3})?|200000(?:\\.0{1,3})?)[kK]',
    // bit/s: 50000 .. 999999.999
    '(?:[5-9]\\d{4}|[1-9]\\d{5})(?:\\.\\d{1,3})?',
  ].join('|') +
  ')$';
export const bitrateSchema = z
  .string()
  .max(16)
  .regex(new RegExp(BITRATE_PATTERN), 'must be between 50k and 200M: a number of bit/s (no leading zeros, up to three decimals) with an optional k or M suffix, e.g. 10M or 2500k');

/** One of the values a field takes, checked where the message can say more (request resolution); the document lists them. */
const oneOf = (values: readonly string[], max: number) => safeText(max).meta({ enum: [...values] });

/** Marks the input's schema, whose pattern the master's document replaces with its own (api/openapi.ts). */
export const INPUT_PATTERN_MARK = 'x-ffrtmp-input';

/**
 * A job's input as text. Where it may point (the media root, URLs when this master allows them) is
 * the master's configuration: request resolution checks it, and the document this master serves
 * publishes it as a pattern (domain/resolve.ts inputPattern).
 */
export const inputTextSchema = safeText(4096).meta({ [INPUT_PATTERN_MARK]: true });

// --- what a job request must satisfy across fields, as JSON Schema for the document. Request
// resolution (domain/resolve.ts) checks the same, with messages that name the field; the encoder
// choice is the one both use (chooseEncoder), the rest is generated from the encoder catalogue.

type JsonSchema = Record<string, unknown>;

/** parallel for a job that is never split (splitRefusal): off or auto, not a number of segments. */
const NOT_SPLIT: JsonSchema = { enum: ['off', 'auto'] };

/** rtmp_url with output_mode=rtmp and only then (a rule of the parameters alone); an RTMP output is never split. */
const OUTPUT_AGREES: JsonSchema = {
  anyOf: [
    { properties: { output_mode: { const: 'rtmp' }, parallel: NOT_SPLIT }, required: ['output_mode', 'rtmp_url'] },
    { properties: { output_mode: { const: 'file' } }, not: { required: ['rtmp_url'] } },
  ],
};

/** A webhook receiver: an http(s) URL (where it may point is checked against the master's settings). */
export const webhookUrlSchema = httpUrl(2048);

export const jobParametersSchema = z
  .object({
    duration: z.number().positive().max(MAX_DURATION_SECONDS).describe('clip length in seconds').optional(),
    bitrate: bitrateSchema.describe('target video bitrate, e.g. 10M, 2500k').optional(),
    input: inputTextSchema.describe('a file under the media root, or an http(s) URL when allowed').optional(),
    output_mode: z.enum(OUTPUT_MODES).describe('write a file, or stream to rtmp_url').optional(),
    // the text rule first (its messages name the character), then the URL grammar
    rtmp_url: checkedText(2048)
      .regex(new RegExp(RTMP_URL_PATTERN), 'must be an rtmp:// or rtmps:// URL: rtmp[s]://host[:port][/app/key], an ASCII host name or IPv4 address')
      .describe('rtmp:// or rtmps:// URL for output_mode=rtmp')
      .optional(),
    codec: oneOf([...CODECS, ...ENCODER_NAMES], 32).describe('h264, h265, vp9, av1, or an encoder name such as libx264').optional(),
    preset: oneOf(ALL_PRESETS, 32).describe("encoder preset from its allowlist (GET /scenarios lists each encoder's)").optional(),
    timeout: z.number().positive().max(7 * MAX_DURATION_SECONDS).describe('per-attempt deadline in seconds').optional(),
    max_retries: z.number().int().min(0).max(MAX_RETRIES_LIMIT).describe('automatic retries (default 3)').optional(),
    hardware: z.enum(HARDWARE_POLICIES).describe('auto | cpu | if-possible | required').optional(),
    audio: z.boolean().describe('encode an audio track (default true)').optional(),
    webhook_url: webhookUrlSchema.describe("this job's own webhook: each state change is posted there, signed with the secret in POST /jobs' Webhook-Secret header").optional(),
    parallel: z
      .union([z.enum(['off', 'auto']), z.number().int().min(PARALLEL_SEGMENTS.min).max(PARALLEL_SEGMENTS.max)])
      .describe(`segment-parallel encoding: off (default), auto (split a file output of at least ${AUTO_MIN_SEGMENTS} segments when workers are live), or a number of segments (${PARALLEL_SEGMENTS.min}–${PARALLEL_SEGMENTS.max}); never for RTMP outputs or the live queue`)
      .optional(),
    segment_seconds: z
      .number()
      .min(SEGMENT_SECONDS.min)
      .max(SEGMENT_SECONDS.max)
      .describe(`segment length in seconds for parallel=auto (default ${SEGMENT_SECONDS.default}); ignored with off or a number of segments`)
      .optional(),
    engine: z
      .enum(ENGINES)
      .describe("the engine again, where the spec's clients also send it: the one of engine and parameters.engine that names an engine wins (auto names none); ffmpeg in one and gstreamer in the other is refused")
      .optional(),
  })
  .strict()
  .meta({ allOf: [OUTPUT_AGREES] });

/**
 * The requests that choose `encoder`, and what they may then ask of it. `engines` are the engine
 * choices that lead to it; either engine field may say auto, and where auto does not lead to it
 * one of them must name the engine (effectiveEngine).
 */
function encoderVariant(engines: readonly EngineChoice[], codec: string | undefined, scenarioCodec: Codec | undefined, encoder: EncoderInfo): JsonSchema {
  const allowed = [...new Set<EngineChoice>(['auto', ...engines])];
  const parameters: JsonSchema = {
    properties: {
      engine: { enum: allowed },
      ...(codec !== undefined ? { codec: { const: codec } } : {}),
      preset: { enum: encoder.presets },
      // RTMP (FLV) carries H.264 only
      ...(encoder.codec !== 'h264' ? { output_mode: { const: 'file' } } : {}),
      // segments are encoded with FFmpeg only
      ...(encoder.engine === 'gstreamer' ? { input: { not: { pattern: GST_UNSAFE_END_PATTERN } }, rtmp_url: { not: { pattern: GST_UNSAFE_END_PATTERN } }, parallel: NOT_SPLIT } : {}),
    },
    ...(codec !== undefined ? { required: ['codec'] } : { not: { required: ['codec'] } }),
  };
  const named = engines.filter((e) => e !== 'auto');
  return {
    properties: {
      engine: { enum: allowed },
      // the scenario's grammar lives here, not on the property: where no codec is given, the scenario's codec picks the encoder
      scenario: { pattern: scenarioPattern(scenarioCodec !== undefined ? [scenarioCodec] : CODECS) },
      parameters,
    },
    ...(codec !== undefined ? { required: ['parameters'] } : {}),
    ...(!engines.includes('auto')
      ? { anyOf: [{ required: ['engine'], properties: { engine: { enum: named } } }, { required: ['parameters'], properties: { parameters: { required: ['engine'], properties: { engine: { enum: named } } } } }] }
      : {}),
  };
}

/** Every (engine, codec parameter, scenario codec) the catalogue can serve, grouped by the encoder it picks. */
function encoderVariants(): JsonSchema[] {
  const groups = new Map<string, { engines: EngineChoice[]; codec: string | undefined; scenarioCodec: Codec | undefined; encoder: EncoderInfo }>();
  for (const engine of ENGINES) {
    for (const codec of [undefined, ...CODECS, ...ENCODER_NAMES]) {
      for (const scenarioCodec of codec === undefined ? CODECS : [undefined]) {
        const choice = chooseEncoder(engine, codec, scenarioCodec ?? 'h264');
        if (!choice.ok) continue;
        const key = JSON.stringify([codec, scenarioCodec, choice.encoder.name]);
        const g = groups.get(key) ?? { engines: [], codec, scenarioCodec, encoder: choice.encoder };
        g.engines.push(engine);
        groups.set(key, g);
      }
    }
  }
  return [...groups.values()].map((g) => encoderVariant(g.engines, g.codec, g.scenarioCodec, g.encoder));
}

export const createJobSchema = z
  .object({
    scenario: z
      .string()
      .max(64)
      .superRefine((s, ctx) => {
        // the text rule first, so a hidden character is named as such rather than as a bad name
        const problem = textProblem(s);
        if (problem) return void ctx.addIssue({ code: 'custom', message: problem });
        const parsed = parseScenario(s);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
      })
      .describe(`scenario name, e.g. 4K60-h264 (GET /scenarios): ${SCENARIO_GRAMMAR}`),
    confidence: z.enum(CONFIDENCES).default('auto'),
    engine: z.enum(ENGINES).optional().meta({ default: 'auto' }).describe('auto, ffmpeg or gstreamer (default auto); parameters.engine may say it instead'),
    queue: z.enum(QUEUES).default('default'),
    priority: z.enum(PRIORITIES).default('medium'),
    parameters: jobParametersSchema.default({}),
  })
  .strict()
  .superRefine((b, ctx) => {
    const inParameters = b.parameters.engine;
    if (b.engine !== undefined && inParameters !== undefined && b.engine !== 'auto' && inParameters !== 'auto' && b.engine !== inParameters) {
      ctx.addIssue({ code: 'custom', path: ['parameters', 'engine'], message: `"${inParameters}" disagrees with engine "${b.engine}": name the engine in one place, or the same in both` });
    }
  })
  .meta({
    allOf: [
      { anyOf: encoderVariants() },
      // a job of the live queue is never split
      { anyOf: [{ properties: { queue: { not: { const: 'live' } } } }, { properties: { parameters: { properties: { parallel: NOT_SPLIT } } } }] },
    ],
  });

/** A job request as validated: the engine may be in either place (or neither). */
export type JobBodyInput = z.infer<typeof createJobSchema>;
/** A job request as the job keeps it: one engine, defaults filled in (jobBodyOf). */
export type CreateJobBody = Omit<JobBodyInput, 'engine' | 'parameters'> & { engine: EngineChoice; parameters: JobParameters };

/** The engine a request asks for: the one either field names (auto names none), else auto. */
export function effectiveEngine(engine: EngineChoice | undefined, inParameters: EngineChoice | undefined): EngineChoice {
  return [engine, inParameters].find((e) => e !== undefined && e !== 'auto') ?? 'auto';
}

/** The validated body as the job keeps it: one engine (effectiveEngine), parameters without it. */
export function jobBodyOf(b: JobBodyInput): CreateJobBody {
  const { engine: inParameters, ...parameters } = b.parameters;
  return { ...b, engine: effectiveEngine(b.engine, inParameters), parameters };
}

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

/** A GPU feature a node reports (nvenc, cuda, qsv, …): a short token. */
const GPU_FEATURE_PATTERN = '[A-Za-z0-9][A-Za-z0-9_.+-]{0,31}';
const MAX_GPU_FEATURES = 16;

/** The GPU features a node reports, as the spec writes them ("nvenc,cuda") or as an array: both become an array. */
export const gpuCapabilitiesSchema = z
  .union([
    z
      .string()
      .max(256)
      .regex(new RegExp(`^(?:${GPU_FEATURE_PATTERN}(?: *, *${GPU_FEATURE_PATTERN}){0,${MAX_GPU_FEATURES - 1}})?$`), 'must be GPU features separated by commas, e.g. "nvenc,cuda"'),
    z.array(z.string().regex(new RegExp(`^${GPU_FEATURE_PATTERN}$`), 'must be a GPU feature name such as nvenc or cuda')).max(MAX_GPU_FEATURES),
  ])
  .describe('GPU features: a comma-separated string ("nvenc,cuda", as the spec sends it) or an array of names')
  .default('');

/** The GPU features of a registration, as a list (either form). */
export function gpuFeaturesOf(v: z.infer<typeof gpuCapabilitiesSchema>): string[] {
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  return [...new Set(list.filter((s) => s.length > 0))];
}

export const registerNodeSchema = z
  .object({
    address: httpUrl(512),
    type: z.literal('worker').default('worker'),
    name: safeText(128).optional(),
    cpu_threads: z.number().int().min(1).max(4096),
    cpu_model: safeText(256, 0),
    has_gpu: z.boolean().default(false),
    gpu_type: safeText(256, 0).nullable().optional(),
    gpu_capabilities: gpuCapabilitiesSchema,
    ram_total_bytes: z.number().int().min(0),
    capabilities: z.array(z.enum(CAPABILITIES)).max(CAPABILITIES.length * 2).optional(),
    encoders: z.array(z.enum(ENCODER_NAMES as [string, ...string[]])).max(ENCODERS.length * 2).optional(),
    simulated_capabilities: z.array(z.enum(CAPABILITIES)).max(CAPABILITIES.length * 2).optional(),
    version: z.string().max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'must be a version such as 0.1.0').optional(),
  })
  .strict();

export const heartbeatSchema = z
  .object({
    running_jobs: z.number().int().min(0).max(10_000).optional(),
    cpu_percent: z.number().min(0).max(100_000).nullable().optional(),
    memory_bytes: z.number().min(0).nullable().optional(),
    power_watts: z.number().min(0).nullable().optional(),
    power_source: z.string().regex(COMBINED_SOURCE, 'must be rapl, nvidia-smi or estimate, or several joined by + (nvidia-smi+rapl)').nullable().optional(),
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

/** POST /webhooks: a subscription. */
export const createWebhookSchema = z
  .object({
    url: webhookUrlSchema.describe('the receiver: an http(s) URL; loopback, private and link-local destinations are refused unless the master allows the host'),
    events: z
      .array(z.enum(['*', ...JOB_EVENT_TYPES]))
      .min(1)
      .max(JOB_EVENT_TYPES.length + 1)
      .default(['*'])
      .describe('job events to send (job.queued, job.running, job.completed, …), or * for all (the default)'),
    queues: z.array(z.enum(QUEUES)).max(QUEUES.length).optional().describe('only jobs of these queues (default: any)'),
    scenarios: z.array(safeText(64)).max(50).optional().describe('only jobs of these scenarios, as they were asked for (default: any)'),
    description: safeText(500, 0).optional(),
  })
  .strict();

/** POST /webhooks/{id}/rotate: how long the old secret keeps signing. */
export const rotateWebhookSchema = z
  .object({ grace_seconds: z.number().min(0).max(30 * 86_400).optional().describe('how long deliveries are signed with the old secret too (default: the master\'s FFRTMP_WEBHOOK_ROTATION_GRACE_SECONDS)') })
  .strict();

/** GET /webhooks/{id}/deliveries: how many of the latest jobs with deliveries to look at. */
export const webhookDeliveriesQuerySchema = z
  .object({ jobs: z.coerce.number().int().min(1).max(100).default(20).describe('the latest jobs with webhook deliveries to look through (default 20)') })
  .strict();
