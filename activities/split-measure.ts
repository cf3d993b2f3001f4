/**
 * Measuring a joined output of a split job (the figures domain/split-checks.ts judges), at one
 * decode of it: frames counted and decode errors in the same pass, the container's duration, the
 * decoded audio samples; PSNR against the source from the segments' own encoders where each
 * measured it (combinedPsnr: the join copies their bitstreams), else by comparing the output with
 * the source (a second decode, of the source too).
 */
import { spawn } from 'node:child_process';
import type { EncodeSpec } from '../domain/job';
import { combinedPsnr, type SegmentPsnr, type SplitFigures } from '../domain/split-checks';
import { probeMedia } from './probe';
import { decodeVideo, quality } from './verify';

/** Samples of the first audio stream, decoded (mono 16-bit, counted, never kept); null without audio. */
export function decodedAudioSamples(ffmpeg: string, file: string, signal?: AbortSignal): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const proc = spawn(ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', '0:a:0?', '-ac', '1', '-f', 's16le', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let bytes = 0;
    let err = '';
    proc.stdout.on('data', (c: Buffer) => (bytes += c.length));
    proc.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4096)));
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) return reject(new Error(`decoding the audio of ${file} failed: ${err.trim().split('\n').pop() ?? code}`));
      resolve(bytes === 0 ? null : bytes / 2);
    });
  });
}

export interface MeasureInput {
  ffmpegPath: string;
  ffprobePath: string;
  file: string;
  spec: EncodeSpec;
  /** the source (file or URL), absent for the synthetic one */
  input?: string;
  durationSec: number;
  /** each segment's encoder-measured PSNR, in order; null where one measured none */
  segmentPsnr?: readonly (SegmentPsnr | null)[];
  signal?: AbortSignal;
}

export async function measureSplitOutput(m: MeasureInput): Promise<SplitFigures> {
  const parts = m.segmentPsnr ?? [];
  const reported = parts.length > 0 && parts.every((p): p is SegmentPsnr => p !== null) ? combinedPsnr(parts) : null;
  // the reads of the same file at once: the join's node has every core it has for them
  const [probe, audioSamples, decoded, measured] = await Promise.all([
    probeMedia(m.ffprobePath, m.file, { signal: m.signal }),
    decodedAudioSamples(m.ffmpegPath, m.file, m.signal),
    decodeVideo(m.ffmpegPath, m.file, m.signal),
    reported !== null
      ? null
      : quality({ confidence: 'high', spec: m.spec, expectedSec: m.durationSec, outputPath: m.file, input: m.input, framesReported: 0, ffmpegPath: m.ffmpegPath, ffprobePath: m.ffprobePath, gstLaunchPath: 'gst-launch-1.0', signal: m.signal }, { ssim: false }).then((q) => q.psnr),
  ]);
  return {
    frames: decoded.frames,
    durationSec: probe.duration,
    audioSamples,
    decodeErrors: decoded.errors,
    psnrDb: reported ?? measured,
    psnrBy: reported !== null ? 'segment encoders' : measured !== null ? 'comparison with the source' : null,
  };
}
