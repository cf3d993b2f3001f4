/**
 * Measuring a joined output of a split job (the figures domain/split-checks.ts judges): frames
 * counted by decoding, duration, decoded audio samples, decode errors, PSNR against the source.
 */
import { spawn } from 'node:child_process';
import type { EncodeSpec } from '../domain/job';
import type { SplitFigures } from '../domain/split-checks';
import { probeMedia } from './probe';
import { fullDecodeErrors, quality } from './verify';

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
  signal?: AbortSignal;
}

export async function measureSplitOutput(m: MeasureInput): Promise<SplitFigures> {
  // four reads of the same file at once: the join's node has every core it has for them
  const [probe, audioSamples, decodeErrors, q] = await Promise.all([
    probeMedia(m.ffprobePath, m.file, { countFrames: true, timeoutMs: 600_000, signal: m.signal }),
    decodedAudioSamples(m.ffmpegPath, m.file, m.signal),
    fullDecodeErrors(m.ffmpegPath, m.file, m.signal),
    quality({ confidence: 'high', spec: m.spec, expectedSec: m.durationSec, outputPath: m.file, input: m.input, framesReported: 0, ffmpegPath: m.ffmpegPath, ffprobePath: m.ffprobePath, gstLaunchPath: 'gst-launch-1.0', signal: m.signal }, { ssim: false }),
  ]);
  return { frames: probe.video?.frames ?? -1, durationSec: probe.duration, audioSamples, decodeErrors, psnrDb: q.psnr };
}
