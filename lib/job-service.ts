/**
 * Jobs on Temporal, for every front door: the master API, the CLI's `--via temporal` mode, the
 * benchmarks and the tests. It keeps no state: a job is its workflow. Errors are ApiErrors with
 * the status the API answers with.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, type Payload, type WorkflowIdReusePolicy } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { temporal } from '@temporalio/proto';
import { findEncoder } from '../domain/encoders';
import { isJobUuid } from '../domain/ids';
import { FAILURE } from '../domain/failures';
import { jobWorkflowId, JOB_WORKFLOW_ID_PREFIX, SUMMARY_MEMO, VIEW_MEMO, type EncodeProgress, type JobRequest, type JobView, type JobWorkflowInput } from '../domain/job';
import * as msg from '../domain/messages';
import type { ProgressHistory } from '../domain/progress-history';
import { ORCHESTRATION_QUEUE } from '../domain/queues';
import { routingIntentOf } from '../domain/routing';
import { JobValidationError, resolveJob, type ResolveContext } from '../domain/resolve';
import type { CreateJobBody } from '../domain/schemas';
import { SA } from '../domain/search-attributes';
import { ACTION_ALLOWED_FROM, isJobStatus, refuseAction, type ControlAction, type JobStatus } from '../domain/states';
import { initialJobView, withLiveSegments } from '../domain/view';
import type { sequenceCounter, transcodeJob } from '../workflows';
import { LRUCache } from 'lru-cache';
import { pageCursor, pageTokenOf, type ListCursor } from './page-token';
import { ReadCache } from './read-cache';
import { SequenceAllocator } from './sequence-allocator';
import { ApiError, badRequest, conflict, grpcCode, notFound, temporalFailure, unavailable } from './errors';

const LIVE_STATUSES: readonly JobStatus[] = ['assigned', 'running', 'paused'];

/**
 * Memo field of every run: the fingerprint of the request the job was created from. A replayed
 * Idempotency-Key compares it. Its own field, not in the summary memo, which the list answer shows.
 */
export const FINGERPRINT_MEMO = 'request_fingerprint';

/** Who asked and with which Idempotency-Key: together they name at most one job. */
export interface IdempotentRequest {
  /** the caller's principal id (api/auth.ts: a digest of the API key, never the key itself) */
  principal: string;
  key: string;
}

/** JSON with object keys sorted at every level (undefined members dropped, as JSON drops them). */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((e) => canonicalJson(e ?? null)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const members = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The fingerprint of a job request (the validated body, defaults filled in): two bodies that
 * mean the same job have the same one, whatever their key order or spelled-out defaults.
 */
export function requestFingerprint(request: JobRequest): string {
  return `sha256:${createHash('sha256').update(canonicalJson(request)).digest('hex')}`;
}

/**
 * The job id an Idempotency-Key names: a name-based UUID (RFC 9562 version 8) from SHA-256 of the
 * principal and the key, so every master replica, before or after a restart, derives the same
 * workflow id, and two callers with the same key never share a job. Version 8 never equals a
 * random (version 4) job id.
 */
export function idempotentJobId({ principal, key }: IdempotentRequest): string {
  // JSON keeps the two fields apart whatever characters they hold
  const h = createHash('sha256').update(JSON.stringify(['ffrtmp idempotency-key v1', principal, key])).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The key names a job created from another request. */
export class IdempotencyKeyReused extends ApiError {
  constructor(key: string, jobId: string) {
    super(422, `Idempotency-Key ${JSON.stringify(key)} was used with a different request (job ${jobId}); use a new key for a new job`);
    this.name = 'IdempotencyKeyReused';
  }
}

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

type LiveDetails = Partial<EncodeProgress> & { stderr_tail?: string[]; command?: string; history?: ProgressHistory; segment_index?: number };

/** Heartbeat details of a job's pending encodes (progress, fps, speed, log tail): one per segment of a split job. */
function allLiveDetails(raw: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse): LiveDetails[] {
  return (raw.pendingActivities ?? [])
    .filter((a) => a.activityType?.name === 'encode')
    .map((pending) => {
      const payload = pending.heartbeatDetails?.payloads?.[0];
      return payload ? defaultPayloadConverter.fromPayload<LiveDetails>(payload as Payload) : {};
    });
}

/** Heartbeat details of a job's pending encode; undefined when none is pending. */
function liveDetails(raw: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse): LiveDetails | undefined {
  return allLiveDetails(raw)[0];
}

/**
 * A job view with the live figures of its pending encode (progress, fps, speed, ETA, the progress
 * series) from a describe of its run: the workflow's own view has none, its progress is 0 until
 * the attempt completes. The view as it is when its job has no live attempt; undefined when it
 * should have one and none is pending (an attempt that just ended: the workflow has not taken its
 * result yet).
 */
function withLiveFigures(view: JobView, desc: { status: { name: string }; raw: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse }): JobView | undefined {
  if (desc.status.name !== 'RUNNING') return view;
  if (!LIVE_STATUSES.includes(view.status) || view.attempt === 0) return view;
  if (view.segments) return withLiveSegments(view, allLiveDetails(desc.raw));
  const live = liveDetails(desc.raw);
  if (!live) return undefined;
  return {
    ...view,
    progress: Math.max(view.progress, live.progress ?? 0),
    fps: live.fps ?? null,
    speed: live.speed ?? null,
    eta_seconds: view.status === 'paused' ? null : (live.eta_seconds ?? null),
    ...(live.history ? { progress_history: live.history } : {}),
  };
}

/**
 * How long a read answers for everyone (GET /jobs/{id}, GET /jobs): under the 0.5 s progress
 * interval, so a reader is never more than about one heartbeat behind.
 */
export const READ_TTL_MS = 300;

/** The largest POST /jobs/batch (the sequence counter hands out at most this many at once). */
export const MAX_BATCH = 1_000;

/** Runs `fn` over `items`, `width` at a time, in order of start. */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i]!, i);
    }),
  );
}

export class JobService {
  private readonly sequence = new SequenceAllocator((count) => this.takeSequenceNumbers(count));
  // stale answers stay until pushed out (lru-cache's ttlAutopurge would abort a load slower than the
  // TTL): 500 views hold what 300 ms of reads and creates need, and a 200-row page twice over
  private readonly views = new ReadCache<JobView>({ max: 500, ttlMs: READ_TTL_MS });
  private readonly pages = new ReadCache<JobPage>({ max: 200, ttlMs: READ_TTL_MS });
  /** sequence number -> job id never changes once visible: kept (bounded) */
  private readonly bySequence = new LRUCache<number, string>({ max: 100_000 });

  constructor(
    readonly client: Client,
    private readonly resolveContext: ResolveContext,
  ) {}

  // ------------------------------------------------------------------ create

  async create(body: CreateJobBody): Promise<JobView> {
    const input = await this.newJob(randomUUID(), body);
    // a random id: ALLOW_DUPLICATE is moot, and an existing id would be a uuid collision
    if (!(await this.startRun(input, 'ALLOW_DUPLICATE'))) throw conflict(`job ${input.id} already exists`);
    return this.created(input);
  }

  /** A job this process just created: readers of it and of the list see it at once. */
  private created(input: JobWorkflowInput): JobView {
    const view = initialJobView(input);
    this.views.set(input.id, view);
    this.bySequence.set(input.sequenceNumber, input.id);
    this.pages.clear();
    return view;
  }

  /**
   * Create with an Idempotency-Key: the first request creates the job, any later one with the
   * same principal, key and request answers with that job (`replayed`), for as long as Temporal
   * keeps the workflow (while it runs, then the namespace's retention period). The same key with
   * another request is refused (IdempotencyKeyReused, 422).
   */
  async createIdempotent(body: CreateJobBody, idem: IdempotentRequest): Promise<{ job: JobView; replayed: boolean }> {
    const id = idempotentJobId(idem);
    const fingerprint = requestFingerprint(toJobRequest(body));
    // the usual replay (a client retrying after a lost answer) costs no sequence number
    const seen = await this.replay(id, fingerprint, idem.key);
    if (seen) return { job: seen, replayed: true };
    const input = await this.newJob(id, body);
    // REJECT_DUPLICATE: a closed job keeps its key too (until retention removes it)
    if (await this.startRun(input, 'REJECT_DUPLICATE')) return { job: this.created(input), replayed: false };
    // a concurrent request with the same key started it first (this one's sequence number is a gap)
    const first = await this.replay(id, fingerprint, idem.key);
    if (first) return { job: first, replayed: true };
    throw unavailable(`job ${id} for this Idempotency-Key exists but could not be read; try again shortly`);
  }

  /**
   * Up to 1,000 jobs at once: every request is validated first (all or nothing: each error names
   * its index and field), the jobs take consecutive sequence numbers with one call to the counter,
   * and their workflows start 32 at a time. With an Idempotency-Key each job's id comes from the
   * key and its index, so a retried batch answers with the jobs it created and creates only the
   * ones it had not (their numbers then follow on, no longer consecutive with the first ones).
   */
  async createBatch(bodies: CreateJobBody[], idem?: IdempotentRequest): Promise<{ jobs: JobView[]; replayed: number }> {
    if (bodies.length === 0 || bodies.length > MAX_BATCH) throw badRequest(`jobs: between 1 and ${MAX_BATCH} job requests, got ${bodies.length}`);
    const requests = bodies.map(toJobRequest);
    const errors: string[] = [];
    const resolved = requests.map((request, i) => {
      try {
        return resolveJob(request, this.resolveContext);
      } catch (err) {
        if (!(err instanceof JobValidationError)) throw err;
        errors.push(`jobs.${i}.${err.message}`);
        return undefined;
      }
    });
    if (errors.length > 0) throw badRequest(errors.join('; '));
    const ids = requests.map((_, i) => (idem ? idempotentJobId({ principal: idem.principal, key: `${idem.key}#${i}` }) : randomUUID()));
    const views: (JobView | undefined)[] = new Array<JobView | undefined>(requests.length);
    if (idem) {
      await inBatches(ids, 32, async (id, i) => {
        views[i] = await this.replay(id, requestFingerprint(requests[i]!), `${idem.key}#${i}`);
      });
    }
    const missing = ids.map((_, i) => i).filter((i) => !views[i]);
    const replayed = ids.length - missing.length;
    if (missing.length > 0) {
      const first = await this.takeSequenceNumbers(missing.length);
      const createdAt = new Date().toISOString();
      const failed: number[] = [];
      await inBatches(missing, 32, async (i, k) => {
        const input: JobWorkflowInput = { id: ids[i]!, sequenceNumber: first + k, createdAt, request: requests[i]!, ...resolved[i]! };
        try {
          if (await this.startRun(input, idem ? 'REJECT_DUPLICATE' : 'ALLOW_DUPLICATE')) views[i] = this.created(input);
          else if (idem) views[i] = await this.replay(ids[i]!, requestFingerprint(requests[i]!), `${idem.key}#${i}`);
        } catch {
          failed.push(i);
        }
        if (!views[i] && !failed.includes(i)) failed.push(i);
      });
      if (failed.length > 0) {
        const made = ids.length - failed.length;
        throw unavailable(`${made} of ${ids.length} jobs were created; these were not: jobs ${failed.sort((a, b) => a - b).join(', ')}${idem ? ' (send the batch again with the same Idempotency-Key: it creates only the missing ones)' : ''}`);
      }
    }
    return { jobs: views as JobView[], replayed };
  }

  /** A validated, resolved job with its sequence number: the first run's input. */
  private async newJob(id: string, body: CreateJobBody): Promise<JobWorkflowInput> {
    const request = toJobRequest(body);
    let resolved;
    try {
      resolved = resolveJob(request, this.resolveContext);
    } catch (err) {
      if (err instanceof JobValidationError) throw badRequest(err.message);
      throw err;
    }
    const sequenceNumber = await this.nextSequenceNumber();
    return { id, sequenceNumber, createdAt: new Date().toISOString(), request, ...resolved };
  }

  /**
   * The job an Idempotency-Key already names, if it exists; refused when it was created from
   * another request. The latest run answers (a manually retried job has several).
   */
  private async replay(id: string, fingerprint: string, key: string): Promise<JobView | undefined> {
    const handle = this.handle(id);
    const deadline = Date.now() + 5_000;
    for (;;) {
      let desc;
      try {
        desc = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw this.translate(err, id);
      }
      if (desc.memo?.[FINGERPRINT_MEMO] !== fingerprint) throw new IdempotencyKeyReused(key, id);
      if (desc.memo?.[VIEW_MEMO]) return this.get(id);
      // no view published yet (the run's first workflow task has not run): a first run's view is
      // the one its create answered, built from the input it was started with
      const input = await this.startInput(id, desc.runId);
      if (!input.previous) return initialJobView(input);
      // a manual retry's run: its view carries the earlier runs, which only the workflow builds
      if (Date.now() > deadline) throw unavailable(`job ${id} is being retried and its new run is not readable yet; try again shortly`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The input a run was started with (its first history event). */
  private async startInput(id: string, runId: string): Promise<JobWorkflowInput> {
    const page = await this.guard(
      () =>
        this.client.workflowService.getWorkflowExecutionHistory({
          namespace: this.client.options.namespace,
          execution: { workflowId: jobWorkflowId(id), runId },
          maximumPageSize: 1,
        }),
      id,
    );
    const payload = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) throw new Error(`job ${id} run ${runId}: no start event input in its history`);
    return defaultPayloadConverter.fromPayload<JobWorkflowInput>(payload as Payload);
  }

  /** Starts a run of the job; false when its workflow id is taken (as the reuse policy judges). */
  private async startRun(input: JobWorkflowInput, workflowIdReusePolicy: WorkflowIdReusePolicy): Promise<boolean> {
    const { request, spec } = input;
    try {
      // typed by the workflow function (a type-only import: the client bundles no workflow code)
      await this.client.workflow.start<typeof transcodeJob>('transcodeJob', {
        workflowId: jobWorkflowId(input.id),
        taskQueue: ORCHESTRATION_QUEUE,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy,
        priority: { priorityKey: (input.routing ?? routingIntentOf(request, input.policy)).priorityKey.first },
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
          // every run carries it, so a manually retried job still answers its key
          [FINGERPRINT_MEMO]: requestFingerprint(request),
        },
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw this.translate(err);
    }
  }

  /** The next job sequence number from the durable counter workflow (started on first use). */
  nextSequenceNumber(): Promise<number> {
    return this.sequence.next();
  }

  private takeSequenceNumbers(count: number): Promise<number> {
    return this.guard(() =>
      this.client.workflow.executeUpdateWithStart(msg.nextSequenceUpdate, {
        args: [count],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof sequenceCounter>('sequenceCounter', {
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
      const known = this.bySequence.get(seq);
      if (known) return known;
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
        if (wfId) {
          const id = wfId.slice(JOB_WORKFLOW_ID_PREFIX.length);
          this.bySequence.set(seq, id);
          return id;
        }
        if (Date.now() > deadline) throw notFound(`job ${seq} not found`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (!isJobUuid(idOrSequence.toLowerCase())) {
      throw notFound(`job ${idOrSequence.slice(0, 64)} not found (an id is a uuid or a sequence number)`);
    }
    return idOrSequence.toLowerCase();
  }

  private handle(id: string): WorkflowHandle {
    return this.client.workflow.getHandle(jobWorkflowId(id));
  }

  /** A job's view, shared by concurrent readers and kept READ_TTL_MS (lib/read-cache.ts). */
  async get(idOrSequence: string): Promise<JobView> {
    const id = await this.resolveId(idOrSequence);
    return this.views.get(id, () => this.readView(id));
  }

  /** A job's view straight from Temporal: one describe (the memo's view + live heartbeat details). */
  private async readView(id: string): Promise<JobView> {
    const handle = this.handle(id);
    // An attempt that just ended has no pending activity while the workflow has not yet taken
    // its result: ask again for a moment rather than show a running job without its progress.
    const deadline = Date.now() + 1_000;
    for (;;) {
      const desc = await this.guard(() => handle.describe(), id);
      // the view the workflow published as memo; a run that never published one (ended before its
      // first workflow task) is asked directly
      const view = (desc.memo?.[VIEW_MEMO] as JobView | undefined) ?? (await this.guard(() => handle.query(msg.viewQuery), id));
      const live = withLiveFigures(view, desc);
      if (live !== undefined) return live;
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

  /** A page of the list, shared by concurrent readers of the same query and kept READ_TTL_MS. */
  list(filters: JobFilters, limit: number, pageToken?: string): Promise<JobPage> {
    const key = JSON.stringify([filters.status, filters.queue, filters.priority, filters.scenario, filters.node, limit, pageToken]);
    return this.pages.get(key, () => this.readPage(filters, limit, pageToken));
  }

  /**
   * One page in the documented order: open jobs (their workflow runs) first, then the others,
   * each newest first by sequence number. SQL visibility has no ORDER BY — it lists by the
   * server's start time, which a batch (32 starts at a time) or concurrent creates put out of
   * sequence — so pages are keyset pages on JobSeq: windows of sequence numbers below the
   * cursor, read whole, sorted here, widened (doubling) until the page is full or the group ends.
   */
  private async readPage(filters: JobFilters, limit: number, pageToken?: string): Promise<JobPage> {
    const clauses = [`WorkflowType = 'transcodeJob'`];
    const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    if (filters.status) clauses.push(`JobStatus = ${quote(filters.status)}`);
    if (filters.queue) clauses.push(`JobQueue = ${quote(filters.queue)}`);
    if (filters.priority) clauses.push(`JobPriority = ${quote(filters.priority)}`);
    if (filters.scenario) clauses.push(`JobScenario = ${quote(filters.scenario)}`);
    if (filters.node) clauses.push(`JobNode = ${quote(filters.node)}`);
    const query = clauses.join(' AND ');
    let cursor: ListCursor = pageToken ? pageCursor(pageToken, query) : { open: true, below: (await this.currentSequenceNumber()) + 1, top: 0 };
    if (cursor.top === 0) cursor = { ...cursor, top: cursor.below };
    const jobs: { job: JobSummary; open: boolean }[] = [];
    let width = limit + 1;
    // one more than the page: whether a next page exists
    while (jobs.length <= limit) {
      const lo = Math.max(1, cursor.below - width);
      if (cursor.below > 1) {
        const group = `ExecutionStatus ${cursor.open ? '=' : '!='} 'Running'`;
        const found = await this.readAll(`${query} AND ${group} AND ${SA.sequence.name} >= ${lo} AND ${SA.sequence.name} < ${cursor.below}`);
        const open = cursor.open;
        jobs.push(...found.sort((a, b) => b.sequence_number - a.sequence_number).map((job) => ({ job, open })));
      }
      if (lo > 1) {
        cursor = { ...cursor, below: lo };
        width *= 2;
      } else if (cursor.open) {
        cursor = { open: false, below: cursor.top, top: cursor.top };
        width = limit + 1;
      } else break;
    }
    const last = jobs[limit - 1];
    const next: ListCursor | undefined = jobs.length > limit && last ? { open: last.open, below: last.job.sequence_number, top: cursor.top } : undefined;
    return { jobs: jobs.slice(0, limit).map((e) => e.job), next_page_token: next ? pageTokenOf(next, query) : null };
  }

  /** Every execution a visibility query matches (one job per entry: its current run). */
  private async readAll(query: string): Promise<JobSummary[]> {
    const executions: temporal.api.workflow.v1.IWorkflowExecutionInfo[] = [];
    let token: Uint8Array | undefined;
    do {
      const page = await this.guard(() =>
        this.client.workflowService.listWorkflowExecutions({ namespace: this.client.options.namespace, pageSize: 1_000, nextPageToken: token, query }),
      );
      executions.push(...(page.executions ?? []));
      token = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
    } while (token);
    return this.currentRunsOnly(executions);
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
      if (!job || !e.closeTime || !ACTION_ALLOWED_FROM.retry.includes(job.status)) return job;
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
    this.pages.clear();
    try {
      const settled = await handle.executeUpdate(update, { args: [{ reason }] });
      // The writer reads its own write: the view the update answered with. The workflow never
      // sees heartbeats, so that view has no live figures (progress 0, fps null): they come from
      // the pending encode, read now, or a paused job would read as 0 % until the cache expired.
      const desc = await handle.describe().catch(() => undefined);
      const view = (desc && withLiveFigures(settled, desc)) ?? settled;
      this.views.set(id, view);
      return view;
    } catch (err) {
      this.views.delete(id);
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE.conflict) {
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
    // ALLOW_DUPLICATE: a new run under the closed job's id, whatever policy its first run had
    if (!(await this.startRun(next, 'ALLOW_DUPLICATE'))) throw conflict('the job is already being retried');
    this.views.delete(id);
    this.pages.clear();
    const fresh = await this.pollView(id, (v) => v.status !== view.status);
    this.views.set(id, fresh);
    return fresh;
  }

  private async pollView(id: string, done: (v: JobView) => boolean, timeoutMs = 5_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.readView(id);
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

/** The request as the job keeps it (a copy: the body's objects stay the caller's). */
function toJobRequest(body: CreateJobBody): JobRequest {
  return { ...body, parameters: { ...body.parameters } };
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
