/**
 * Verification before a job is called completed — how much depends on its confidence:
 *   low     the output exists and is not empty (a stream: the encoder sent frames)
 *   medium  ffprobe confirms duration, resolution, codec and frame count against the request
 *   high    medium, plus a full decode of the output without errors, and PSNR and SSIM against
 *           the source (synthetic sources are reproducible, so the reference is made again)
 *   auto    medium for files, low for RTMP
 * An RTMP stream cannot be read back from the publishing side, so medium and high check the frames
 * the encoder reports sending. A failed check fails the attempt with the reason.
 */
import { execFile, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Confidence, EncodeSpec, Verification, VerificationCheck } from '../domain/job';
import { QUALITY_THRESHOLDS } from '../domain/job';
import { isHttpUrl } from '../domain/urls';
import { syntheticInputArgs } from '../encoders/ffmpeg-command';
import { GST_TEST_PATTERN } from '../encoders/gstreamer-pipeline';
import { probeMedia } from './probe';

export function verificationLevel(confidence: Confidence, spec: EncodeSpec): 'low' | 'medium' | 'high' {
  if (confidence !== 'auto') return confidence;
  return spec.output.mode === 'rtmp' ? 'low' : 'medium';
}

const CODEC_NAMES: Record<EncodeSpec['codec'], string> = { h264: 'h264', h265: 'hevc', vp9: 'vp9', av1: 'av1' };

export interface VerifyInput {
  confidence: Confidence;
  spec: EncodeSpec;
  expectedSec: number;
  /** the file written, or null for a stream */
  outputPath: string | null;
  /** the input the encoder read (file or URL), absent for the synthetic source */
  input?: string;
  framesReported: number;
  ffmpegPath: string;
  ffprobePath: string;
  gstLaunchPath: string;
  signal?: AbortSignal;
}

const check = (name: string, expected: string, actual: string, ok: boolean): VerificationCheck => ({ name, expected, actual, ok });

export async function verifyOutput(v: VerifyInput): Promise<Verification> {
  const level = verificationLevel(v.confidence, v.spec);
  const checks: VerificationCheck[] = [];
  let psnr: number | null = null;
  let ssim: number | null = null;
  const expectedFrames = Math.round(v.expectedSec * v.spec.fps);
  const frameSlack = Math.max(2, Math.ceil(expectedFrames * 0.02));

  if (v.outputPath === null) {
    checks.push(check('frames sent', '> 0', String(v.framesReported), v.framesReported > 0));
    if (level !== 'low') {
      checks.push(check('frames sent', `${expectedFrames} ±${frameSlack}`, String(v.framesReported), Math.abs(v.framesReported - expectedFrames) <= frameSlack));
    }
    return finish(level, checks, psnr, ssim);
  }

  const size = await stat(v.outputPath).then((s) => s.size, () => 0);
  checks.push(check('output size', '> 0 bytes', `${size} bytes`, size > 0));
  if (level === 'low' || size === 0) return finish(level, checks, psnr, ssim);

  // at high, the full decode counts the frames too: one decode of the output, not two
  const high = level === 'high';
  const probe = await probeMedia(v.ffprobePath, v.outputPath, { countFrames: !high, timeoutMs: 120_000, signal: v.signal });
  const decoded = high ? await decodeVideo(v.ffmpegPath, v.outputPath, v.signal) : undefined;
  const tolerance = Math.max(0.25, v.expectedSec * 0.03);
  checks.push(check('duration', `${v.expectedSec.toFixed(2)} s ±${tolerance.toFixed(2)}`, `${probe.duration?.toFixed(2) ?? 'unknown'} s`, probe.duration !== null && Math.abs(probe.duration - v.expectedSec) <= tolerance));
  const res = probe.video ? `${probe.video.width}x${probe.video.height}` : 'no video';
  checks.push(check('resolution', `${v.spec.width}x${v.spec.height}`, res, res === `${v.spec.width}x${v.spec.height}`));
  checks.push(check('codec', CODEC_NAMES[v.spec.codec], probe.video?.codec ?? 'none', probe.video?.codec === CODEC_NAMES[v.spec.codec]));
  const frames = decoded?.frames ?? probe.video?.frames ?? -1;
  checks.push(check('frame count', `${expectedFrames} ±${frameSlack}`, String(frames), Math.abs(frames - expectedFrames) <= frameSlack));

  if (decoded) {
    const decodeErrors = decoded.errors;
    checks.push(check('full decode', 'no errors', decodeErrors.length === 0 ? 'no errors' : decodeErrors.slice(0, 3).join(' | '), decodeErrors.length === 0));
    const q = await quality(v);
    psnr = q.psnr;
    ssim = q.ssim;
    checks.push(check('PSNR', `>= ${QUALITY_THRESHOLDS.minPsnrDb} dB`, psnr === null ? 'not measured' : `${psnr} dB`, psnr !== null && psnr >= QUALITY_THRESHOLDS.minPsnrDb));
    checks.push(check('SSIM', `>= ${QUALITY_THRESHOLDS.minSsim}`, ssim === null ? 'not measured' : String(ssim), ssim !== null && ssim >= QUALITY_THRESHOLDS.minSsim));
  }
  return finish(level, checks, psnr, ssim);
}

function finish(level: Verification['level'], checks: VerificationCheck[], psnr: number | null, ssim: number | null): Verification {
  return { level, passed: checks.every((c) => c.ok), checks, psnr_db: psnr, ssim };
}

/**
 * The whole video stream decoded once: the frames it gives (ffmpeg's progress count, frames passed
 * through as decoded) and the lines ffmpeg reports at error level on the way.
 */
export function decodeVideo(ffmpeg: string, file: string, signal?: AbortSignal): Promise<{ frames: number; errors: string[] }> {
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-nostats', '-progress', 'pipe:1', '-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'null', '-'];
  return new Promise((resolve) => {
    execFile(ffmpeg, args, { timeout: 600_000, maxBuffer: 16 * 1024 * 1024, signal }, (err, stdout, stderr) => {
      const errors = String(stderr).split('\n').filter(Boolean);
      if (err && errors.length === 0) errors.push(err.message);
      const counts = [...String(stdout).matchAll(/^frame=(\d+)$/gm)];
      resolve({ frames: counts.length > 0 ? Number(counts[counts.length - 1]![1]) : -1, errors });
    });
  });
}

/**
 * PSNR and SSIM of the output against the source, scaled to the output's size; `ssim: false` for
 * PSNR alone (SSIM is the dearer filter, and a split job's checks record PSNR only).
 */
export function quality(v: VerifyInput, metrics: { ssim: boolean } = { ssim: true }): Promise<{ psnr: number | null; ssim: number | null }> {
  const { spec } = v;
  const size = `${spec.width}:${spec.height}`;
  let reference: string[];
  let feeder: ReturnType<typeof spawn> | undefined;
  if (v.input !== undefined) {
    reference = ['-protocol_whitelist', isHttpUrl(v.input) ? 'http,https,tcp,tls' : 'file', '-t', String(v.expectedSec), '-i', v.input];
  } else if (spec.engine === 'gstreamer') {
    // GStreamer's test source, made again by GStreamer and piped in losslessly (FFV1 in Matroska;
    // y4menc mishandles padded row strides)
    const frames = Math.max(1, Math.round(spec.durationSec * spec.fps));
    feeder = spawn(
      v.gstLaunchPath,
      ['-q', 'videotestsrc', `num-buffers=${frames}`, ...GST_TEST_PATTERN, '!', `video/x-raw,width=${spec.width},height=${spec.height},framerate=${spec.fps}/1`, '!', 'videoconvert', '!', 'video/x-raw,format=I420', '!', 'avenc_ffv1', '!', 'matroskamux', '!', 'fdsink', 'fd=1'],
      { stdio: ['ignore', 'pipe', 'ignore'], signal: v.signal },
    );
    reference = ['-f', 'matroska', '-i', 'pipe:0'];
  } else {
    reference = syntheticInputArgs({ ...spec, audio: false });
  }
  // frames are paired by index, not by timestamp: container time bases round differently
  const index = `settb=1/${spec.fps},setpts=N`;
  const graph = metrics.ssim
    ? `[0:v]scale=${size},format=yuv420p,${index},split[a][b];[1:v]fps=${spec.fps},scale=${size},format=yuv420p,${index},split[c][d];[a][c]psnr;[b][d]ssim`
    : `[0:v]scale=${size},format=yuv420p,${index}[a];[1:v]fps=${spec.fps},scale=${size},format=yuv420p,${index}[c];[a][c]psnr`;
  const args = ['-hide_banner', '-nostdin', '-nostats', '-i', v.outputPath!, ...reference, '-lavfi', graph, '-f', 'null', '-'];
  return new Promise((resolve) => {
    const proc = spawn(v.ffmpegPath, args, { stdio: [feeder ? 'pipe' : 'ignore', 'ignore', 'pipe'], signal: v.signal });
    if (feeder && proc.stdin) {
      feeder.stdout!.pipe(proc.stdin);
      proc.stdin.on('error', () => undefined); // ffmpeg may stop reading early; that is fine
    }
    let err = '';
    proc.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-64 * 1024)));
    proc.on('error', () => resolve({ psnr: null, ssim: null }));
    proc.on('close', () => {
      feeder?.kill('SIGKILL');
      const p = /PSNR .*average:([\d.]+|inf)/.exec(err)?.[1];
      const s = /SSIM .*All:([\d.]+)/.exec(err)?.[1];
      resolve({
        psnr: p === undefined ? null : p === 'inf' ? 100 : Math.round(Number(p) * 100) / 100,
        ssim: s === undefined ? null : Math.round(Number(s) * 10000) / 10000,
      });
    });
  });
}
