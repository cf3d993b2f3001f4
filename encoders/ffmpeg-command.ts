/**
 * FFmpeg command builder: a pure function of (spec, resolved paths) → argument array. One small
 * strategy per encoder family (software x264/x265, VP9, AV1, NVENC, QSV, VAAPI) supplies the video
 * options; input, audio, progress and output handling are shared. Golden-tested per encoder.
 */
import { findEncoder, type Capability } from '../domain/encoders';
import type { EncodeSpec } from '../domain/job';
import { isHttpUrl } from '../domain/urls';

export interface FfmpegIo {
  /** absolute local path or validated http(s) URL; absent for the synthetic source */
  input?: string;
  /** absolute path of the file to write, or the RTMP URL */
  output: string;
  /** the container for a file output (ffmpeg's -f) */
  format: string;
  /** encode only these output frames, video only (segment-parallel encoding, domain/segments.ts) */
  segment?: SegmentRange;
  /** the encoder's thread count (a worker setting, FFRTMP_ENCODER_THREADS) */
  threads?: number;
}

/** The output frames one segment encodes: from startFrame (at startFrame / fps in the source), this many. */
export interface SegmentRange {
  startFrame: number;
  frames: number;
}

type VideoStrategy = (spec: EncodeSpec) => string[];

const gop = (spec: EncodeSpec) => ['-g', String(Math.max(1, Math.round(spec.fps * 2)))];
const rate = (spec: EncodeSpec) => [
  '-b:v', `${spec.bitrateKbps}k`,
  '-maxrate', `${spec.bitrateKbps}k`,
  '-bufsize', `${spec.bitrateKbps * 2}k`,
];

const VIDEO: Readonly<Record<string, VideoStrategy>> = {
  libx264: (s) => ['-c:v', 'libx264', '-preset', s.preset, ...rate(s), ...gop(s), '-pix_fmt', 'yuv420p'],
  libx265: (s) => [
    '-c:v', 'libx265', '-preset', s.preset, ...rate(s), ...gop(s), '-pix_fmt', 'yuv420p',
    // closed GOPs (x265 opens them by default): every segment must decode on its own
    '-x265-params', 'log-level=error:no-open-gop=1', '-tag:v', 'hvc1',
  ],
  'libvpx-vp9': (s) => {
    const cpuUsed: Record<string, string> = { realtime: '8', good: '4', best: '1' };
    return [
      '-c:v', 'libvpx-vp9', '-deadline', s.preset, '-cpu-used', cpuUsed[s.preset] ?? '4',
      '-row-mt', '1', '-b:v', `${s.bitrateKbps}k`, ...gop(s), '-pix_fmt', 'yuv420p',
    ];
  },
  libsvtav1: (s) => ['-c:v', 'libsvtav1', '-preset', s.preset, '-b:v', `${s.bitrateKbps}k`, ...gop(s), '-pix_fmt', 'yuv420p'],
  'libaom-av1': (s) => [
    '-c:v', 'libaom-av1', '-cpu-used', s.preset, '-usage', 'realtime', '-row-mt', '1',
    '-b:v', `${s.bitrateKbps}k`, ...gop(s), '-pix_fmt', 'yuv420p',
  ],
  h264_nvenc: (s) => ['-c:v', 'h264_nvenc', '-preset', s.preset, ...rate(s), ...gop(s)],
  hevc_nvenc: (s) => ['-c:v', 'hevc_nvenc', '-preset', s.preset, ...rate(s), ...gop(s), '-tag:v', 'hvc1'],
  av1_nvenc: (s) => ['-c:v', 'av1_nvenc', '-preset', s.preset, ...rate(s), ...gop(s)],
  h264_qsv: (s) => ['-c:v', 'h264_qsv', '-preset', s.preset, ...rate(s), ...gop(s)],
  hevc_qsv: (s) => ['-c:v', 'hevc_qsv', '-preset', s.preset, ...rate(s), ...gop(s), '-tag:v', 'hvc1'],
  h264_vaapi: (s) => ['-c:v', 'h264_vaapi', ...rate(s), ...gop(s)],
  hevc_vaapi: (s) => ['-c:v', 'hevc_vaapi', ...rate(s), ...gop(s), '-tag:v', 'hvc1'],
};

/**
 * Encoders that measure their own PSNR against the frames they are given (`-flags +psnr`; x264
 * prints `PSNR Mean … Global:` as it closes, parseEncoderPsnr). A split job's segments ask for it:
 * the encoder's frames are the source's, scaled, so the job's PSNR against the source costs no
 * second decode of the source at the join (ffmpeg 5.1's libx265 exports no such figure).
 */
export const SELF_MEASURED_PSNR: ReadonlySet<string> = new Set(['libx264']);

/** Device setup a hardware encoder needs before its inputs. */
function deviceArgs(capability: Capability): string[] {
  if (capability === 'vaapi') return ['-vaapi_device', '/dev/dri/renderD128'];
  return [];
}

/** Filters: scale to the spec's size and frame rate; VAAPI uploads frames to the GPU. */
function filterArgs(spec: EncodeSpec, capability: Capability, hasRealInput: boolean): string[] {
  const filters: string[] = [];
  if (hasRealInput) filters.push(`scale=${spec.width}:${spec.height}`, `fps=${spec.fps}`);
  if (capability === 'vaapi') filters.push('format=nv12', 'hwupload');
  return filters.length > 0 ? ['-vf', filters.join(',')] : [];
}

/** A time for ffmpeg: seconds with microsecond precision, no exponent. */
export function seconds(t: number): string {
  return (Math.round(t * 1e6) / 1e6).toFixed(6).replace(/\.?0+$/, '') || '0';
}

export function audioArgs(spec: Pick<EncodeSpec, 'audio'>, format: string): string[] {
  if (!spec.audio) return ['-an'];
  if (format === 'webm') return ['-c:a', 'libopus', '-b:a', '96k'];
  return ['-c:a', 'aac', '-b:a', '128k', '-ar', '48000'];
}

/** The synthetic source: moving test pattern with a clock, and a tone; reproducible bit for bit. */
export function syntheticInputArgs(spec: Pick<EncodeSpec, 'width' | 'height' | 'fps' | 'durationSec' | 'audio'>): string[] {
  const video = ['-f', 'lavfi', '-i', `testsrc2=size=${spec.width}x${spec.height}:rate=${spec.fps}:duration=${spec.durationSec}`];
  return [...video, ...(spec.audio ? syntheticAudioArgs(spec.durationSec) : [])];
}

/** The synthetic source's tone alone (the join of a split job encodes it once for the whole range). */
export function syntheticAudioArgs(durationSec: number): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${durationSec}`];
}

export function containerFor(spec: EncodeSpec): { format: string; extension: string } {
  if (spec.output.mode === 'rtmp') return { format: 'flv', extension: 'flv' };
  if (spec.codec === 'vp9') return { format: 'webm', extension: 'webm' };
  return { format: 'mp4', extension: 'mp4' };
}

/**
 * A local file for ffmpeg: absolute, so it starts with "/" and ffmpeg never reads a name such as
 * `a:b.mp4` as protocol `a` (a relative name would be looked for a protocol prefix; "/" cannot be
 * part of one). Resolution makes inputs absolute (confineToRoot); this keeps the builder honest.
 */
export function localPath(file: string, what: string): string {
  if (!file.startsWith('/')) throw new Error(`${what} must be an absolute path for ffmpeg, got ${JSON.stringify(file)}`);
  return file;
}

export function buildFfmpegArgs(spec: EncodeSpec, io: FfmpegIo): string[] {
  const info = findEncoder(spec.encoder);
  const video = VIDEO[spec.encoder];
  if (!info || info.engine !== 'ffmpeg' || !video) throw new Error(`no FFmpeg strategy for encoder ${spec.encoder}`);
  const realtime = spec.output.mode === 'rtmp';
  const segment = io.segment;
  if (segment && realtime) throw new Error('an RTMP output is never split into segments');
  // a segment is video only: the audio is encoded once over the whole timeline at the join
  const withAudio = spec.audio && !segment;
  // accurate seek (the default when transcoding): decoding starts at the keyframe before, output at the frame
  const seek = segment && segment.startFrame > 0 ? ['-ss', seconds(segment.startFrame / spec.fps)] : [];

  const input: string[] = [];
  if (io.input === undefined) {
    if (realtime) input.push('-re');
    input.push(...seek, ...syntheticInputArgs({ ...spec, audio: withAudio }));
  } else {
    const remote = isHttpUrl(io.input);
    input.push('-protocol_whitelist', remote ? 'http,https,tcp,tls' : 'file');
    if (realtime) input.push('-re');
    input.push(...seek, '-i', remote ? io.input : localPath(io.input, 'input'));
  }

  const output: string[] = [];
  if (io.input !== undefined) output.push('-map', '0:v:0', ...(withAudio ? ['-map', '0:a:0?'] : []));
  output.push(...filterArgs(spec, info.capability, io.input !== undefined));
  output.push(...video(spec));
  if (io.threads !== undefined) output.push('-threads', String(io.threads));
  if (segment && SELF_MEASURED_PSNR.has(spec.encoder)) output.push('-flags', '+psnr');
  if (segment) output.push('-an', '-sn', '-dn', '-frames:v', String(segment.frames));
  else output.push(...audioArgs(spec, io.format), '-t', String(spec.durationSec));
  if (io.format === 'mp4') output.push('-movflags', '+faststart');
  output.push('-f', io.format);

  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-progress', 'pipe:1',
    '-stats_period', '0.5',
    // prints the encoder's own CPU time at the end (utime/stime over all its threads)
    '-benchmark',
    ...deviceArgs(info.capability),
    ...input,
    ...output,
    '-y',
    realtime ? io.output : localPath(io.output, 'output'),
  ];
}

/** A command line for people to read in logs (never executed through a shell). */
export function displayCommand(command: string, args: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [command, ...args].map(quote).join(' ');
}
