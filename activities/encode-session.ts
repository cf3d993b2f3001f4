/**
 * One attempt of a job on this worker, from probe to verified output: prepare (probe, trim, build
 * the command) → run (the encoder, progress, stall detection) → finish (verify, result). It lives
 * apart from the activity that started it, so that when Temporal loses sight of that activity
 * (an outage, a heartbeat that did not get through) while the worker itself is fine, the workflow
 * can take the same session over with an `adoptAttempt` activity instead of encoding again.
 *
 * Files: each attempt writes its own `attempt-<n>.output.<ext>.partial`, renamed to
 * `attempt-<n>.output.<ext>` once verified (staged). Only the workflow's `publishOutput` makes it
 * the job's `output.<ext>`: a stale attempt can never overwrite or delete the accepted one.
 */
import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { EncodeFailureDetails, EncodeRequest } from '../domain/activities';
import { FAILURE } from '../domain/failures';
import { findEncoder } from '../domain/encoders';
import { cpuFallback } from '../domain/routing';
import type { EncodeProgress, EncodeResult, EncodeSpec } from '../domain/job';
import { addProgressPoint, newProgressHistory, type ProgressHistory } from '../domain/progress-history';
import { SEGMENTS_DIR } from '../domain/segments';
import { isHttpUrl } from '../domain/urls';
import { containerFor, encoderCommand, type EncoderCommand } from '../encoders';
import { diagnoseFsError, diagnoseStderr, lastTellingLine, type Diagnosis } from '../encoders/encoder-errors';
import { displayCommand } from '../encoders/ffmpeg-command';
import { etaSeconds, parseBenchmarkCpu, parseEncoderPsnr, percentDone, type ProgressSnapshot } from '../encoders/ffmpeg-progress';
import type { Logger } from '../lib/logger';
import { EncoderProcess } from './encoder-process';
import { ProbeError, probeMedia } from './probe';
import { NO_TELEMETRY, type AttemptOutcome, type AttemptTelemetry, type EncodeTelemetry } from './telemetry';
import { verifyOutput } from './verify';

/** Keeps an encoder alive only while its worker is in contact with Temporal (workers/encoder-guard.ts). */
export interface EncoderLeases {
  /** the encoder (a process group leader) is killed once its worker has had no contact for leaseMs */
  track(pid: number, leaseMs: number): void;
  untrack(pid: number): void;
  /** true when the lease of this encoder ran out (the guard killed it) */
  expired(pid: number): boolean;
}

export interface SessionDeps {
  node: { id: string; name: string };
  /** files go to <outputRoot>/<job id>/ */
  outputRoot: string;
  availableEncoders: ReadonlySet<string>;
  simulatedEncoders?: ReadonlySet<string>;
  ffmpegPath: string;
  ffprobePath: string;
  gstLaunchPath?: string;
  logger: Logger;
  telemetry?: EncodeTelemetry;
  leases?: EncoderLeases;
  /** where the node's encoders run: pinned to these CPUs (taskset -c), with this many threads */
  placement?: EncoderPlacement;
}

export interface EncoderPlacement {
  cpus?: string;
  threads?: number;
}

/** What the session tells the workflow as it goes (signals; best effort, in order). */
export interface SessionReporter {
  firstFrame(): void;
}

export type LiveDetails = EncodeProgress & { stderr_tail: string[]; command: string; phase: Phase; history: ProgressHistory; segment_index?: number };
type Phase = 'preparing' | 'encoding' | 'finishing' | 'done' | 'failed';

/** Inputs that end this much before what their header promised were cut short (truncated, corrupt). */
const SHORTFALL_SLACK_SEC = { ffmpeg: 0.5, 'gst-launch-1.0': 1.5 } as const;

export class EncodeSession {
  readonly result: Promise<EncodeResult>;
  private phase: Phase = 'preparing';
  private proc: EncoderProcess | undefined;
  private command: EncoderCommand | undefined;
  private shown = '';
  private last: ProgressSnapshot | undefined;
  private expectedSec: number;
  private firstFrameSent = false;
  private canceled: string | null = null;
  private stalled = false;
  private wantSuspended = false;
  /**
   * The figures as the encoder was suspended, reported until it continues: progress lines it wrote
   * before the stop but that are read after it show on resume, so a paused job stands still.
   */
  private pausedAt: { snap: ProgressSnapshot | undefined } | undefined;
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private readonly simulated: boolean;
  private readonly startedAt = new Date();
  /** progress and fps over the attempt, bounded (domain/progress-history.ts): heartbeat details, then the result */
  private history: ProgressHistory = newProgressHistory(this.startedAt);
  private header = '';
  private readonly files: AttemptFiles;
  /** set by the worker when it kills its encoders itself (shutdown) */
  stopReason: string | null = null;

  constructor(
    readonly req: EncodeRequest,
    private readonly deps: SessionDeps,
    private readonly reporter: SessionReporter,
  ) {
    this.simulated = deps.simulatedEncoders?.has(req.spec.encoder) ?? false;
    // a segment of a split job encodes its own frames only (domain/segments.ts)
    this.expectedSec = req.segment ? req.segment.frames / req.spec.fps : req.spec.durationSec;
    this.log = deps.logger.child({ job_id: req.jobId, attempt: req.attempt, node: deps.node.id });
    const dir = path.join(deps.outputRoot, req.jobId, ...(req.segment ? [SEGMENTS_DIR] : []));
    this.files = new AttemptFiles(dir, req.attempt, containerFor(req.spec).extension);
    this.result = this.run().finally(() => this.deps.leases?.untrack(this.proc?.pid ?? -1));
    // the activity that owns the session reads the result; an adopted or dropped one may not
    this.result.catch(() => undefined);
  }

  get jobId(): string {
    return this.req.jobId;
  }
  get attempt(): number {
    return this.req.attempt;
  }
  get finished(): boolean {
    return this.phase === 'done' || this.phase === 'failed';
  }

  private get jobDir(): string {
    return this.files.jobDir;
  }

  details(): LiveDetails {
    const last = this.pausedAt ? this.pausedAt.snap : this.last;
    return {
      progress: percentDone(last?.outTimeUs ?? 0, this.expectedSec, last?.ended ?? false),
      fps: last?.fps ?? null,
      speed: last?.speed ?? null,
      eta_seconds: etaSeconds(last?.outTimeUs ?? 0, this.expectedSec, last?.speed ?? null),
      frame: last?.frame ?? 0,
      out_time_us: last?.outTimeUs ?? 0,
      started: this.firstFrameSent,
      suspended: this.proc?.suspended ?? this.wantSuspended,
      stderr_tail: this.proc?.stderr.last(8) ?? [],
      command: this.shown,
      phase: this.phase,
      history: this.history,
      ...(this.req.segment ? { segment_index: this.req.segment.index } : {}),
    };
  }

  /** Stops the attempt: kills the encoder, removes its files. */
  async cancel(reason: string): Promise<void> {
    if (this.finished) return;
    this.canceled = reason;
    this.abort.abort(new Error(reason));
    await this.proc?.kill();
    await this.result.catch(() => undefined);
  }

  /** A finished attempt nobody took: its staged output goes. */
  async discard(): Promise<void> {
    await this.files.removeOwn();
  }

  suspend(): boolean {
    this.wantSuspended = true;
    this.pausedAt ??= { snap: this.last };
    return this.proc ? this.proc.suspend() || !this.proc.running : true;
  }

  resume(): boolean {
    this.wantSuspended = false;
    this.pausedAt = undefined;
    return this.proc ? this.proc.resume() || !this.proc.running : true;
  }

  async kill(reason: string): Promise<void> {
    this.stopReason ??= reason;
    await this.proc?.kill();
  }

  private fail(type: string, message: string, nonRetryable = false): ApplicationFailure {
    return ApplicationFailure.create({ type, message, nonRetryable, details: [{ log: this.logText(message) } satisfies EncodeFailureDetails] });
  }

  /** The attempt's log: what ran where, the encoder's stderr, and how it ended. */
  private logText(result: string): string {
    const stderr = this.proc?.stderr.toString() ?? '(no encoder ran)';
    return `${this.header}\n${stderr}\n\n=== Result ===\n${result}`;
  }

  /** A failure of one of our own steps (probe, mkdir, rename), with its cause and this node. */
  private stepFailure(step: string, err: unknown): ApplicationFailure {
    if (err instanceof ApplicationFailure) return err;
    const d = diagnoseFsError(err);
    const msg = d ? `${step} on ${this.deps.node.name}: ${d.summary} (${(err as Error).message})` : `${step} on ${this.deps.node.name} failed: ${(err as Error).message}`;
    return this.fail(d ? FAILURE.outputNotWritable : FAILURE.encoderFailed, msg, d ? !d.retryable : false);
  }

  private async run(): Promise<EncodeResult> {
    const { req, deps } = this;
    // a simulated hardware encoder is stood in for by the software rung its fallback would take
    let spec = this.simulated ? cpuFallback(req.spec) : req.spec;
    this.header = this.headerLines(spec, '(preparing)');
    const files = this.files;
    let outcome: AttemptOutcome = 'failed';
    let telemetry: AttemptTelemetry | undefined;
    let benchCpu: number | undefined;
    let encoderPsnr: number | undefined;
    try {
      if (!this.simulated && !deps.availableEncoders.has(spec.encoder)) {
        throw this.fail(FAILURE.invalidJob, `encoder ${spec.encoder} is not available on ${deps.node.name} (its ${spec.engine} build or hardware lacks it)`, true);
      }

      // prepare: the input, probed first — unreadable or non-media input fails the job at once
      const input = spec.input.kind === 'file' ? spec.input.path : spec.input.kind === 'url' ? spec.input.url : undefined;
      let inputSec: number | null = null;
      if (input !== undefined) {
        try {
          const probe = await probeMedia(deps.ffprobePath, input, { timeoutMs: 20_000, signal: this.abort.signal });
          inputSec = probe.duration;
          if (!req.segment) {
            if (inputSec !== null) this.expectedSec = Math.min(this.expectedSec, inputSec);
            if (!probe.audio) spec = { ...spec, audio: false }; // an input without sound: an output without sound
            spec = { ...spec, durationSec: this.expectedSec };
          }
        } catch (err) {
          if (this.canceled) throw err;
          if (!(err instanceof ProbeError)) throw this.stepFailure('probing the input', err);
          throw this.fail(FAILURE.invalidJob, `input is not readable media: ${err.message} (checked on ${deps.node.name})`, true);
        }
      }
      const toFile = spec.output.mode === 'file';
      const target = spec.output.mode === 'rtmp' ? spec.output.url : files.partial;
      try {
        this.command = encoderCommand(spec, { input, output: target, threads: deps.placement?.threads, ...(req.segment ? { segment: req.segment } : {}) });
      } catch (err) {
        throw this.fail(FAILURE.invalidJob, (err as Error).message, true);
      }
      await mkdir(this.jobDir, { recursive: true }).catch((err: unknown) => {
        throw this.stepFailure(`creating the output folder ${this.jobDir}`, err);
      });
      let encoderInput = input;
      if (input !== undefined && spec.engine === 'gstreamer' && inputSec !== null && this.expectedSec < inputSec - 0.05) {
        // gst-launch cannot stop a demuxed input at a duration: cut it first (stream copy, no re-encode)
        encoderInput = files.trimmedInput;
        await this.trimInput(input, this.expectedSec, encoderInput);
        this.command = encoderCommand(spec, { input: encoderInput, output: target, threads: deps.placement?.threads });
      }
      const command = this.command;
      const program = command.program === 'ffmpeg' ? deps.ffmpegPath : (deps.gstLaunchPath ?? 'gst-launch-1.0');
      this.shown = displayCommand(command.program, command.args);
      this.header = this.headerLines(spec, this.shown);
      if (this.canceled) throw new Error(this.canceled);

      // run
      this.phase = 'encoding';
      let lastChangeAt = Date.now();
      let suspendedAtLastChange = 0;
      const proc = new EncoderProcess({
        command: program,
        args: command.args,
        cpus: deps.placement?.cpus,
        onStdoutLine: (line) => {
          const snap = command.progress(line);
          if (!snap) return;
          if (!this.last || snap.outTimeUs !== this.last.outTimeUs || snap.frame !== this.last.frame) {
            lastChangeAt = Date.now();
            suspendedAtLastChange = proc.suspendedMs();
          }
          this.last = snap;
          this.history = addProgressPoint(this.history, (Date.now() - this.startedAt.getTime()) / 1000, percentDone(snap.outTimeUs, this.expectedSec, snap.ended), snap.fps);
          if (!this.firstFrameSent && snap.frame > 0) {
            this.firstFrameSent = true;
            this.reporter.firstFrame();
          }
        },
        onStderrLine: (line) => {
          benchCpu = parseBenchmarkCpu(line) ?? benchCpu;
          encoderPsnr = parseEncoderPsnr(line) ?? encoderPsnr;
        },
      });
      this.proc = proc;
      if (this.wantSuspended) proc.suspend();
      if (proc.pid !== undefined) deps.leases?.track(proc.pid, req.leaseMs ?? 0);
      telemetry = (deps.telemetry ?? NO_TELEMETRY).begin(req.jobId, req.attempt, spec, proc, { finePower: req.confidence === 'high' });
      this.log.info({ pid: proc.pid, encoder: spec.encoder, engine: spec.engine }, 'encoder started');

      const watch = setInterval(() => {
        telemetry!.progress(this.last?.fps ?? null);
        const activeSinceChange = Date.now() - lastChangeAt - (proc.suspendedMs() - suspendedAtLastChange);
        if (!proc.suspended && activeSinceChange > req.stallTimeoutMs && proc.running) {
          this.stalled = true;
          void proc.kill();
        }
      }, 500);
      let exit;
      try {
        exit = await proc.exited;
      } finally {
        clearInterval(watch);
      }
      telemetry.progress(this.last?.fps ?? null);
      const activeSeconds = (Date.now() - this.startedAt.getTime() - proc.suspendedMs()) / 1000;

      if (this.canceled) throw new Error(this.canceled);
      if (this.stalled) {
        outcome = 'timed_out';
        throw this.fail(FAILURE.stalled, `encoder stalled: no progress for ${Math.round(req.stallTimeoutMs / 1000)} s on ${deps.node.name} (killed)`);
      }
      if (exit.code !== 0 && proc.pid !== undefined && deps.leases?.expired(proc.pid)) {
        const secs = Math.round((req.leaseMs ?? 0) / 1000);
        throw this.fail(FAILURE.lostContact, `${deps.node.name} lost contact with Temporal for ${secs} s: its encoder was stopped so that the job can run elsewhere`);
      }
      if (exit.code !== 0 && this.stopReason) {
        throw this.fail(FAILURE.workerShutdown, `${deps.node.name} is shutting down (${this.stopReason}): encoder killed`);
      }
      if (exit.code !== 0) throw this.encoderFailure(command.program, exit);

      this.phase = 'finishing';
      if (req.segment) this.checkSegmentFrames(req.segment);
      else if (input !== undefined) this.checkInputNotCutShort(command.program, spec, inputSec, input);
      // gst-launch reports no frame count: the position at the end gives it
      const frames = command.program === 'ffmpeg' ? (this.last?.frame ?? 0) : Math.round(this.expectedSec * spec.fps);
      const staged = toFile ? files.staged : null;
      if (staged) {
        await rename(files.partial, staged).catch((err: unknown) => {
          throw this.stepFailure(`moving the output into place (${staged})`, err);
        });
      }
      const verification = await verifyOutput({
        confidence: req.confidence,
        spec,
        expectedSec: this.expectedSec,
        outputPath: staged,
        input,
        framesReported: frames,
        ffmpegPath: deps.ffmpegPath,
        ffprobePath: deps.ffprobePath,
        gstLaunchPath: deps.gstLaunchPath ?? 'gst-launch-1.0',
        signal: this.abort.signal,
      });
      const summary = verification.checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} ${c.name}: expected ${c.expected}, got ${c.actual}`).join('\n');
      if (!verification.passed) {
        const bad = verification.checks.filter((c) => !c.ok).map((c) => `${c.name} ${c.actual} (expected ${c.expected})`);
        throw this.fail(FAILURE.verificationFailed, `verification (${verification.level}) failed: ${bad.join('; ')} (checked on ${deps.node.name})\n${summary}`);
      }

      outcome = 'completed';
      this.phase = 'done';
      const energy = await telemetry.end(outcome, benchCpu);
      this.log.info({ frames, seconds: activeSeconds, energy, verification: verification.level }, 'encoder finished');
      const finalPath = toFile ? files.final : null;
      return {
        output: {
          path: finalPath,
          url: spec.output.mode === 'rtmp' ? spec.output.url : null,
          size_bytes: staged ? (await stat(staged)).size : null,
        },
        ...(req.stage && staged ? { staged } : {}),
        log: this.logText(`exit code 0; ${frames} frames in ${activeSeconds.toFixed(2)} s\n=== Verification (${verification.level}) ===\n${summary}`),
        frames,
        duration_seconds: activeSeconds,
        avg_fps: activeSeconds > 0 ? Math.round((frames / activeSeconds) * 10) / 10 : null,
        cpu_seconds: Math.round((benchCpu ?? telemetry.cpuSeconds) * 100) / 100,
        energy,
        verification,
        progress_history: addProgressPoint(this.history, (Date.now() - this.startedAt.getTime()) / 1000, 100, this.last?.fps ?? null, true),
        ...(encoderPsnr !== undefined ? { encoder_psnr_db: encoderPsnr } : {}),
      };
    } catch (err) {
      this.phase = 'failed';
      await this.proc?.kill();
      await files.removeOwn();
      if (this.canceled) outcome = 'canceled';
      if (telemetry && outcome !== 'completed') await telemetry.end(outcome, benchCpu);
      if (this.canceled) {
        this.log.info({ reason: this.canceled }, 'encode canceled; encoder killed and partial output removed');
        throw this.fail(FAILURE.canceled, this.canceled);
      }
      throw err instanceof ApplicationFailure ? err : this.stepFailure('the encode', err);
    } finally {
      await rm(files.trimmedInput, { force: true });
      if (!req.stage && this.phase === 'done' && spec.output.mode === 'file') await legacyPublish(files).catch(() => undefined);
    }
  }

  private headerLines(spec: EncodeSpec, shown: string): string {
    return [
      '=== Command Execution ===',
      `Command: ${shown}`,
      `Node: ${this.deps.node.name} (${this.deps.node.id})`,
      `Attempt: ${this.req.attempt}`,
      `Started: ${this.startedAt.toISOString()}`,
      ...(this.simulated ? [`SIMULATED: this node declares ${findEncoder(this.req.spec.encoder)?.capability} by configuration; ${spec.encoder} stands in for ${this.req.spec.encoder}`] : []),
      '',
      '=== STDERR ===',
    ].join('\n');
  }

  /** An encoder that exited with an error: its cause (no space, permission, bad input) when it told one. */
  private encoderFailure(program: string, exit: { code: number | null; signal: NodeJS.Signals | null }): ApplicationFailure {
    const lines = this.proc?.stderr.last(200) ?? [];
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const d: Diagnosis | undefined = exit.signal ? undefined : diagnoseStderr(lines);
    if (d) {
      const type = d.cause === 'input-invalid' ? FAILURE.invalidJob : d.cause === 'input-unreachable' ? FAILURE.encoderFailed : FAILURE.outputNotWritable;
      return this.fail(type, `${program} failed on ${this.deps.node.name}: ${d.summary}${d.evidence ? ` (${d.evidence})` : ''}`, !d.retryable);
    }
    const line = lastTellingLine(lines);
    return this.fail(FAILURE.encoderFailed, `${program} ${how} on ${this.deps.node.name}${line ? `: ${line}` : ''}`);
  }

  /** A segment must hold exactly its frames: the join adds them up to the single pass's count. */
  private checkSegmentFrames(segment: NonNullable<EncodeRequest['segment']>): void {
    const made = this.last?.frame ?? 0;
    if (made === segment.frames) return;
    throw this.fail(FAILURE.splitCheckFailed, `segment ${segment.index} made ${made} frames of its ${segment.frames} (from frame ${segment.startFrame}) on ${this.deps.node.name}`);
  }

  /**
   * An encoder that exits 0 having read less than the input's header promised met a truncated or
   * corrupt file: every retry would do the same, so it fails at once (a URL may do better next time).
   */
  private checkInputNotCutShort(program: EncoderCommand['program'], spec: EncodeSpec, inputSec: number | null, input: string): void {
    const reached = (this.last?.outTimeUs ?? 0) / 1e6;
    if (inputSec === null || !this.last || reached <= 0) return;
    const missing = this.expectedSec - reached;
    if (missing <= Math.max(SHORTFALL_SLACK_SEC[program], 2 / spec.fps)) return;
    const remote = spec.input.kind === 'url';
    throw this.fail(
      remote ? FAILURE.encoderFailed : FAILURE.invalidJob,
      `the input ended at ${reached.toFixed(2)} s of the ${this.expectedSec.toFixed(2)} s its header states: ${remote ? 'the download was cut short' : 'the file is truncated or corrupt'} (${input}, read on ${this.deps.node.name})`,
      !remote,
    );
  }

  /** The first `seconds` of an input, stream-copied into Matroska (no re-encode, exact to a packet). */
  private trimInput(input: string, seconds: number, out: string): Promise<void> {
    const remote = isHttpUrl(input);
    const args = ['-hide_banner', '-nostdin', '-v', 'error', '-protocol_whitelist', remote ? 'http,https,tcp,tls' : 'file', '-i', input, '-t', String(seconds), '-map', '0', '-c', 'copy', '-f', 'matroska', '-y', out];
    return new Promise((resolve, reject) => {
      execFile(this.deps.ffmpegPath, args, { timeout: 300_000, signal: this.abort.signal }, (err, _o, stderr) => {
        if (!err) return resolve();
        const lines = String(stderr).trim().split('\n');
        const d = diagnoseStderr(lines);
        reject(this.fail(d && !d.retryable ? FAILURE.outputNotWritable : FAILURE.encoderFailed, `could not cut the input to ${seconds} s on ${this.deps.node.name}: ${d?.summary ?? lines.pop() ?? err.message}`, d ? !d.retryable : false));
      });
    });
  }
}

/** The files one attempt owns inside the job's folder. */
export class AttemptFiles {
  constructor(
    readonly jobDir: string,
    readonly attempt: number,
    readonly extension: string,
  ) {}
  get final(): string {
    return path.join(this.jobDir, `output.${this.extension}`);
  }
  get staged(): string {
    return path.join(this.jobDir, `attempt-${this.attempt}.output.${this.extension}`);
  }
  get partial(): string {
    return `${this.staged}.partial`;
  }
  get trimmedInput(): string {
    return path.join(this.jobDir, `attempt-${this.attempt}.input-trimmed.mkv`);
  }
  /** Removes what this attempt wrote, and nothing of any other attempt. */
  async removeOwn(): Promise<void> {
    await Promise.all([this.partial, this.staged, this.trimmedInput].map((f) => rm(f, { force: true })));
  }
}

/** Jobs started before staged outputs (their workflow does not publish): the attempt publishes itself. */
async function legacyPublish(files: AttemptFiles): Promise<void> {
  await rename(files.staged, files.final);
}
