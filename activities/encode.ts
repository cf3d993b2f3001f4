/**
 * The encode activity: runs one attempt of a job on this worker. It probes the input, builds the
 * command for the job's engine (FFmpeg or GStreamer; never a shell), runs the encoder as its own
 * process group, turns its progress output into heartbeat details (progress, fps, speed, ETA — no
 * history event per tick), detects stalls (paused time excluded), obeys cancellation within one
 * heartbeat interval, verifies the output as the job's confidence asks, and keeps a bounded log.
 */
import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { EncodeFailureDetails, EncodeRequest } from '../domain/activities';
import { FAILURE } from '../domain/activities';
import { SOFTWARE_ENCODER, equivalentSoftwarePreset, findEncoder } from '../domain/encoders';
import type { EncodeProgress, EncodeResult, EncodeSpec } from '../domain/job';
import { jobWorkflowId } from '../domain/job';
import { encodeRunningSignal, encodeStartedSignal } from '../domain/messages';
import { containerFor, encoderCommand } from '../encoders';
import { displayCommand } from '../encoders/ffmpeg-command';
import { etaSeconds, parseBenchmarkCpu, percentDone, type ProgressSnapshot } from '../encoders/ffmpeg-progress';
import type { Logger } from '../lib/logger';
import { EncoderProcess } from './encoder-process';
import type { EncoderRegistry } from './encoder-registry';
import { ProbeError, probeMedia } from './probe';
import { NO_TELEMETRY, type AttemptOutcome, type EncodeTelemetry } from './telemetry';
import { verifyOutput } from './verify';

export interface EncodeDeps {
  node: { id: string; name: string };
  /** files go to <outputRoot>/<job id>/ */
  outputRoot: string;
  registry: EncoderRegistry;
  /** encoders this worker really has (ffmpeg -encoders / gst elements, confirmed by a test encode) */
  availableEncoders: ReadonlySet<string>;
  ffmpegPath: string;
  ffprobePath: string;
  gstLaunchPath?: string;
  logger: Logger;
  /** how often progress is heartbeated (the cancel latency is at most about this) */
  heartbeatIntervalMs?: number;
  telemetry?: EncodeTelemetry;
  /** encoders of capabilities declared by configuration, not present: a software encoder stands in */
  simulatedEncoders?: ReadonlySet<string>;
}

/** The software encode that stands in for a simulated hardware encoder. */
function standIn(spec: EncodeSpec): EncodeSpec {
  const from = findEncoder(spec.encoder)!;
  const to = findEncoder(SOFTWARE_ENCODER[spec.codec])!;
  return { ...spec, encoder: to.name, preset: equivalentSoftwarePreset(from, spec.preset, to) };
}

const failure = (type: string, message: string, log?: string, nonRetryable = false) =>
  ApplicationFailure.create({ type, message, nonRetryable, details: log === undefined ? [] : [{ log } satisfies EncodeFailureDetails] });

export function createEncodeActivity(deps: EncodeDeps) {
  const gstLaunch = deps.gstLaunchPath ?? 'gst-launch-1.0';

  return async function encode(req: EncodeRequest): Promise<EncodeResult> {
    const ctx = Context.current();
    const { jobId, attempt } = req;
    const simulated = deps.simulatedEncoders?.has(req.spec.encoder) ?? false;
    let spec = simulated ? standIn(req.spec) : req.spec;
    const log = deps.logger.child({ job_id: jobId, attempt, node: deps.node.id });

    if (!simulated && !deps.availableEncoders.has(spec.encoder)) {
      throw failure(FAILURE.invalidJob, `encoder ${spec.encoder} is not available on ${deps.node.name} (its ${spec.engine} build or hardware lacks it)`, undefined, true);
    }

    // the input, probed first: unreadable or non-media input fails the job at once
    const input = spec.input.kind === 'file' ? spec.input.path : spec.input.kind === 'url' ? spec.input.url : undefined;
    let expectedSec = spec.durationSec;
    let inputSec: number | null = null;
    if (input !== undefined) {
      try {
        const probe = await probeMedia(deps.ffprobePath, input, { timeoutMs: 20_000, signal: ctx.cancellationSignal });
        inputSec = probe.duration;
        if (inputSec !== null) expectedSec = Math.min(expectedSec, inputSec);
        // an input without sound gets an output without sound
        if (!probe.audio) spec = { ...spec, audio: false };
        spec = { ...spec, durationSec: expectedSec };
      } catch (err) {
        if (!(err instanceof ProbeError)) throw err;
        throw failure(FAILURE.invalidJob, `input is not readable media: ${err.message}`, undefined, true);
      }
    }

    const { extension } = containerFor(spec);
    const jobDir = path.join(deps.outputRoot, jobId);
    let encoderInput = input;
    const finalPath = path.join(jobDir, `output.${extension}`);
    const partialPath = `${finalPath}.partial`;
    const toFile = spec.output.mode === 'file';
    let command;
    try {
      command = encoderCommand(spec, { input, output: spec.output.mode === 'rtmp' ? spec.output.url : partialPath });
    } catch (err) {
      throw failure(FAILURE.invalidJob, (err as Error).message, undefined, true);
    }
    await mkdir(jobDir, { recursive: true });
    if (input !== undefined && spec.engine === 'gstreamer' && inputSec !== null && expectedSec < inputSec - 0.05) {
      // gst-launch cannot stop a demuxed input at a duration: cut it first (stream copy, no re-encode)
      encoderInput = path.join(jobDir, 'input-trimmed.mkv');
      await trimInput(deps.ffmpegPath, input, expectedSec, encoderInput, ctx.cancellationSignal);
      command = encoderCommand(spec, { input: encoderInput, output: spec.output.mode === 'rtmp' ? spec.output.url : partialPath });
    }
    const program = command.program === 'ffmpeg' ? deps.ffmpegPath : gstLaunch;
    const shown = displayCommand(command.program, command.args);

    const startedAt = new Date();
    const header = [
      '=== Command Execution ===',
      `Command: ${shown}`,
      `Node: ${deps.node.name} (${deps.node.id})`,
      `Attempt: ${attempt}`,
      `Started: ${startedAt.toISOString()}`,
      ...(simulated ? [`SIMULATED: this node declares ${findEncoder(req.spec.encoder)?.capability} by configuration; ${spec.encoder} stands in for ${req.spec.encoder}`] : []),
      '',
      '=== STDERR ===',
    ].join('\n');

    deps.registry.open(jobId, attempt);
    const workflow = ctx.client.workflow.getHandle(jobWorkflowId(jobId));
    // reported while the encoder starts, not before: the first-frame report waits for this one,
    // so the workflow sees them in order
    const reportedStart = workflow
      .signal(encodeStartedSignal, { attempt, nodeId: deps.node.id, nodeName: deps.node.name })
      .catch((err: Error) => log.warn({ err: err.message }, 'could not report assignment'));

    let last: ProgressSnapshot | undefined;
    let lastChangeAt = Date.now();
    let suspendedAtLastChange = 0;
    let firstFrameSent = false;
    let benchCpu: number | undefined;

    const proc = new EncoderProcess({
      command: program,
      args: command.args,
      onStdoutLine: (line) => {
        const snap = command.progress(line);
        if (!snap) return;
        if (!last || snap.outTimeUs !== last.outTimeUs || snap.frame !== last.frame) {
          lastChangeAt = Date.now();
          suspendedAtLastChange = proc.suspendedMs();
        }
        last = snap;
        if (!firstFrameSent && snap.frame > 0) {
          firstFrameSent = true;
          void reportedStart
            .then(() => workflow.signal(encodeRunningSignal, { attempt }))
            .catch((err: Error) => log.warn({ err: err.message }, 'could not report the first frame'));
        }
      },
      onStderrLine: (line) => {
        benchCpu = parseBenchmarkCpu(line) ?? benchCpu;
      },
    });
    deps.registry.attach(jobId, attempt, proc);
    const telemetry = (deps.telemetry ?? NO_TELEMETRY).begin(jobId, attempt, spec, proc, { finePower: req.confidence === 'high' });
    let outcome: AttemptOutcome = 'failed';
    log.info({ pid: proc.pid, encoder: spec.encoder, engine: spec.engine }, 'encoder started');

    const details = (): EncodeProgress & { stderr_tail: string[]; command: string } => ({
      progress: percentDone(last?.outTimeUs ?? 0, expectedSec, last?.ended ?? false),
      fps: last?.fps ?? null,
      speed: last?.speed ?? null,
      eta_seconds: etaSeconds(last?.outTimeUs ?? 0, expectedSec, last?.speed ?? null),
      frame: last?.frame ?? 0,
      out_time_us: last?.outTimeUs ?? 0,
      started: firstFrameSent,
      suspended: proc.suspended,
      stderr_tail: proc.stderr.last(8),
      command: shown,
    });

    let stalled = false;
    const tick = setInterval(() => {
      telemetry.progress(last?.fps ?? null);
      ctx.heartbeat(details());
      const activeSinceChange = Date.now() - lastChangeAt - (proc.suspendedMs() - suspendedAtLastChange);
      if (!proc.suspended && activeSinceChange > req.stallTimeoutMs && proc.running) {
        stalled = true;
        void proc.kill();
      }
    }, deps.heartbeatIntervalMs ?? 500);
    ctx.heartbeat(details());

    const logText = (result: string) => `${header}\n${proc.stderr.toString()}\n\n=== Result ===\n${result}`;

    try {
      const exit = await Promise.race([proc.exited, ctx.cancelled]);
      const activeSeconds = (Date.now() - startedAt.getTime() - proc.suspendedMs()) / 1000;
      telemetry.progress(last?.fps ?? null);
      if (stalled) {
        outcome = 'timed_out';
        const msg = `encoder stalled: no progress for ${Math.round(req.stallTimeoutMs / 1000)} s (killed)`;
        throw failure(FAILURE.stalled, msg, logText(msg));
      }
      if (exit.code !== 0 && deps.registry.stopReason) {
        const msg = `${deps.node.name} is shutting down (${deps.registry.stopReason}): encoder killed`;
        throw failure(FAILURE.workerShutdown, msg, logText(msg));
      }
      if (exit.code !== 0) {
        const lastLine = proc.stderr.last(1)[0] ?? '';
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
        const msg = `${command.program} ${how}${lastLine ? `: ${lastLine}` : ''}`;
        throw failure(FAILURE.encoderFailed, msg, logText(msg));
      }
      // gst-launch reports no frame count: the position at the end gives it
      const frames = command.program === 'ffmpeg' ? (last?.frame ?? 0) : Math.round(expectedSec * spec.fps);
      if (toFile) await rename(partialPath, finalPath);

      const verification = await verifyOutput({
        confidence: req.confidence,
        spec,
        expectedSec,
        outputPath: toFile ? finalPath : null,
        input,
        framesReported: frames,
        ffmpegPath: deps.ffmpegPath,
        ffprobePath: deps.ffprobePath,
        gstLaunchPath: gstLaunch,
        signal: ctx.cancellationSignal,
      });
      const summary = verification.checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} ${c.name}: expected ${c.expected}, got ${c.actual}`).join('\n');
      if (!verification.passed) {
        const bad = verification.checks.filter((c) => !c.ok).map((c) => `${c.name} ${c.actual} (expected ${c.expected})`);
        const msg = `verification (${verification.level}) failed: ${bad.join('; ')}`;
        if (toFile) await rm(finalPath, { force: true });
        throw failure(FAILURE.verificationFailed, msg, logText(`${msg}\n${summary}`));
      }

      outcome = 'completed';
      const energy = await telemetry.end(outcome, benchCpu);
      log.info({ frames, seconds: activeSeconds, energy, verification: verification.level }, 'encoder finished');
      return {
        output: {
          path: toFile ? finalPath : null,
          url: spec.output.mode === 'rtmp' ? spec.output.url : null,
          size_bytes: toFile ? (await stat(finalPath)).size : null,
        },
        log: logText(`exit code 0; ${frames} frames in ${activeSeconds.toFixed(2)} s\n=== Verification (${verification.level}) ===\n${summary}`),
        frames,
        duration_seconds: activeSeconds,
        avg_fps: activeSeconds > 0 ? Math.round((frames / activeSeconds) * 10) / 10 : null,
        cpu_seconds: Math.round((benchCpu ?? telemetry.cpuSeconds) * 100) / 100,
        energy,
        verification,
      };
    } catch (err) {
      await proc.kill();
      if (toFile) await rm(partialPath, { force: true });
      if (err instanceof CancelledFailure) outcome = 'canceled';
      if (outcome !== 'completed') await telemetry.end(outcome, benchCpu);
      if (err instanceof CancelledFailure) {
        log.info({ reason: err.message }, 'encode canceled; encoder killed and partial output removed');
        if (ctx.cancellationDetails?.workerShutdown) {
          throw failure(FAILURE.workerShutdown, `${deps.node.name} is shutting down`, logText('killed: worker shutdown'));
        }
      }
      throw err;
    } finally {
      clearInterval(tick);
      deps.registry.close(jobId, attempt);
      if (encoderInput !== input && encoderInput) await rm(encoderInput, { force: true });
    }
  };
}

/** The first `seconds` of an input, stream-copied into Matroska (no re-encode, exact to a packet). */
function trimInput(ffmpeg: string, input: string, seconds: number, out: string, signal: AbortSignal): Promise<void> {
  const remote = /^https?:\/\//.test(input);
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-protocol_whitelist', remote ? 'http,https,tcp,tls' : 'file', '-i', input, '-t', String(seconds), '-map', '0', '-c', 'copy', '-f', 'matroska', '-y', out];
  return new Promise((resolve, reject) => {
    execFile(ffmpeg, args, { timeout: 300_000, signal }, (err, _o, stderr) => {
      if (err) reject(failure(FAILURE.encoderFailed, `could not cut the input to ${seconds} s: ${String(stderr).trim().split('\n').pop() ?? err.message}`));
      else resolve();
    });
  });
}
