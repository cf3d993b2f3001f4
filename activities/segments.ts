/**
 * The split job's own activities (segment-parallel encoding), on the encode queue of its route:
 *   probeForSplit   what planning needs of the input: its duration, its audio's, its keyframes;
 *   joinSegments    the segments' files joined (concat demuxer, video copied), the audio encoded
 *                   once over the range from the source, metadata and chapters from it; then the
 *                   checks every split job gets (exact frame count, duration, audio samples, a
 *                   clean decode; PSNR against the source recorded); the output staged for the
 *                   workflow to publish, like a whole encode's;
 *   removeSegments  the job's segment folder, however the job ended.
 * Segment files live under the output root all workers share; no video goes through Temporal.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { JoinRequest, JoinResult, SplitProbe } from '../domain/activities';
import { FAILURE } from '../domain/failures';
import type { EncodeSpec, Verification } from '../domain/job';
import { SEGMENTS_DIR } from '../domain/segments';
import { judgeSplitOutput } from '../domain/split-checks';
import { containerFor } from '../encoders';
import { displayCommand } from '../encoders/ffmpeg-command';
import { buildJoinArgs, concatList } from '../encoders/ffmpeg-join';
import { parseBenchmarkCpu } from '../encoders/ffmpeg-progress';
import { AttemptFiles, type SessionDeps } from './encode-session';
import { EncoderProcess } from './encoder-process';
import { ProbeError, probeKeyframes, probeMedia } from './probe';
import { measureSplitOutput } from './split-measure';

type SegmentDeps = Pick<SessionDeps, 'node' | 'outputRoot' | 'ffmpegPath' | 'ffprobePath' | 'logger' | 'placement'> & { heartbeatIntervalMs?: number };

function sourceOf(spec: EncodeSpec): string | undefined {
  return spec.input.kind === 'file' ? spec.input.path : spec.input.kind === 'url' ? spec.input.url : undefined;
}

/** Heartbeats every interval while `work` runs, so a cancel reaches it; aborts it on cancel. */
async function heartbeating<T>(intervalMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const tick = setInterval(() => ctx.heartbeat(), intervalMs);
  try {
    return await work(ctx.cancellationSignal);
  } finally {
    clearInterval(tick);
  }
}

export function createSegmentActivities(deps: SegmentDeps) {
  const every = deps.heartbeatIntervalMs ?? 500;
  return {
    async probeForSplit(req: { jobId: string; spec: EncodeSpec }): Promise<SplitProbe> {
      const input = sourceOf(req.spec);
      if (input === undefined) return { inputSec: null, audioSec: null, keyframes: [] };
      return heartbeating(every, async (signal) => {
        try {
          const [probe, keyframes] = await Promise.all([probeMedia(deps.ffprobePath, input, { signal }), probeKeyframes(deps.ffmpegPath, input, { signal })]);
          return { inputSec: probe.duration, audioSec: probe.audio ? (probe.audio.duration ?? probe.duration) : null, keyframes: keyframes.slice(0, 20_000) };
        } catch (err) {
          if (err instanceof ProbeError) throw ApplicationFailure.create({ type: FAILURE.invalidJob, nonRetryable: true, message: `input is not readable media: ${err.message} (checked on ${deps.node.name})` });
          throw err;
        }
      });
    },

    async joinSegments(req: JoinRequest): Promise<JoinResult> {
      const jobDir = path.join(deps.outputRoot, req.jobId);
      const { format, extension } = containerFor(req.spec);
      const files = new AttemptFiles(jobDir, req.attempt, extension);
      const list = path.join(jobDir, SEGMENTS_DIR, `attempt-${req.attempt}.concat.txt`);
      const input = sourceOf(req.spec);
      const withAudio = req.spec.audio && (input === undefined || req.audioSec !== null);
      const spec = { ...req.spec, audio: withAudio };
      const args = buildJoinArgs(spec, { list, input, durationSec: req.durationSec, output: files.partial, format });
      const started = Date.now();
      return heartbeating(every, async (signal) => {
        await mkdir(path.dirname(list), { recursive: true });
        await writeFile(list, concatList(req.segments));
        let cpu: number | undefined;
        const proc = new EncoderProcess({ command: deps.ffmpegPath, args, cpus: deps.placement?.cpus, onStderrLine: (l) => (cpu = parseBenchmarkCpu(l) ?? cpu) });
        const kill = () => void proc.kill();
        signal.addEventListener('abort', kill);
        const exit = await proc.exited.finally(() => signal.removeEventListener('abort', kill));
        const shown = displayCommand('ffmpeg', args);
        if (signal.aborted) {
          await files.removeOwn();
          throw ApplicationFailure.create({ type: FAILURE.canceled, message: 'join canceled by its workflow' });
        }
        if (exit.code !== 0) {
          await files.removeOwn();
          throw ApplicationFailure.create({ type: FAILURE.encoderFailed, message: `joining ${req.segments.length} segments failed on ${deps.node.name}: ${proc.stderr.last(3).join(' | ')}`, details: [{ log: `${shown}\n${proc.stderr.toString()}` }] });
        }
        await rename(files.partial, files.staged);
        const figures = await measureSplitOutput({ ffmpegPath: deps.ffmpegPath, ffprobePath: deps.ffprobePath, file: files.staged, spec, input, durationSec: req.durationSec, segmentPsnr: req.segmentPsnr, signal });
        const checks = judgeSplitOutput(figures, {
          frames: req.totalFrames,
          durationSec: req.durationSec,
          audioSec: Math.min(req.durationSec, req.audioSec ?? req.durationSec),
          fps: spec.fps,
          sampleRate: withAudio ? 48_000 : null,
        });
        const verification: Verification = { level: 'high', passed: checks.every((c) => c.ok), checks, psnr_db: figures.psnrDb, ssim: null };
        const summary = checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} ${c.name}: expected ${c.expected}, got ${c.actual}`).join('\n');
        const log = `=== Join of ${req.segments.length} segments on ${deps.node.name} ===\n${shown}\n${proc.stderr.toString()}\n=== Checks of the split output ===\n${summary}\nPSNR against the source: ${figures.psnrDb === null ? 'not measured' : `${figures.psnrDb} dB (${figures.psnrBy})`}`;
        if (!verification.passed) {
          await files.removeOwn();
          const bad = checks.filter((c) => !c.ok).map((c) => `${c.name} ${c.actual} (expected ${c.expected})`);
          throw ApplicationFailure.create({ type: FAILURE.splitCheckFailed, message: `the joined output differs from a single pass: ${bad.join('; ')} (checked on ${deps.node.name})`, details: [{ log }] });
        }
        const seconds = (Date.now() - started) / 1000;
        return {
          nodeId: deps.node.id,
          result: {
            output: { path: files.final, url: null, size_bytes: (await stat(files.staged)).size },
            staged: files.staged,
            log,
            frames: figures.frames,
            duration_seconds: seconds,
            avg_fps: null,
            cpu_seconds: cpu ?? null,
            energy: null,
            verification,
          },
        };
      });
    },

    async removeSegments(req: { jobId: string }): Promise<void> {
      await rm(path.join(deps.outputRoot, req.jobId, SEGMENTS_DIR), { recursive: true, force: true });
    },
  };
}
