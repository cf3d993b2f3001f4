/**
 * The encode activity: runs one attempt of a job on this worker. It builds the command (never a
 * shell), runs the encoder as its own process group, turns the progress stream into heartbeat
 * details (progress, fps, speed, ETA — no history event per tick), detects stalls (paused time
 * excluded), obeys cancellation within one heartbeat interval, and keeps a bounded log.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { EncodeRequest, EncodeFailureDetails } from '../domain/activities';
import { FAILURE } from '../domain/activities';
import { SOFTWARE_ENCODER, equivalentSoftwarePreset, findEncoder } from '../domain/encoders';
import type { EncodeProgress, EncodeResult, EncodeSpec } from '../domain/job';
import { jobWorkflowId } from '../domain/job';
import { encodeRunningSignal, encodeStartedSignal } from '../domain/messages';
import { buildFfmpegArgs, containerFor, displayCommand } from '../encoders/ffmpeg-command';
import { FfmpegProgressParser, etaSeconds, parseBenchmarkCpu, percentDone, type ProgressSnapshot } from '../encoders/ffmpeg-progress';
import type { Logger } from '../lib/logger';
import { EncoderProcess } from './encoder-process';
import { ProbeError, probeMedia } from './probe';
import type { EncoderRegistry } from './encoder-registry';
import { NO_TELEMETRY, type AttemptOutcome, type EncodeTelemetry } from './telemetry';

export interface EncodeDeps {
  node: { id: string; name: string };
  /** files go to <outputRoot>/<job id>/ */
  outputRoot: string;
  registry: EncoderRegistry;
  /** encoders this worker really has (ffmpeg -encoders, confirmed by a test encode) */
  availableEncoders: ReadonlySet<string>;
  ffmpegPath: string;
  ffprobePath: string;
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

export function createEncodeActivity(deps: EncodeDeps) {
  return async function encode(req: EncodeRequest): Promise<EncodeResult> {
    const ctx = Context.current();
    const { jobId, attempt } = req;
    const simulated = deps.simulatedEncoders?.has(req.spec.encoder) ?? false;
    const spec = simulated ? standIn(req.spec) : req.spec;
    const log = deps.logger.child({ job_id: jobId, attempt, node: deps.node.id });

    if (!simulated && !deps.availableEncoders.has(spec.encoder)) {
      throw ApplicationFailure.create({
        type: FAILURE.invalidJob,
        nonRetryable: true,
        message: `encoder ${spec.encoder} is not available on ${deps.node.name} (its ffmpeg build or hardware lacks it)`,
      });
    }

    const input = spec.input.kind === 'file' ? spec.input.path : spec.input.kind === 'url' ? spec.input.url : undefined;
    // the length we expect out: the request's, or less when the input is shorter
    let expectedSec = spec.durationSec;
    if (input !== undefined) {
      try {
        const probe = await probeMedia(deps.ffprobePath, input, { timeoutMs: 20_000, signal: ctx.cancellationSignal });
        if (probe.duration !== null) expectedSec = Math.min(expectedSec, probe.duration);
      } catch (err) {
        if (!(err instanceof ProbeError)) throw err;
        throw ApplicationFailure.create({ type: FAILURE.invalidJob, nonRetryable: true, message: `input is not readable media: ${err.message}` });
      }
    }

    const { format, extension } = containerFor(spec);
    const jobDir = path.join(deps.outputRoot, jobId);
    const finalPath = path.join(jobDir, `output.${extension}`);
    const partialPath = `${finalPath}.partial`;
    const outputTarget = spec.output.mode === 'rtmp' ? spec.output.url : partialPath;
    const args = buildFfmpegArgs(spec, { input, output: outputTarget, format });
    if (spec.output.mode === 'file') await mkdir(jobDir, { recursive: true });

    const startedAt = new Date();
    const header = [
      '=== Command Execution ===',
      `Command: ${displayCommand('ffmpeg', args)}`,
      `Node: ${deps.node.name} (${deps.node.id})`,
      `Attempt: ${attempt}`,
      ...(simulated ? [`SIMULATED: this node declares ${findEncoder(req.spec.encoder)?.capability} by configuration; ${spec.encoder} stands in for ${req.spec.encoder}`] : []),
      `Started: ${startedAt.toISOString()}`,
      '',
      '=== STDERR ===',
    ].join('\n');

    deps.registry.open(jobId, attempt);
    const workflow = ctx.client.workflow.getHandle(jobWorkflowId(jobId));
    await workflow
      .signal(encodeStartedSignal, { attempt, nodeId: deps.node.id, nodeName: deps.node.name })
      .catch((err: Error) => log.warn({ err: err.message }, 'could not report assignment'));

    const parser = new FfmpegProgressParser();
    let last: ProgressSnapshot | undefined;
    let lastChangeAt = Date.now();
    let suspendedAtLastChange = 0;
    let firstFrameSent = false;
    let benchCpu: number | undefined;

    const proc = new EncoderProcess({
      command: deps.ffmpegPath,
      args,
      onStdoutLine: (line) => {
        const snap = parser.feed(line);
        if (!snap) return;
        if (!last || snap.outTimeUs !== last.outTimeUs || snap.frame !== last.frame) {
          lastChangeAt = Date.now();
          suspendedAtLastChange = proc.suspendedMs();
        }
        last = snap;
        if (!firstFrameSent && snap.frame > 0) {
          firstFrameSent = true;
          void workflow
            .signal(encodeRunningSignal, { attempt })
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
    log.info({ pid: proc.pid, encoder: spec.encoder }, 'encoder started');

    const command = displayCommand('ffmpeg', args);
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
      command,
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
    const failure = (type: string, message: string, nonRetryable = false, result = message) =>
      ApplicationFailure.create({ type, message, nonRetryable, details: [{ log: logText(result) } satisfies EncodeFailureDetails] });

    try {
      const exit = await Promise.race([proc.exited, ctx.cancelled]);
      const activeSeconds = (Date.now() - startedAt.getTime() - proc.suspendedMs()) / 1000;
      telemetry.progress(last?.fps ?? null);
      if (stalled) {
        outcome = 'timed_out';
        const secs = Math.round(req.stallTimeoutMs / 1000);
        throw failure(FAILURE.stalled, `encoder stalled: no progress for ${secs} s (killed)`);
      }
      if (exit.code !== 0) {
        const lastLine = proc.stderr.last(1)[0] ?? '';
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
        throw failure(FAILURE.encoderFailed, `ffmpeg ${how}${lastLine ? `: ${lastLine}` : ''}`);
      }
      let sizeBytes: number | null = null;
      if (spec.output.mode === 'file') {
        await rename(partialPath, finalPath);
        sizeBytes = (await stat(finalPath)).size;
      }
      const frames = last?.frame ?? 0;
      outcome = 'completed';
      const energy = await telemetry.end(outcome, benchCpu);
      log.info({ frames, seconds: activeSeconds, energy }, 'encoder finished');
      return {
        output: {
          path: spec.output.mode === 'file' ? finalPath : null,
          url: spec.output.mode === 'rtmp' ? spec.output.url : null,
          size_bytes: sizeBytes,
        },
        log: logText(`exit code 0; ${frames} frames in ${activeSeconds.toFixed(2)} s`),
        frames,
        duration_seconds: activeSeconds,
        avg_fps: activeSeconds > 0 ? Math.round((frames / activeSeconds) * 10) / 10 : null,
        cpu_seconds: Math.round((benchCpu ?? telemetry.cpuSeconds) * 100) / 100,
        energy,
      };
    } catch (err) {
      await proc.kill();
      if (spec.output.mode === 'file') await rm(partialPath, { force: true });
      if (err instanceof CancelledFailure) outcome = 'canceled';
      if (outcome !== 'completed') await telemetry.end(outcome, benchCpu);
      if (err instanceof CancelledFailure) {
        log.info({ reason: err.message }, 'encode canceled; encoder killed and partial output removed');
        if (ctx.cancellationDetails?.workerShutdown) {
          throw failure(FAILURE.workerShutdown, `${deps.node.name} is shutting down`, false, 'killed: worker shutdown');
        }
      }
      throw err;
    } finally {
      clearInterval(tick);
      deps.registry.close(jobId, attempt);
    }
  };
}
