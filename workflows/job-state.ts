/**
 * The job's state inside its workflow: status, transitions, attempts and pending control requests.
 * Handlers stay one line long by calling into this class; every status change goes through `to()`,
 * which enforces the shared transition table and records time and reason.
 */
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type {
  AttemptRecord,
  CarriedJobState,
  EncodeResult,
  JobOutput,
  JobView,
  JobWorkflowInput,
  RoutingIntent,
  Transition,
} from '../domain/job';
import { findEncoder } from '../domain/encoders';
import type { Features } from './job';
import type { SegmentState } from './split-state';
import { routingIntentOf, type Route } from '../domain/routing';
import { SA } from '../domain/search-attributes';
import { buildJobView, countRetries, formatLogs, type ViewState } from '../domain/view';
import { canTransition, isTerminal, refuseAction, type ControlAction, type JobStatus } from '../domain/states';

export class IllegalTransition extends Error {
  constructor(from: JobStatus, to: JobStatus) {
    super(`illegal job transition ${from} -> ${to}`);
    this.name = 'IllegalTransition';
  }
}

export class JobState implements ViewState {
  status: JobStatus;
  readonly transitions: Transition[];
  readonly attempts: AttemptRecord[];
  startedAt: string | null;
  completedAt: string | null = null;
  error: string | null = null;
  output: JobOutput | null = null;
  result: EncodeResult | null = null;
  progress = 0;
  /** automatic retries used since the job (or its last manual retry) started */
  autoRetries = 0;

  /**
   * The control requests the main loop consumes: at most one pause or resume under way (they
   * exclude each other: the table allows a resume only from paused, a pause never from it), with
   * the asker's words; and a cancel, which outranks it.
   */
  pending: { action: 'pause' | 'resume'; reason: string | null } | null = null;
  cancel: { reason: string } | null = null;
  /** the status a paused job returns to */
  pausedFrom: JobStatus | null = null;
  /** why the last pause or resume could not take effect, for the waiting update */
  controlError: string | null = null;

  /** the segments of a split attempt (segment-parallel encoding), null when the job is not split */
  segments: SegmentState[] | null = null;
  /** why a job that asked for parallel runs whole this attempt */
  splitNote: string | null = null;

  /** why the job waits in the queue without a dispatched attempt, if it does */
  waitReason: string | null = null;

  /** bumped on every change the main loop may wait for */
  rev = 0;

  /** called after every transition (the webhook hand-off, workflows/job-webhooks.ts) */
  onTransition: (() => void) | null = null;

  /** decided at the edge (derived here only for jobs started before it was recorded) */
  readonly routing: RoutingIntent;

  /** what JobEngine and JobCapability say now (the start set them from the request's spec) */
  private listedRoute: { engine: string; capability: string };

  constructor(
    readonly input: JobWorkflowInput,
    /** the patched changes this run takes (workflows/job.ts, PATCH) */
    readonly features: Readonly<Features>,
  ) {
    this.routing = input.routing ?? routingIntentOf(input.request, input.policy);
    this.listedRoute = { engine: input.spec.engine, capability: findEncoder(input.spec.encoder)?.capability ?? 'cpu' };
    const prev = input.previous;
    this.transitions = prev ? [...prev.transitions] : [];
    this.attempts = prev ? [...prev.attempts] : [];
    this.startedAt = prev?.startedAt ?? null;
    if (prev) {
      // a manual retry: the job was failed/timed_out/canceled; it goes retrying -> queued
      this.status = prev.status;
      this.to('retrying', prev.reason);
      this.to('queued', 'manual retry: queued again');
    } else {
      this.status = 'queued';
      // the start set JobStatus=queued and the rest: saying it again costs a command per job
      this.record(null, 'queued', 'job created', !features.quietStart);
    }
  }

  get attempt(): number {
    return this.attempts.length;
  }

  /** how many times the job went to `retrying`, automatically or by hand */
  get retryCount(): number {
    return countRetries(this.transitions);
  }

  get current(): AttemptRecord | undefined {
    return this.attempts[this.attempts.length - 1];
  }

  bump(): void {
    this.rev++;
  }

  /** Change status, or throw: the table in domain/states.ts is the law. */
  to(next: JobStatus, reason: string): void {
    if (!canTransition(this.status, next)) throw new IllegalTransition(this.status, next);
    this.record(this.status, next, reason);
  }

  private record(from: JobStatus | null, to: JobStatus, reason: string, upsert = true): void {
    const at = new Date().toISOString();
    this.transitions.push({ from, to, at, reason, attempt: this.attempt });
    this.status = to;
    if (to === 'running' && !this.startedAt) this.startedAt = at;
    if (isTerminal(to)) this.completedAt = at;
    else this.completedAt = null;
    this.publish(reason, upsert);
    this.bump();
    this.onTransition?.();
  }

  /** Search attributes for the Web UI and GET /jobs; current details for the Web UI's summary. */
  private publish(reason: string, upsert = true): void {
    if (upsert) {
      upsertSearchAttributes([
        { key: SA.status, value: this.status },
        { key: SA.node, value: this.current?.node_id ?? '' },
        { key: SA.retryCount, value: this.retryCount },
      ]);
    }
    setCurrentDetails(`**${this.status}** (attempt ${this.attempt}) — ${reason}`);
  }

  /** Why a control action is refused now, or undefined when it may go ahead. */
  refuse(action: ControlAction): string | undefined {
    if (action !== 'cancel' && action !== 'retry' && this.pending?.action === action) return `a ${action} is already under way`;
    if (action === 'cancel' && this.cancel) return 'a cancel is already under way';
    return refuseAction(action, this.status);
  }

  get pauseRequested(): boolean {
    return this.pending?.action === 'pause';
  }
  get resumeRequested(): boolean {
    return this.pending?.action === 'resume';
  }
  get cancelRequested(): boolean {
    return this.cancel !== null;
  }
  get cancelReason(): string {
    return this.cancel?.reason ?? '';
  }

  request(action: 'pause' | 'resume', reason?: string): void {
    this.pending = { action, reason: reason ?? null };
    this.controlError = null;
    this.bump();
  }

  requestCancel(reason: string): void {
    if (this.cancel || isTerminal(this.status)) return;
    this.cancel = { reason };
    this.bump();
  }

  /** The next attempt of a job lost while paused waits, paused, until resumed. */
  stayPaused(): void {
    this.pending = { action: 'pause', reason: null };
  }

  /** `progress`: where the suspended encoder stopped, if it said (the view shows it while paused and after). */
  enterPause(reason: string, progress?: number): void {
    if (progress !== undefined) this.progress = Math.max(this.progress, progress);
    this.pausedFrom = this.status;
    this.to('paused', this.consume(reason));
  }

  leavePause(reason: string, into?: JobStatus): void {
    const back = into ?? this.pausedFrom ?? 'queued';
    this.pausedFrom = null;
    this.to(back, this.consume(reason));
  }

  /** The pending pause or resume is done: the transition's reason, with the asker's words. */
  private consume(reason: string): string {
    const asked = this.pending?.reason;
    this.pending = null;
    return asked ? `${reason}: ${asked}` : reason;
  }

  noteWaiting(reason: string): void {
    if (this.waitReason === reason) return;
    this.waitReason = reason;
    setCurrentDetails(`**${this.status}** — ${reason}`);
    this.bump();
  }

  failControl(message: string): void {
    this.pending = null;
    this.controlError = message;
    this.bump();
  }

  /** A new attempt on `route`; `routing` says why it goes there. */
  beginAttempt(route: Route, routing: string): number {
    const { capability, taskQueue } = route;
    const { engine, encoder } = route.spec;
    // listed and filtered as what it runs on, not as what was asked for (engine=auto, a GPU fallback)
    if (this.features.routeSearchAttributes && (engine !== this.listedRoute.engine || capability !== this.listedRoute.capability)) {
      upsertSearchAttributes([
        { key: SA.engine, value: engine },
        { key: SA.capability, value: capability },
      ]);
      this.listedRoute = { engine, capability };
    }
    this.attempts.push({
      attempt: this.attempts.length + 1,
      node_id: null,
      node_name: null,
      task_queue: taskQueue,
      encoder,
      engine,
      started_at: null,
      finished_at: null,
      outcome: null,
      error: null,
      routing,
      log: '',
    });
    this.progress = 0;
    this.bump();
    return this.attempt;
  }

  /** An attempt canceled before any worker took it never ran: forget it. */
  dropUnstartedAttempt(): void {
    if (this.current && !this.current.node_id) this.attempts.pop();
    this.bump();
  }

  finishAttempt(outcome: NonNullable<AttemptRecord['outcome']>, error: string | null, log: string | undefined): void {
    const a = this.current;
    if (!a) return;
    a.outcome = outcome;
    a.error = error;
    a.finished_at = new Date().toISOString();
    if (log) a.log = log;
    this.bump();
  }

  onAssigned(attempt: number, nodeId: string, nodeName: string): void {
    const seg = this.segmentOf(attempt);
    if (seg) return this.onSegmentAssigned(seg, nodeId, nodeName);
    const a = this.current;
    if (!a || a.attempt !== attempt) return;
    a.node_id = nodeId;
    a.node_name = nodeName;
    a.started_at = new Date().toISOString();
    if (this.status === 'queued') this.to('assigned', `taken by ${nodeName} from ${a.task_queue}`);
    else if (this.status === 'paused' && this.pausedFrom === 'queued') this.pausedFrom = 'assigned';
    this.bump();
  }

  /** A segment's encode was taken: the job is assigned with its first one (the attempt names that node). */
  private onSegmentAssigned(seg: SegmentState, nodeId: string, nodeName: string): void {
    seg.node_id = nodeId;
    seg.node_name = nodeName;
    seg.status = 'running';
    const a = this.current;
    if (a && !a.node_id) {
      a.node_id = nodeId;
      a.node_name = nodeName;
      a.started_at = new Date().toISOString();
    }
    if (this.status === 'queued') this.to('assigned', `segment ${seg.index} taken by ${nodeName} from ${a?.task_queue ?? 'its queue'}`);
    else if (this.status === 'paused' && this.pausedFrom === 'queued') this.pausedFrom = 'assigned';
    this.bump();
  }

  /** The segment whose current encode has this attempt number. */
  segmentOf(encodeAttempt: number): SegmentState | undefined {
    return this.segments?.find((s) => s.encodeAttempt === encodeAttempt);
  }

  onFirstFrame(attempt: number): void {
    if (this.segmentOf(attempt)) {
      if (this.status === 'assigned') this.to('running', 'a segment encoder produced its first frame');
      else if (this.status === 'paused' && this.pausedFrom === 'assigned') this.pausedFrom = 'running';
      return;
    }
    if (this.current?.attempt !== attempt) return;
    if (this.status === 'assigned') this.to('running', 'encoder produced its first frame');
    else if (this.status === 'paused' && this.pausedFrom === 'assigned') this.pausedFrom = 'running';
  }

  complete(result: EncodeResult): void {
    this.finishAttempt('completed', null, result.log);
    this.output = result.output;
    this.result = { ...result, log: '' };
    this.progress = 100;
    this.error = null;
    this.to('completed', `encoded ${result.frames} frames in ${result.duration_seconds.toFixed(1)} s`);
  }

  fail(status: 'failed' | 'timed_out', message: string, log: string | undefined): void {
    this.finishAttempt(status, message, log);
    this.error = message;
    this.to(status, message);
  }

  logs(): string {
    return formatLogs(this.attempts);
  }

  /** The input of this job's next run, should a manual retry start one. */
  retryInput(): JobWorkflowInput {
    const previous: CarriedJobState = {
      transitions: this.transitions,
      attempts: this.attempts,
      startedAt: this.startedAt,
      status: this.status,
      reason: 'manual retry requested',
    };
    return { ...this.input, previous };
  }

  view(): JobView {
    return buildJobView(this.input, this);
  }
}
