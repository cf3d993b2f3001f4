/**
 * What the joined output of a split job must satisfy (segment-parallel encoding): the figures a
 * single pass of the same range makes, exactly for the frames, within one audio frame for the
 * samples. Pure: the check activity measures, this judges.
 */
import type { VerificationCheck } from './job';

/** Samples in one audio frame: AAC's 1024 (Opus, at 48 kHz, uses up to 960). */
export const AUDIO_FRAME_SAMPLES = 1024;
/**
 * The check has no single pass to compare with, only the range's nominal figure: it allows one
 * frame of the output encoder's end padding plus one of the source's (an AAC source decodes up to
 * a frame longer than its stated duration: 3.000 s at 44.1 kHz made 145,408 samples at 48 kHz,
 * not 144,000, in a single pass and split alike). Against a single pass the tests hold one frame.
 */
export const AUDIO_SLACK_SAMPLES = 2 * AUDIO_FRAME_SAMPLES;

export interface SplitFigures {
  frames: number;
  durationSec: number | null;
  /** decoded audio samples, null when there is no audio */
  audioSamples: number | null;
  decodeErrors: string[];
  psnrDb: number | null;
  /** who measured the PSNR (the segments' encoders, or a comparison at the join); null when nobody did */
  psnrBy?: 'segment encoders' | 'comparison with the source' | null;
}

export interface SplitExpectation {
  frames: number;
  /** the range encoded: what a single pass's audio lasts */
  durationSec: number;
  fps: number;
  /** how long the source's audio lasts within the range (an input's audio may end before its video) */
  audioSec: number;
  /** sample rate of the audio, or null when the output has none */
  sampleRate: number | null;
}

const check = (name: string, expected: string, actual: string, ok: boolean): VerificationCheck => ({ name, expected, actual, ok });

export function judgeSplitOutput(got: SplitFigures, want: SplitExpectation): VerificationCheck[] {
  const videoSec = want.frames / want.fps;
  const checks = [
    check('frame count', String(want.frames), String(got.frames), got.frames === want.frames),
    // the container's duration is its longest stream: video of N frames, or audio of the range
    check('duration', `${videoSec.toFixed(3)} s ±${(1 / want.fps).toFixed(3)}`, got.durationSec === null ? 'unknown' : `${got.durationSec.toFixed(3)} s`, got.durationSec !== null && Math.abs(got.durationSec - Math.max(videoSec, want.durationSec)) <= 1 / want.fps + 0.001),
  ];
  if (want.sampleRate !== null) {
    const expected = Math.round(want.audioSec * want.sampleRate);
    const samples = got.audioSamples;
    checks.push(check('audio samples', `${expected} ±${AUDIO_SLACK_SAMPLES}`, samples === null ? 'no audio' : String(samples), samples !== null && Math.abs(samples - expected) <= AUDIO_SLACK_SAMPLES));
  }
  checks.push(check('full decode', 'no errors', got.decodeErrors.length === 0 ? 'no errors' : got.decodeErrors.slice(0, 3).join(' | '), got.decodeErrors.length === 0));
  return checks;
}

/** One segment's share of the job's PSNR: its frames and the PSNR its encoder measured. */
export interface SegmentPsnr {
  frames: number;
  psnrDb: number;
}

/**
 * The joined output's PSNR from its segments' (the join copies their bitstreams): the mean squared
 * error of each, weighted by its frames, as one pass over all frames sums it. Null without parts.
 */
export function combinedPsnr(parts: readonly SegmentPsnr[]): number | null {
  const frames = parts.reduce((n, p) => n + p.frames, 0);
  if (parts.length === 0 || frames <= 0) return null;
  // PSNR = 10·log10(peak² / MSE): work in MSE relative to peak²
  const mse = parts.reduce((sum, p) => sum + p.frames * 10 ** (-p.psnrDb / 10), 0) / frames;
  return mse <= 0 ? 100 : Math.round(-10 * Math.log10(mse) * 1000) / 1000;
}
