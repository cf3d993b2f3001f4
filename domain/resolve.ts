/**
 * Resolving a validated job request into what the workflow carries: the EncodeSpec (scenario
 * defaults, then parameter overrides, each checked against the encoder catalogue) and the
 * JobPolicy (retries, deadlines). Runs at the edge (API, CLI via Temporal) before anything reaches
 * Temporal; every error names the field it is about.
 */
import path from 'node:path';
import {
  ENCODERS,
  GSTREAMER_ENCODER,
  SOFTWARE_ENCODER,
  findEncoder,
  type EncoderInfo,
} from './encoders';
import {
  POLICY_DEFAULTS,
  deriveDeadlineMs,
  type EncodeSpec,
  type InputSpec,
  type JobPolicy,
  type JobRequest,
  type OutputSpec,
  type RoutingIntent,
} from './job';
import { routingIntentOf } from './routing';
import { CODECS, parseScenario, type Codec } from './scenarios';
import { parseBitrateKbps } from './schemas';
import { gstUnquotable, textProblem } from './text-rules';

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

function resolveInput(raw: string | undefined, engine: EncoderInfo['engine'], ctx: ResolveContext): InputSpec {
  if (raw === undefined) return { kind: 'synthetic' };
  const field = 'parameters.input';
  requireCleanText(raw, field);
  let input: InputSpec;
  if (/^https?:\/\//i.test(raw)) {
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
  const wanted = req.parameters.codec;
  const engine = req.engine === 'gstreamer' ? 'gstreamer' : 'ffmpeg';
  if (wanted === undefined || (CODECS as readonly string[]).includes(wanted)) {
    const codec = (wanted ?? scenarioCodec) as Codec;
    const name = engine === 'gstreamer' ? GSTREAMER_ENCODER[codec] : SOFTWARE_ENCODER[codec];
    return findEncoder(name)!;
  }
  const info = findEncoder(wanted);
  if (!info) {
    const names = ENCODERS.map((e) => e.name).join(', ');
    throw new JobValidationError('parameters.codec', `unknown codec or encoder "${wanted}"; use one of ${CODECS.join(', ')} or an encoder: ${names}`);
  }
  if (req.engine !== 'auto' && info.engine !== req.engine) {
    throw new JobValidationError('parameters.codec', `encoder ${info.name} belongs to engine ${info.engine}, not ${req.engine}`);
  }
  return info;
}

export function resolveJob(req: JobRequest, ctx: ResolveContext = DEFAULT_RESOLVE_CONTEXT): { spec: EncodeSpec; policy: JobPolicy; routing: RoutingIntent } {
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
  const bitrateKbps = p.bitrate === undefined ? scenario.bitrateKbps : parseBitrateKbps(p.bitrate);
  if (bitrateKbps < 50 || bitrateKbps > 200_000) {
    throw new JobValidationError('parameters.bitrate', 'must be between 50k and 200M');
  }

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
  return { spec, policy, routing: routingIntentOf(req, policy) };
}
