/**
 * Resolving a validated job request into what the workflow carries: the EncodeSpec (scenario
 * defaults, then parameter overrides, each checked against the encoder catalogue) and the
 * JobPolicy (retries, deadlines). Runs at the edge (API, CLI via Temporal) before anything reaches
 * Temporal; every error names the field it is about.
 */
import path from 'node:path';
import { chooseEncoder, type EncoderInfo } from './encoders';
import {
  POLICY_DEFAULTS,
  deriveDeadlineMs,
  type EncodeSpec,
  type InputSpec,
  type JobPolicy,
  type JobRequest,
  type OutputSpec,
  type RoutingIntent,
  type SegmentingIntent,
} from './job';
import { routingIntentOf } from './routing';
import { parseScenario, type Codec } from './scenarios';
import { parseBitrateKbps } from './schemas';
import { SEGMENT_SECONDS, splitRefusal } from './segments';
import { GST_UNSAFE_END_PATTERN, SAFE_CHAR, UNSAFE_CHAR_RANGES, gstUnquotable, textProblem } from './text-rules';
import { isHttpUrl, urlPatternBody } from './urls';

export class JobValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'JobValidationError';
  }
}

export interface ResolveContext {
  /** file inputs must lie inside this folder */
  mediaRoot: string;
  /** whether http(s) URLs are accepted as input */
  allowUrlInputs: boolean;
  /** default clip length when the request gives none */
  defaultDurationSec: number;
  policy: Omit<JobPolicy, 'maxRetries' | 'attemptDeadlineMs' | 'hardware'> & { maxRetries: number };
}

export const DEFAULT_RESOLVE_CONTEXT: ResolveContext = {
  mediaRoot: '/srv/media',
  allowUrlInputs: false,
  defaultDurationSec: 10,
  policy: {
    maxRetries: POLICY_DEFAULTS.maxRetries,
    retryBackoffMs: POLICY_DEFAULTS.retryBackoffMs,
    retryBackoffMaxMs: POLICY_DEFAULTS.retryBackoffMaxMs,
    stallTimeoutMs: POLICY_DEFAULTS.stallTimeoutMs,
    heartbeatTimeoutMs: POLICY_DEFAULTS.heartbeatTimeoutMs,
    gpuWaitMs: POLICY_DEFAULTS.gpuWaitMs,
  },
};

const FORBIDDEN_SCHEMES = /^[a-z][a-z0-9+.-]*:/i;

/** The shared text rule (domain/text-rules.ts), as an error that names the field. */
function requireCleanText(value: string, field: string): void {
  const problem = textProblem(value);
  if (problem) throw new JobValidationError(field, problem);
}

/**
 * A file input: absolute or relative to the media root, normalised, and inside it. A relative
 * name that looks like `proto:…` is refused: FFmpeg would read it as that protocol.
 */
export function confineToRoot(root: string, requested: string, field: string): string {
  if (requested.includes('\0')) throw new JobValidationError(field, 'must not contain NUL');
  if (FORBIDDEN_SCHEMES.test(requested)) {
    const scheme = requested.split(':')[0];
    throw new JobValidationError(field, `protocol "${scheme}:" is not allowed; give a path under the media root or an http(s) URL (a file of that name: ./${requested})`);
  }
  const rootAbs = path.resolve(root);
  const resolved = path.resolve(rootAbs, requested);
  if (resolved !== rootAbs && !resolved.startsWith(rootAbs + path.sep)) {
    throw new JobValidationError(field, `path must be inside the media root ${rootAbs}`);
  }
  return resolved;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Every input this context accepts, as a pattern (JSON Schema / ECMA-262 syntax): a path relative
 * to the media root or absolute inside it, with no `..` segment and no `proto:` prefix; or, where
 * URL inputs are allowed, an http(s) URL in the API's URL grammar. The master publishes it in its
 * OpenAPI document; resolveInput refuses whatever it does not match.
 */
export function inputPattern(ctx: Pick<ResolveContext, 'mediaRoot' | 'allowUrlInputs'>): string {
  const root = path.resolve(ctx.mediaRoot);
  const absolute = root === '/' ? `/${SAFE_CHAR}*` : `${escapeRegExp(root)}(?:/${SAFE_CHAR}*)?`;
  const relative = `(?![A-Za-z][A-Za-z0-9+.-]*:)[^\\-/${UNSAFE_CHAR_RANGES}]${SAFE_CHAR}*`;
  const noDotDot = '(?!(?:.*/)?\\.\\.(?:/|$))';
  const url = ctx.allowUrlInputs ? `${urlPatternBody(['https', 'http'])}|` : '';
  return `^(?:${url}${noDotDot}(?:${absolute}|${relative}))$`;
}

const inputPatterns = new Map<string, RegExp>();
function inputRegExp(ctx: ResolveContext): RegExp {
  const source = inputPattern(ctx);
  let re = inputPatterns.get(source);
  if (!re) inputPatterns.set(source, (re = new RegExp(source, 'u')));
  return re;
}

const GST_UNSAFE_END = new RegExp(GST_UNSAFE_END_PATTERN);

/** GStreamer cannot be given a value that ends in a backslash (domain/text-rules.ts gstUnquotable). */
function requireGstQuotable(raw: string, engine: EncoderInfo['engine'], field: string, what: string): void {
  if (engine === 'gstreamer' && GST_UNSAFE_END.test(raw)) {
    throw new JobValidationError(field, `ends with a backslash, which a GStreamer pipeline description cannot express; use engine=ffmpeg for this ${what}`);
  }
}

function resolveInput(raw: string | undefined, engine: EncoderInfo['engine'], ctx: ResolveContext): InputSpec {
  if (raw === undefined) return { kind: 'synthetic' };
  const field = 'parameters.input';
  requireCleanText(raw, field);
  requireGstQuotable(raw, engine, field, 'input');
  let input: InputSpec;
  if (isHttpUrl(raw)) {
    if (!ctx.allowUrlInputs) throw new JobValidationError(field, 'URL inputs are disabled on this master (FFRTMP_ALLOW_URL_INPUTS)');
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new JobValidationError(field, 'is not a valid URL');
    }
    if (url.username || url.password) throw new JobValidationError(field, 'URLs with credentials are not accepted');
    // query strings (signed URLs) are fine: FFmpeg gets an argv element, GStreamer a quoted value
    input = { kind: 'url', url: url.toString() };
  } else {
    input = { kind: 'file', path: confineToRoot(ctx.mediaRoot, raw, field) };
  }
  // what the document promises, exactly: no `..` segment, URLs in the API's URL grammar
  if (!inputRegExp(ctx).test(raw)) {
    throw new JobValidationError(field, `must be a path under the media root without ".." segments${ctx.allowUrlInputs ? ', or an http(s) URL: http[s]://host[:port][/path], an ASCII host name or IPv4 address' : ''}`);
  }
  if (engine === 'gstreamer') {
    const problem = gstUnquotable(input.kind === 'url' ? input.url : input.path);
    if (problem) throw new JobValidationError(field, `${problem}; use engine=ffmpeg for this input`);
  }
  return input;
}

function resolveOutput(req: JobRequest, engine: EncoderInfo['engine']): OutputSpec {
  const { output_mode: mode = 'file', rtmp_url: url } = req.parameters;
  if (mode === 'file') {
    if (url !== undefined) throw new JobValidationError('parameters.rtmp_url', 'only allowed with output_mode=rtmp');
    return { mode: 'file' };
  }
  if (url === undefined) throw new JobValidationError('parameters.rtmp_url', 'is required with output_mode=rtmp');
  requireCleanText(url, 'parameters.rtmp_url');
  requireGstQuotable(url, engine, 'parameters.rtmp_url', 'URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new JobValidationError('parameters.rtmp_url', 'is not a valid URL');
  }
  if (parsed.protocol !== 'rtmp:' && parsed.protocol !== 'rtmps:') {
    throw new JobValidationError('parameters.rtmp_url', 'must start with rtmp:// or rtmps://');
  }
  if (!parsed.hostname) throw new JobValidationError('parameters.rtmp_url', 'has no host');
  const problem = engine === 'gstreamer' ? gstUnquotable(parsed.toString()) : undefined;
  if (problem) throw new JobValidationError('parameters.rtmp_url', `${problem}; use engine=ffmpeg for this URL`);
  return { mode: 'rtmp', url: parsed.toString() };
}

/** codec parameter: a codec family, or an explicit encoder name from the catalogue. */
function resolveEncoder(req: JobRequest, scenarioCodec: Codec): EncoderInfo {
  const choice = chooseEncoder(req.engine, req.parameters.codec, scenarioCodec);
  if (!choice.ok) throw new JobValidationError('parameters.codec', choice.error);
  return choice.encoder;
}

/**
 * Segment-parallel encoding as asked: absent for off (the default); N for a job that can never be
 * split is refused, naming why. segment_seconds is auto's: with off or a number it has nothing to
 * set and is ignored (not refused: a rule between two fields cannot be said in the published
 * schema, and a request the schema allows is not refused — the fuzz test holds the API to that).
 */
function resolveSegmenting(req: JobRequest, spec: EncodeSpec): SegmentingIntent | undefined {
  const { parallel = 'off', segment_seconds: segmentSec } = req.parameters;
  if (parallel === 'off') return undefined;
  if (typeof parallel === 'number') {
    const refusal = splitRefusal({ ...spec, queue: req.queue });
    if (refusal) throw new JobValidationError('parameters.parallel', `cannot split this job: ${refusal}; use parallel=off or auto`);
  }
  return { parallel, segmentSec: (parallel === 'auto' ? segmentSec : undefined) ?? SEGMENT_SECONDS.default };
}

export function resolveJob(
  req: JobRequest,
  ctx: ResolveContext = DEFAULT_RESOLVE_CONTEXT,
): { spec: EncodeSpec; policy: JobPolicy; routing: RoutingIntent; segmenting?: SegmentingIntent } {
  const parsed = parseScenario(req.scenario);
  if (!parsed.ok) throw new JobValidationError('scenario', parsed.error);
  const scenario = parsed.scenario;
  const p = req.parameters;

  const encoder = resolveEncoder(req, scenario.codec);
  const preset = p.preset ?? encoder.defaultPreset;
  if (!encoder.presets.includes(preset)) {
    throw new JobValidationError('parameters.preset', `"${preset}" is not a preset of ${encoder.name}; allowed: ${encoder.presets.join(', ')}`);
  }
  const output = resolveOutput(req, encoder.engine);
  if (output.mode === 'rtmp' && encoder.codec !== 'h264') {
    throw new JobValidationError('parameters.codec', `RTMP (FLV) carries H.264 only; ${encoder.name} makes ${encoder.codec}`);
  }
  // the schema's pattern keeps a given bitrate between 50k and 200M
  const bitrateKbps = p.bitrate === undefined ? scenario.bitrateKbps : parseBitrateKbps(p.bitrate);

  const spec: EncodeSpec = {
    width: scenario.width,
    height: scenario.height,
    fps: scenario.fps,
    durationSec: p.duration ?? ctx.defaultDurationSec,
    codec: encoder.codec,
    encoder: encoder.name,
    engine: encoder.engine,
    bitrateKbps,
    preset,
    audio: p.audio ?? true,
    input: resolveInput(p.input, encoder.engine, ctx),
    output,
  };
  const policy: JobPolicy = {
    ...ctx.policy,
    maxRetries: p.max_retries ?? ctx.policy.maxRetries,
    attemptDeadlineMs: p.timeout !== undefined ? Math.round(p.timeout * 1000) : deriveDeadlineMs(spec),
    hardware: p.hardware ?? 'auto',
  };
  const segmenting = resolveSegmenting(req, spec);
  return { spec, policy, routing: routingIntentOf(req, policy), ...(segmenting ? { segmenting } : {}) };
}
