/**
 * Jobs on Temporal, for every front door: the master API, the CLI's `--via temporal` mode, the
 * benchmarks and the tests. It keeps no state: a job is its workflow. Errors are ApiErrors with
 * the status the API answers with.
 */
import { randomUUID } from 'node:crypto';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { temporal } from '@temporalio/proto';
import { findEncoder } from '../domain/encoders';
import { jobWorkflowId, JOB_WORKFLOW_ID_PREFIX, SUMMARY_MEMO, VIEW_MEMO, type EncodeProgress, type JobRequest, type JobView, type JobWorkflowInput } from '../domain/job';
import * as msg from '../domain/messages';
import { ORCHESTRATION_QUEUE, priorityKey } from '../domain/queues';
import { JobValidationError, resolveJob, type ResolveContext } from '../domain/resolve';
import type { CreateJobBody } from '../domain/schemas';
import { SA } from '../domain/search-attributes';
import { isJobStatus, refuseAction, type ControlAction, type JobStatus } from '../domain/states';
import { initialJobView } from '../domain/view';
import { SequenceAllocator } from './sequence-allocator';
import { ApiError, badRequest, conflict, grpcCode, notFound, temporalFailure, unavailable } from './errors';

const LIVE_STATUSES: readonly JobStatus[] = ['assigned', 'running', 'paused'];

/** What the list endpoint returns per job: built from visibility alone (no query per job). */
export interface JobSummary {
  id: string;
  sequence_number: number;
  scenario: string;
  confidence: string;
  engine: string;
  queue: string;
  priority: string;
  parameters: Record<string, unknown>;
  status: JobStatus;
  node_id: string | null;
  retry_count: number;
  created_at: string;
  completed_at: string | null;
}

export interface JobFilters {
  status?: JobStatus;
  queue?: string;
  priority?: string;
  scenario?: string;
  node?: string;
}

export interface JobPage {
  jobs: JobSummary[];
  next_page_token: string | null;
}

type LiveDetails = Partial<EncodeProgress> & { stderr_tail?: string[]; command?: string };

/** Heartbeat details of a job's pending encode (progress, fps, speed, log tail); undefined when none is pending. */
function liveDetails(raw: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse): LiveDetails | undefined {
  const pending = raw.pendingActivities?.find((a) => a.activityType?.name === 'encode');
  if (!pending) return undefined;
  const payload = pending.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<LiveDetails>(payload as Payload) : {};
}

export class JobService {
  private readonly sequence = new SequenceAllocator((count) => this.takeSequenceNumbers(count));

  constructor(
    readonly client: Client,
    private readonly resolveContext: ResolveContext,
  ) {}

  // ------------------------------------------------------------------ create

  async create(body: CreateJobBody): Promise<JobView> {
    const request: JobRequest = { ...body, parameters: { ...body.parameters } };
    let resolved;
    try {
      resolved = resolveJob(request, this.resolveContext);
    } catch (err) {
      if (err instanceof JobValidationError) throw badRequest(err.message);
      throw err;
    }
    const sequenceNumber = await this.nextSequenceNumber();
    const input: JobWorkflowInput = {
      id: randomUUID(),
      sequenceNumber,
      createdAt: new Date().toISOString(),
      request,
      ...resolved,
    };
    await this.startRun(input);
    return initialJobView(input);
  }

  private async startRun(input: JobWorkflowInput): Promise<void> {
    const { request, spec } = input;
    await this.guard(() =>
      this.client.workflow.start('transcodeJob', {
        workflowId: jobWorkflowId(input.id),
        taskQueue: ORCHESTRATION_QUEUE,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        priority: { priorityKey: priorityKey(request.queue, request.priority) },
        typedSearchAttributes: [
          { key: SA.status, value: 'queued' },
          { key: SA.scenario, value: request.scenario },
          { key: SA.queue, value: request.queue },
          { key: SA.priority, value: request.priority },
          { key: SA.engine, value: spec.engine },
          { key: SA.capability, value: findEncoder(spec.encoder)?.capability ?? 'cpu' },
          { key: SA.sequence, value: input.sequenceNumber },
        ],
        memo: {
          [SUMMARY_MEMO]: {
            id: input.id,
            sequence_number: input.sequenceNumber,
            scenario: request.scenario,
            confidence: request.confidence,
            engine: request.engine,
            queue: request.queue,
            priority: request.priority,
            parameters: request.parameters,
            created_at: input.createdAt,
          },
        },
      }),
    );
  }

  /** The next job sequence number from the durable counter workflow (started on first use). */
  nextSequenceNumber(): Promise<number> {
    return this.sequence.next();
  }

  private takeSequenceNumbers(count: number): Promise<number> {
    return this.guard(() =>
      this.client.workflow.executeUpdateWithStart(msg.nextSequenceUpdate, {
        args: [count],
        startWorkflowOperation: new WithStartWorkflowOperation('sequenceCounter', {
          workflowId: msg.SEQUENCE_WORKFLOW_ID,
          taskQueue: ORCHESTRATION_QUEUE,
          args: [{ next: 1 }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      }),
    );
  }

  /** The last sequence number handed out (0 before the first job). */
  async currentSequenceNumber(): Promise<number> {
    try {
      return await this.client.workflow.getHandle(msg.SEQUENCE_WORKFLOW_ID).query(msg.currentSequenceQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 0;
      throw this.translate(err);
    }
  }

  // ------------------------------------------------------------------ read

  /** A job id is its uuid or its sequence number. */
  async resolveId(idOrSequence: string): Promise<string> {
    if (/^\d{1,15}$/.test(idOrSequence)) {
      const seq = Number(idOrSequence);
      if (seq < 1 || seq > (await this.currentSequenceNumber())) throw notFound(`job ${seq} not found`);
      // visibility is eventually consistent: a job created a moment ago may take a moment to show
      const deadline = Date.now() + 2_000;
      for (;;) {
        const page = await this.guard(() =>
          this.client.workflowService.listWorkflowExecutions({
            namespace: this.client.options.namespace,
            pageSize: 1,
            query: `WorkflowType = 'transcodeJob' AND JobSeq = ${seq}`,
          }),
        );
        const wfId = page.executions?.[0]?.execution?.workflowId;
        if (wfId) return wfId.slice(JOB_WORKFLOW_ID_PREFIX.length);
        if (Date.now() > deadline) throw notFound(`job ${seq} not found`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrSequence)) {
      throw notFound(`job ${idOrSequence.slice(0, 64)} not found (an id is a uuid or a sequence number)`);
    }
    return idOrSequence.toLowerCase();
  }

  private handle(id: string): WorkflowHandle {
    return this.client.workflow.getHandle(jobWorkflowId(id));
  }

  async get(idOrSequence: string): Promise<JobView> {
    const id = await this.resolveId(idOrSequence);
    const handle = this.handle(id);
    // An attempt that just ended has no pending activity while the workflow has not yet taken
    // its result: ask again for a moment rather than show a running job without its progress.
    const deadline = Date.now() + 1_000;
    for (;;) {
      const desc = await this.guard(() => handle.describe(), id);
      // the view the workflow published as memo; a run that never published one (ended before its
      // first workflow task) is asked directly
      const view = (desc.memo?.[VIEW_MEMO] as JobView | undefined) ?? (await this.guard(() => handle.query(msg.viewQuery), id));
      if (desc.status.name !== 'RUNNING') return view;
      if (!LIVE_STATUSES.includes(view.status) || view.attempt === 0) return view;
      const live = liveDetails(desc.raw);
      if (live) {
        return {
          ...view,
          progress: Math.max(view.progress, live.progress ?? 0),
          fps: live.fps ?? null,
          speed: live.speed ?? null,
          eta_seconds: view.status === 'paused' ? null : (live.eta_seconds ?? null),
        };
      }
      if (Date.now() > deadline) return view;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async logs(idOrSequence: string): Promise<{ job_id: string; logs: string }> {
    const id = await this.resolveId(idOrSequence);
    const handle = this.handle(id);
    const [logs, desc] = await Promise.all([this.guard(() => handle.query(msg.logsQuery), id), this.guard(() => handle.describe(), id)]);
    const live = desc.status.name === 'RUNNING' ? liveDetails(desc.raw) : undefined;
    const text = live?.command
      ? `${logs}\n=== Command Execution ===\nCommand: ${live.command}\n\n=== STDERR (live tail) ===\n${(live.stderr_tail ?? []).join('\n')}\n`
      : logs;
    return { job_id: id, logs: text };
  }

  async list(filters: JobFilters, limit: number, pageToken?: string): Promise<JobPage> {
    const clauses = [`WorkflowType = 'transcodeJob'`];
    const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    if (filters.status) clauses.push(`JobStatus = ${quote(filters.status)}`);
    if (filters.queue) clauses.push(`JobQueue = ${quote(filters.queue)}`);
    if (filters.priority) clauses.push(`JobPriority = ${quote(filters.priority)}`);
    if (filters.scenario) clauses.push(`JobScenario = ${quote(filters.scenario)}`);
    if (filters.node) clauses.push(`JobNode = ${quote(filters.node)}`);
    let token: Uint8Array | undefined;
    if (pageToken) {
      token = Buffer.from(pageToken, 'base64url');
      if (token.length === 0) throw badRequest('page_token: is not a token this server gave out');
    }
    const page = await this.guard(() =>
      this.client.workflowService.listWorkflowExecutions({
        namespace: this.client.options.namespace,
        pageSize: limit,
        nextPageToken: token,
        query: clauses.join(' AND '),
      }),
    ).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 400 && pageToken) throw badRequest('page_token: is not a token this server gave out');
      throw err;
    });
    const jobs = await this.currentRunsOnly(page.executions ?? []);
    const next = page.nextPageToken && page.nextPageToken.length > 0 ? Buffer.from(page.nextPageToken).toString('base64url') : null;
    return { jobs, next_page_token: next };
  }

  /**
   * A manual retry starts a new run under the same workflow id, and visibility lists every run.
   * Keep one entry per job: the newest run. Only runs that ended failed, timed out or canceled
   * can have been retried, so only those are checked against the job's current run.
   */
  private async currentRunsOnly(executions: temporal.api.workflow.v1.IWorkflowExecutionInfo[]): Promise<JobSummary[]> {
    const seen = new Set<string>();
    const out: JobSummary[] = [];
    const checks = executions.map(async (e) => {
      const job = summarize(e);
      if (!job || !e.closeTime || !['failed', 'timed_out', 'canceled'].includes(job.status)) return job;
      const latest = await this.client.workflow.getHandle(e.execution!.workflowId!).describe().catch(() => undefined);
      return latest && latest.runId !== e.execution!.runId ? undefined : job;
    });
    for (const job of await Promise.all(checks)) {
      if (!job || seen.has(job.id)) continue;
      seen.add(job.id);
      out.push(job);
    }
    return out;
  }

  // ------------------------------------------------------------------ control

  async control(idOrSequence: string, action: Exclude<ControlAction, 'retry'>, reason?: string): Promise<JobView> {
    const id = await this.resolveId(idOrSequence);
    const handle = this.handle(id);
    const update = action === 'pause' ? msg.pauseUpdate : action === 'resume' ? msg.resumeUpdate : msg.cancelUpdate;
    try {
      return await handle.executeUpdate(update, { args: [{ reason }] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'Conflict') {
        throw conflict(err.cause.message);
      }
      // a closed run takes no updates: answer from its final state
      const view = await this.guard(() => handle.query(msg.viewQuery), id);
      const why = refuseAction(action, view.status);
      if (why) throw conflict(why);
      throw this.translate(err, id);
    }
  }

  /** A manual retry starts the job's next run under the same id, earlier attempts carried along. */
  async retry(idOrSequence: string): Promise<JobView> {
    const id = await this.resolveId(idOrSequence);
    const handle = this.handle(id);
    const view = await this.guard(() => handle.query(msg.viewQuery), id);
    const why = refuseAction('retry', view.status);
    if (why) throw conflict(why);
    const next = await this.guard(() => handle.query(msg.retryInputQuery), id);
    try {
      await this.startRun(next);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) throw conflict('the job is already being retried');
      throw err;
    }
    return this.pollView(id, (v) => v.status !== view.status);
  }

  private async pollView(id: string, done: (v: JobView) => boolean, timeoutMs = 5_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.get(id);
      if (done(v) || Date.now() > deadline) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // ------------------------------------------------------------------ errors

  /** Runs a Temporal call and turns its failures into ApiErrors. */
  async guard<T>(fn: () => Promise<T>, jobId?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.translate(err, jobId);
    }
  }

  private translate(err: unknown, jobId?: string): Error {
    if (err instanceof ApiError) return err;
    if (err instanceof WorkflowNotFoundError) return notFound(`job ${jobId ?? ''} not found`.replace('  ', ' '));
    if (err instanceof WorkflowExecutionAlreadyStartedError) return conflict('the job is already running');
    const known = temporalFailure(err, `job ${jobId ?? ''}`.trim());
    if (known) return known;
    if (grpcCode(err) === 3) return badRequest('invalid request to the job store');
    const name = (err as Error)?.name ?? '';
    if (name === 'QueryNotRegisteredError' || /no.*poller|unavailable/i.test((err as Error)?.message ?? '')) {
      return unavailable('no worker is answering for this job right now; try again shortly');
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

function summarize(e: temporal.api.workflow.v1.IWorkflowExecutionInfo): JobSummary | undefined {
  const memoPayload = e.memo?.fields?.[SUMMARY_MEMO];
  if (!memoPayload) return undefined;
  const memo = defaultPayloadConverter.fromPayload<Omit<JobSummary, 'status' | 'node_id' | 'retry_count' | 'completed_at'>>(memoPayload as Payload);
  const sa = decodeTypedSearchAttributes(e.searchAttributes?.indexedFields);
  const status = sa.get(SA.status);
  const closed = e.closeTime ? new Date(Number(e.closeTime.seconds ?? 0) * 1000 + Math.floor((e.closeTime.nanos ?? 0) / 1e6)).toISOString() : null;
  return {
    ...memo,
    status: isJobStatus(status) ? status : 'queued',
    node_id: sa.get(SA.node) || null,
    retry_count: sa.get(SA.retryCount) ?? 0,
    completed_at: closed,
  };
}
