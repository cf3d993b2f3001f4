/**
 * Scenario catalogue: a scenario name says what to produce — resolution, frame rate and codec —
 * and carries defaults for bitrate and preset. Grammar:
 *
 *     <resolution>[<fps>]-<codec>        e.g. 4K60-h264, 1080p-h265 (fps defaults to 30), 720p30-h264
 *
 * resolution: 4K | 2160p | 1440p | 1080p | 720p | 480p | 360p | 240p
 * fps:        1..120 (optional, default 30)
 * codec:      h264 | h265 | vp9 | av1
 *
 * Pure data and pure functions: the workflow sandbox, the API and the CLI all import this.
 */

export const CODECS = ['h264', 'h265', 'vp9', 'av1'] as const;
export type Codec = (typeof CODECS)[number];

export interface Resolution {
  readonly label: string;
  readonly width: number;
  readonly height: number;
}

export const RESOLUTIONS: readonly Resolution[] = [
  { label: '4K', width: 3840, height: 2160 },
  { label: '2160p', width: 3840, height: 2160 },
  { label: '1440p', width: 2560, height: 1440 },
  { label: '1080p', width: 1920, height: 1080 },
  { label: '720p', width: 1280, height: 720 },
  { label: '480p', width: 854, height: 480 },
  { label: '360p', width: 640, height: 360 },
  { label: '240p', width: 426, height: 240 },
];

export const DEFAULT_FPS = 30;
export const MAX_FPS = 120;

export interface Scenario {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly codec: Codec;
  /** Default target bitrate in kbit/s. */
  readonly bitrateKbps: number;
}

/** The presets listed by GET /scenarios; any name that fits the grammar is accepted too. */
export const PRESET_SCENARIOS = [
  '4K60-h264',
  '4K30-h265',
  '1440p60-h264',
  '1080p60-h264',
  '1080p-h265',
  '720p30-h264',
  '480p30-av1',
  '1080p60-vp9',
  '240p30-h264',
] as const;

export const SCENARIO_GRAMMAR =
  '<resolution>[<fps>]-<codec> where resolution is one of ' +
  RESOLUTIONS.map((r) => r.label).join(', ') +
  `; fps is 1..${MAX_FPS} (default ${DEFAULT_FPS}); codec is one of ${CODECS.join(', ')}`;

/** `4K` → `4[kK]`: case-insensitive without a flag (JSON Schema patterns take none). */
const anyCase = (text: string): string => text.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
/** 1..120, with up to three digits as written (`030` is 30). */
const FPS_PATTERN = '0{0,2}[1-9]|0?[1-9]\\d|1[01]\\d|120';

/**
 * The scenario grammar as a pattern, optionally for some codecs only: the one definition that
 * parseScenario matches and the API's schema publishes (JSON Schema / ECMA-262 syntax).
 */
export function scenarioPattern(codecs: readonly Codec[] = CODECS): string {
  const res = RESOLUTIONS.map((r) => anyCase(r.label)).join('|');
  return `^(${res})(${FPS_PATTERN})?-(${codecs.map(anyCase).join('|')})$`;
}
export const SCENARIO_PATTERN = scenarioPattern();
const SCENARIO_RE = new RegExp(SCENARIO_PATTERN);

/**
 * Default bitrates (kbit/s) for H.264 at 30 fps, by height; other codecs need less for the
 * same quality and higher frame rates more. Round numbers a streaming ladder would use.
 */
const H264_30FPS_KBPS: Readonly<Record<number, number>> = {
  2160: 20000,
  1440: 10000,
  1080: 6000,
  720: 3000,
  480: 1500,
  360: 800,
  240: 400,
};
const CODEC_EFFICIENCY: Readonly<Record<Codec, number>> = { h264: 1, h265: 0.6, vp9: 0.65, av1: 0.5 };

export function defaultBitrateKbps(height: number, fps: number, codec: Codec): number {
  const base = H264_30FPS_KBPS[height] ?? 3000;
  const fpsFactor = fps > 30 ? 1.5 : 1;
  return Math.round((base * fpsFactor * CODEC_EFFICIENCY[codec]) / 100) * 100;
}

export type ScenarioResult = { ok: true; scenario: Scenario } | { ok: false; error: string };

export function parseScenario(name: string): ScenarioResult {
  const m = SCENARIO_RE.exec(name);
  if (!m) {
    return {
      ok: false,
      error: `unknown scenario "${name.slice(0, 64)}": expected ${SCENARIO_GRAMMAR}, e.g. ${PRESET_SCENARIOS.slice(0, 4).join(', ')}`,
    };
  }
  const label = m[1]!.toUpperCase() === '4K' ? '4K' : m[1]!.toLowerCase();
  const res = RESOLUTIONS.find((r) => r.label === label)!;
  // the pattern admits 1..MAX_FPS only
  const fps = m[2] === undefined ? DEFAULT_FPS : Number(m[2]);
  const codec = m[3]!.toLowerCase() as Codec;
  return {
    ok: true,
    scenario: {
      name,
      width: res.width,
      height: res.height,
      fps,
      codec,
      bitrateKbps: defaultBitrateKbps(res.height, fps, codec),
    },
  };
}

export function listScenarios(): Scenario[] {
  return PRESET_SCENARIOS.map((n) => {
    const r = parseScenario(n);
    if (!r.ok) throw new Error(r.error);
    return r.scenario;
  });
}
