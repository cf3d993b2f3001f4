/**
 * Encoder catalogue: every encoder ffrtmp knows how to drive, the codec it makes, the hardware
 * capability it needs (which is also the task queue that carries its work), and the presets it
 * accepts. The API validates `codec` and `preset` against this; routing picks capabilities from it;
 * the command builders look up their defaults here. Pure data, safe in the workflow sandbox.
 */
import { CODECS, type Codec } from './scenarios';

/** A hardware capability a worker can offer; each has its own encode task queue. */
export const CAPABILITIES = ['cpu', 'nvenc', 'qsv', 'vaapi', 'gstreamer'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export const GPU_CAPABILITIES: readonly Capability[] = ['nvenc', 'qsv', 'vaapi'];

export type Engine = 'ffmpeg' | 'gstreamer';

export interface EncoderInfo {
  readonly name: string;
  readonly engine: Engine;
  readonly codec: Codec;
  /** what a worker must have to run it; gstreamer software encoders need `gstreamer` */
  readonly capability: Capability;
  readonly presets: readonly string[];
  readonly defaultPreset: string;
}

const X26X_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
] as const;
const NVENC_PRESETS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'] as const;
const QSV_PRESETS = ['veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;
const VPX_PRESETS = ['realtime', 'good', 'best'] as const;
const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

export const ENCODERS: readonly EncoderInfo[] = [
  // FFmpeg software
  { name: 'libx264', engine: 'ffmpeg', codec: 'h264', capability: 'cpu', presets: X26X_PRESETS, defaultPreset: 'medium' },
  { name: 'libx265', engine: 'ffmpeg', codec: 'h265', capability: 'cpu', presets: X26X_PRESETS, defaultPreset: 'medium' },
  { name: 'libvpx-vp9', engine: 'ffmpeg', codec: 'vp9', capability: 'cpu', presets: VPX_PRESETS, defaultPreset: 'good' },
  { name: 'libsvtav1', engine: 'ffmpeg', codec: 'av1', capability: 'cpu', presets: range(0, 13), defaultPreset: '10' },
  { name: 'libaom-av1', engine: 'ffmpeg', codec: 'av1', capability: 'cpu', presets: range(0, 8), defaultPreset: '8' },
  // FFmpeg hardware
  { name: 'h264_nvenc', engine: 'ffmpeg', codec: 'h264', capability: 'nvenc', presets: NVENC_PRESETS, defaultPreset: 'p4' },
  { name: 'hevc_nvenc', engine: 'ffmpeg', codec: 'h265', capability: 'nvenc', presets: NVENC_PRESETS, defaultPreset: 'p4' },
  { name: 'av1_nvenc', engine: 'ffmpeg', codec: 'av1', capability: 'nvenc', presets: NVENC_PRESETS, defaultPreset: 'p4' },
  { name: 'h264_qsv', engine: 'ffmpeg', codec: 'h264', capability: 'qsv', presets: QSV_PRESETS, defaultPreset: 'medium' },
  { name: 'hevc_qsv', engine: 'ffmpeg', codec: 'h265', capability: 'qsv', presets: QSV_PRESETS, defaultPreset: 'medium' },
  { name: 'h264_vaapi', engine: 'ffmpeg', codec: 'h264', capability: 'vaapi', presets: ['default'], defaultPreset: 'default' },
  { name: 'hevc_vaapi', engine: 'ffmpeg', codec: 'h265', capability: 'vaapi', presets: ['default'], defaultPreset: 'default' },
  // GStreamer software
  { name: 'x264enc', engine: 'gstreamer', codec: 'h264', capability: 'gstreamer', presets: X26X_PRESETS, defaultPreset: 'medium' },
  { name: 'x265enc', engine: 'gstreamer', codec: 'h265', capability: 'gstreamer', presets: X26X_PRESETS, defaultPreset: 'medium' },
  { name: 'vp9enc', engine: 'gstreamer', codec: 'vp9', capability: 'gstreamer', presets: VPX_PRESETS, defaultPreset: 'good' },
  { name: 'av1enc', engine: 'gstreamer', codec: 'av1', capability: 'gstreamer', presets: range(0, 8), defaultPreset: '8' },
];

export function findEncoder(name: string): EncoderInfo | undefined {
  return ENCODERS.find((e) => e.name === name);
}

/** Every encoder name the catalogue knows. */
export const ENCODER_NAMES: readonly string[] = ENCODERS.map((e) => e.name);

/** Every preset some encoder accepts (which ones an encoder takes, its own list says). */
export const ALL_PRESETS: readonly string[] = [...new Set(ENCODERS.flatMap((e) => e.presets))];

export type EncoderChoice = { ok: true; encoder: EncoderInfo } | { ok: false; error: string };

/**
 * The encoder a job request names: its `codec` parameter as a codec family (the engine's
 * software encoder for it) or an encoder name, else the scenario's codec. Request resolution
 * and the schema's published constraints (domain/schemas.ts) both choose with this.
 */
export function chooseEncoder(engine: 'auto' | Engine, codec: string | undefined, scenarioCodec: Codec): EncoderChoice {
  const family = engine === 'gstreamer' ? GSTREAMER_ENCODER : SOFTWARE_ENCODER;
  if (codec === undefined || (CODECS as readonly string[]).includes(codec)) {
    return { ok: true, encoder: findEncoder(family[(codec ?? scenarioCodec) as Codec])! };
  }
  const info = findEncoder(codec);
  if (!info) return { ok: false, error: `unknown codec or encoder "${codec}"; use one of ${CODECS.join(', ')} or an encoder: ${ENCODER_NAMES.join(', ')}` };
  if (engine !== 'auto' && info.engine !== engine) return { ok: false, error: `encoder ${info.name} belongs to engine ${info.engine}, not ${engine}` };
  return { ok: true, encoder: info };
}

/** The software FFmpeg encoder for a codec: the CPU rung every hardware ladder ends on. */
export const SOFTWARE_ENCODER: Readonly<Record<Codec, string>> = {
  h264: 'libx264',
  h265: 'libx265',
  vp9: 'libvpx-vp9',
  av1: 'libsvtav1',
};

/** The GStreamer software element for a codec. */
export const GSTREAMER_ENCODER: Readonly<Record<Codec, string>> = {
  h264: 'x264enc',
  h265: 'x265enc',
  vp9: 'vp9enc',
  av1: 'av1enc',
};

/** Hardware encoders per capability and codec (absent: that hardware cannot make that codec). */
export const HARDWARE_ENCODER: Readonly<Record<'nvenc' | 'qsv' | 'vaapi', Partial<Record<Codec, string>>>> = {
  nvenc: { h264: 'h264_nvenc', h265: 'hevc_nvenc', av1: 'av1_nvenc' },
  qsv: { h264: 'h264_qsv', h265: 'hevc_qsv' },
  vaapi: { h264: 'h264_vaapi', h265: 'hevc_vaapi' },
};

/**
 * The CPU preset that does about the same work as a hardware preset, for the GPU→CPU fallback.
 * NVENC p1 (fastest) … p7 (best) map onto x264/x265's ultrafast … slow; QSV names carry over.
 */
export function equivalentSoftwarePreset(from: EncoderInfo, preset: string, to: EncoderInfo): string {
  if (to.presets.includes(preset)) return preset;
  if (from.capability === 'nvenc' && to.presets.includes('medium')) {
    const ladder = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'];
    const i = (NVENC_PRESETS as readonly string[]).indexOf(preset);
    if (i >= 0) return ladder[i]!;
  }
  return to.defaultPreset;
}
