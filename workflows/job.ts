/**
 * The transcoding job workflow: one execution per job run. It owns the job's state machine,
 * dispatches each attempt to an encode task queue, steers the running encoder (pause, resume,
 * cancel) through the node's control queue, enforces the attempt deadline (paused time excluded)
 * and retries with exponential backoff. Deterministic: no I/O, no Node built-ins.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { EncodeFailureDetails, NodeControlActivities, OrchestrationActivities } from '../domain/activities';
import { FAILURE } from '../domain/failures';
import { VIEW_MEMO, backoffMs, type EncodeResult, type JobView, type JobWorkflowInput } from '../domain/job';
import * as msg from '../domain/messages';
import { nodeQueue } from '../domain/queues';
import { planRoute, type Route } from '../domain/routing';
import type { ControlAction } from '../domain/states';
import { JobState } from './job-state';
import { notifyWebhooks } from './job-webhooks';
import { setWorkflowLogFields } from './log-context';
import { controlProxy, encodeProxy, publishProxy } from './proxies';
import { planSplit, runSplitAttempt } from './split-job';

type AttemptOutcome =
  | { kind: 'completed' }
  | { kind: 'canceled' }
  | { kind: 'requeued' }
  | { kind: 'unclaimed' }
  | { kind: 'failed' | 'timed_out'; retryable: boolean };

/** How often a job that waits for a worker it requires looks again. */
const ROUTE_RECHECK_MS = 10_000;

const { liveCapabilities } = proxyLocalActivities<OrchestrationActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '500 ms' },
});

export async function transcodeJob(input: JobWorkflowInput): Promise<JobView> {
  const job = new JobState(input, features(input));
  // every line logged in this workflow (the SDK's too) names the job, its attempt and node
  setWorkflowLogFields(() => ({ job_id: job.input.id, attempt: job.attempt, node: job.current?.node_id ?? null }));
  registerHandlers(job);
  publishViews(job);
  const notifier = job.features.webhooks ? notifyWebhooks(job) : undefined;
  // `temporal workflow cancel` (a Temporal cancellation request) cancels the job like our own cancel
  CancellationScope.current().cancelRequested.catch(() => job.requestCancel('canceled through Temporal'));

  await CancellationScope.nonCancellable(() => runJob(job));
  await condition(allHandlersFinished);
  // a Temporal cancellation request canceled the root scope: the last hand-off still goes out
  if (notifier) await CancellationScope.nonCancellable(() => notifier.drained());
  upsertMemo({ [VIEW_MEMO]: job.view() });

  if (job.status === 'failed' || job.status === 'timed_out') {
    // the execution fails too, so the Web UI shows it red (the view stays in the memo)
    throw ApplicationFailure.create({
      type: job.status === 'failed' ? FAILURE.jobFailed : FAILURE.jobTimedOut,
      message: job.error ?? job.status,
      nonRetryable: true,
    });
  }
  return job.view();
}

/**
 * The job view, published as the run's memo once per workflow task that changed it: GET /jobs/{id}
 * reads it with one describe call — no query, so no worker round trip and no replay.
 */
function publishViews(job: JobState): void {
  // outside the root scope: `temporal workflow cancel` must cancel the job, not this loop
  void CancellationScope.nonCancellable(async () => {
    let published = -1;
    for (;;) {
      await condition(() => job.rev !== published);
      published = job.rev;
      upsertMemo({ [VIEW_MEMO]: job.view() });
    }
  });
}

function registerHandlers(job: JobState): void {
  setHandler(msg.viewQuery, () => job.view());
  setHandler(msg.logsQuery, () => job.logs());
  setHandler(msg.retryInputQuery, () => job.retryInput());

  const validator = (action: ControlAction) => (_req?: msg.ControlInput) => {
    const why = job.refuse(action);
    if (why) throw ApplicationFailure.create({ type: FAILURE.conflict, message: why, nonRetryable: true });
  };
  setHandler(msg.pauseUpdate, async (req?: msg.ControlInput) => {
    job.request('pause', req?.reason);
    await condition(() => job.status === 'paused' || job.controlError !== null || job.completedAt !== null);
    return settledView(job, 'pause', job.status === 'paused');
  }, { validator: validator('pause') });
  setHandler(msg.resumeUpdate, async (req?: msg.ControlInput) => {
    job.request('resume', req?.reason);
    await condition(() => job.status !== 'paused' || job.controlError !== null);
    return settledView(job, 'resume', job.status !== 'paused');
  }, { validator: validator('resume') });
  setHandler(msg.cancelUpdate, async (req?: msg.ControlInput) => {
    job.requestCancel(req?.reason ?? 'canceled by request');
    await condition(() => job.completedAt !== null);
    return settledView(job, 'cancel', job.status === 'canceled');
  }, { validator: validator('cancel') });

  // signal twins for `temporal workflow signal`: a forbidden one is logged and dropped
  const viaSignal = (action: ControlAction, apply: () => void) => () => {
    const why = job.refuse(action);
    if (why) log.warn(`${action} signal ignored: ${why}`);
    else apply();
  };
  setHandler(msg.pauseSignal, (req) => viaSignal('pause', () => job.request('pause', req?.reason))());
  setHandler(msg.resumeSignal, (req) => viaSignal('resume', () => job.request('resume', req?.reason))());
  setHandler(msg.cancelSignal, (req) =>
    viaSignal('cancel', () => job.requestCancel(req?.reason ?? 'canceled by signal'))(),
  );

  setHandler(msg.encodeStartedSignal, (e) => job.onAssigned(e.attempt, e.nodeId, e.nodeName));
  setHandler(msg.encodeRunningSignal, (e) => job.onFirstFrame(e.attempt));
}

/** The view an update answers with, or a Conflict when the action was overtaken by events. */
function settledView(job: JobState, action: ControlAction, tookEffect: boolean): JobView {
  if (tookEffect) return job.view();
  const why = job.controlError ?? `the job became ${job.status} before the ${action} took effect`;
  job.controlError = null;
  throw ApplicationFailure.create({ type: FAILURE.conflict, message: why, nonRetryable: true });
}

async function runJob(job: JobState): Promise<void> {
  const { policy } = job.input;
  let fellBack = false;
  for (;;) {
    await holdWhilePausedInQueue(job);
    if (job.cancelRequested) {
      job.to('canceled', job.cancelReason);
      return;
    }
    const route = await chooseRoute(job, fellBack);
    if (!route) continue; // paused or canceled while waiting for a worker

    const outcome = job.features.segments ? await runMaybeSplit(job, route) : await runAttempt(job, route);
    if (outcome.kind === 'requeued') continue;
    if (outcome.kind === 'completed' || outcome.kind === 'canceled') return;
    if (outcome.kind === 'unclaimed') {
      const secs = Math.round((route.scheduleToStartMs ?? 0) / 1000);
      if (route.onTimeout === 'fallback-to-cpu') {
        fellBack = true;
        continue;
      }
      job.fail('failed', `no live worker offers ${route.capability} (waited ${secs} s): start a worker with it, or submit with engine=auto`, undefined);
      return;
    }

    if (!outcome.retryable) return;
    if (job.autoRetries >= policy.maxRetries) {
      log.info(`no automatic retries left (${policy.maxRetries})`);
      return;
    }
    job.autoRetries++;
    const wait = backoffMs(policy, job.autoRetries);
    job.to('retrying', `automatic retry ${job.autoRetries} of ${policy.maxRetries} in ${Math.round(wait / 1000)} s`);
    if (await condition(() => job.cancelRequested, wait)) {
      job.to('canceled', job.cancelReason);
      return;
    }
    job.to('queued', `retry ${job.autoRetries} queued`);
  }
}

/** A job that asks for parallel: split when domain/segments.ts says it gains (workflows/split-job.ts), else whole. */
async function runMaybeSplit(job: JobState, route: Route): Promise<AttemptOutcome> {
  const plan = await planSplit(job, route);
  // back to the main loop, which pauses or cancels the job as asked
  if (plan === 'interrupted') return { kind: 'requeued' };
  if (plan) return runSplitAttempt(job, route, plan);
  job.segments = null;
  return runAttempt(job, job.splitNote ? { ...route, reason: `${route.reason}; ${job.splitNote}` } : route);
}

/**
 * Where the next attempt goes (domain/routing.ts decides from the live capabilities). A job that
 * requires a capability no live worker has waits, queued, looking again every few seconds;
 * undefined when a pause or cancel interrupted the wait.
 */
async function chooseRoute(job: JobState, fellBack: boolean): Promise<Route | undefined> {
  const { input, routing } = job;
  for (;;) {
    const decision = planRoute({
      spec: input.spec,
      engine: routing.engine,
      queue: routing.queue,
      hardware: routing.hardware,
      explicitEncoder: routing.explicitEncoder,
      live: await liveCapabilities(),
      gpuWaitMs: input.policy.gpuWaitMs,
      fellBack,
    });
    if (decision.kind === 'route') {
      job.waitReason = null;
      return decision.route;
    }
    job.noteWaiting(decision.reason);
    await condition(() => job.cancelRequested || job.pauseRequested, ROUTE_RECHECK_MS);
    if (job.cancelRequested || job.pauseRequested) return undefined;
  }
}

/** A queued job that is paused is not dispatched until it is resumed (or canceled). */
async function holdWhilePausedInQueue(job: JobState): Promise<void> {
  if (job.status === 'queued' && job.pauseRequested) job.enterPause('paused while queued');
  if (job.status !== 'paused') return;
  await condition(() => job.resumeRequested || job.cancelRequested);
  if (job.cancelRequested) return;
  job.leavePause('resumed', 'queued');
}

async function runAttempt(job: JobState, route: Route): Promise<AttemptOutcome> {
  const { input } = job;
  const { policy } = input;
  const attempt = job.beginAttempt(route, route.reason);

  const { encode } = encodeProxy(route, policy.heartbeatTimeoutMs, attempt > 1 ? job.routing.priorityKey.later : job.routing.priorityKey.first);

  let settled: { ok: true; value: EncodeResult } | { ok: false; error: unknown } | undefined;
  const scope = new CancellationScope();
  const launch = (run: () => Promise<EncodeResult>) => {
    settled = undefined;
    void scope
      .run(run)
      .then(
        (value) => (settled = { ok: true, value }),
        (error: unknown) => (settled = { ok: false, error }),
      )
      .finally(() => job.bump());
  };
  // the attempt writes its own file and the workflow publishes the accepted one (jobs started
  // before keep the old way: their encode publishes itself)
  const stage = job.features.stagedOutput;
  launch(() =>
    encode({
      jobId: input.id,
      attempt,
      spec: route.spec,
      confidence: input.request.confidence,
      stallTimeoutMs: policy.stallTimeoutMs,
      ...(stage ? { stage: true } : {}),
    }),
  );
  let adoptedFrom: unknown;

  let stopping: 'cancel' | 'requeue' | 'deadline' | undefined;
  let activeMs = 0;
  const stop = (why: NonNullable<typeof stopping>) => {
    stopping = why;
    scope.cancel();
  };

  // Steer the attempt (pause, resume, cancel, deadline) until what was launched settles. Keep
  // this loop free of extra awaits: the order of the commands it and the view publisher issue is
  // part of every job's history (the replay test of older versions' histories checks it).
  for (;;) {
    while (!settled) {
      const seen = job.rev;
      if (!stopping) {
        if (job.cancelRequested) {
          stop('cancel');
          continue;
        }
        if (job.pauseRequested && job.status === 'queued') {
          stop('requeue');
          continue;
        }
        if (job.pauseRequested && (job.status === 'assigned' || job.status === 'running')) {
          await controlEncoder(job, 'suspend');
          continue;
        }
        if (job.resumeRequested && job.status === 'paused') {
          await controlEncoder(job, 'resume');
          continue;
        }
      }
      const onTheClock = !stopping && (job.status === 'assigned' || job.status === 'running');
      if (onTheClock) {
        const started = Date.now();
        const woke = await condition(() => settled !== undefined || job.rev !== seen, Math.max(1, policy.attemptDeadlineMs - activeMs));
        activeMs += Date.now() - started;
        if (!woke) stop('deadline');
      } else {
        await condition(() => settled !== undefined || job.rev !== seen);
      }
    }
    // Temporal lost sight of the encode (no heartbeat reached it): ask its node whether the
    // encode is still there, running or finished, and take it over rather than encode again
    const lostNode = attemptNode(job);
    if (!settled.ok && !stopping && adoptedFrom === undefined && lostNode && lostHeartbeat(settled.error) && job.features.adoptLostEncode) {
      adoptedFrom = settled.error;
      log.info(`no heartbeat from ${job.current?.node_name ?? lostNode}: asking it for attempt ${attempt}`);
      const { adoptAttempt } = nodeActivities(lostNode, policy.heartbeatTimeoutMs);
      launch(() => adoptAttempt({ jobId: input.id, attempt }));
      continue;
    }
    break;
  }

  const result = settled;
  if (result.ok) {
    // staged outputs (jobs of this version) are published by the node; older jobs' are in place
    const published = result.value.staged ? await publish(job, attemptNode(job), result.value) : ({ ok: true, value: result.value } as const);
    if (!published.ok) return fail(job, 'failed', published.error, result.value.log, true);
    if (job.status === 'paused') job.leavePause('finished while being paused');
    job.complete(published.value);
    return { kind: 'completed' };
  }
  // an adoption the node never took, or could not serve, says nothing new: the attempt is lost
  // as the heartbeat timeout said; one that ran and failed tells why (a stall, a lost lease)
  const adoptionSilent = adoptedFrom !== undefined && (timedOut(result.error) || failureType(result.error) === FAILURE.encoderNotFound);
  return classifyFailure(job, adoptionSilent ? adoptedFrom : result.error, stopping, adoptedFrom !== undefined);
}

/**
 * Workflow changes that jobs already running must not see (docs/ARCHITECTURE.md, "Changing
 * workflow code"). Each patch is asked once, as the run starts, always in this order: a marker in
 * history at a fixed place, whichever paths the run takes later (asking again per attempt put
 * markers where a replay does not ask, a non-determinism error the workflow tests caught).
 */
export const PATCH = {
  /**
   * The changes of one release, shipped together, so one marker (and one TemporalChangeVersion
   * upsert) per job rather than one each: every attempt writes its own file and the workflow
   * publishes the accepted one; a lost heartbeat asks the node before calling the worker lost;
   * JobEngine and JobCapability follow the route each attempt takes; a new job does not upsert
   * the search attributes its start already set.
   */
  release2: 'ffrtmp-release-2',
  /** every state change is handed off as a webhook event (workflows/job-webhooks.ts) */
  webhooks: 'ffrtmp-webhooks',
  /**
   * Segment-parallel encoding (workflows/split-job.ts). Asked only by runs whose input asks for
   * parallel (input.segmenting, fixed for the run, so asking is deterministic): jobs that do not
   * split carry no marker.
   */
  segments: 'ffrtmp-segments',
  /**
   * A split job's probe of its input is steered like an encode: a cancel or pause while it waits
   * for a worker (or runs) stops it. Asked, like segments, only by runs that may split.
   */
  steeredProbe: 'ffrtmp-steered-probe',
} as const;

/** What the run's code does, by change (all from the one patch of their release). */
export interface Features {
  stagedOutput: boolean;
  adoptLostEncode: boolean;
  routeSearchAttributes: boolean;
  /** the creation transition does not upsert what the start set; a route equal to it neither */
  quietStart: boolean;
  /** state changes are handed off as webhook events */
  webhooks: boolean;
  /** a job that asks for parallel may be split into segments */
  segments: boolean;
  /** a cancel or pause stops the split's probe of the input */
  steeredProbe: boolean;
}

function features(input: JobWorkflowInput): Features {
  const release2 = patched(PATCH.release2);
  const webhooks = patched(PATCH.webhooks);
  const segments = input.segmenting !== undefined && patched(PATCH.segments);
  const steeredProbe = input.segmenting !== undefined && patched(PATCH.steeredProbe);
  return { stagedOutput: release2, adoptLostEncode: release2, routeSearchAttributes: release2, quietStart: release2, webhooks, segments, steeredProbe };
}

function attemptNode(job: JobState): string | null {
  return job.current?.node_id ?? null;
}

function timedOut(error: unknown): boolean {
  return (error instanceof ActivityFailure ? error.cause : error) instanceof TimeoutFailure;
}

function failureType(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function lostHeartbeat(error: unknown): boolean {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.HEARTBEAT;
}

/** The node's own queue: adoption, publishing, suspend/continue reach the very worker. */
function nodeActivities(nodeId: string, heartbeatTimeoutMs: number) {
  return proxyActivities<NodeControlActivities>({
    taskQueue: nodeQueue(nodeId),
    // a node that does not take it within seconds is gone (cut off, frozen, dead)
    scheduleToStartTimeout: '5 seconds',
    startToCloseTimeout: '7 days',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

/** The accepted attempt's staged file becomes the job's output (on the node that wrote it). */
async function publish(job: JobState, nodeId: string | null, result: EncodeResult): Promise<{ ok: true; value: EncodeResult } | { ok: false; error: string }> {
  if (!result.staged || !result.output.path) return { ok: true, value: result };
  if (!nodeId) return { ok: false, error: 'the attempt finished without a node to publish its output' };
  const { publishOutput } = publishProxy(nodeId);
  try {
    const output = await publishOutput({ jobId: job.input.id, attempt: job.attempt, staged: result.staged, final: result.output.path });
    const { staged: _staged, ...rest } = result;
    return { ok: true, value: { ...rest, output } };
  } catch (err) {
    const why = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
    return { ok: false, error: `could not publish the output of attempt ${job.attempt} on ${job.current?.node_name ?? nodeId}: ${why}` };
  }
}

/** Suspend or continue the attempt's encoder through its node's control queue. */
async function controlEncoder(job: JobState, action: 'suspend' | 'resume'): Promise<void> {
  const node = job.current?.node_id;
  if (!node) {
    job.failControl(`cannot ${action}: the attempt has no node yet`);
    return;
  }
  const control = controlProxy(node);
  const req = { jobId: job.input.id, attempt: job.attempt };
  try {
    if (action === 'suspend') {
      const at = await control.suspendEncoder(req);
      // the figure it stopped at is the paused job's (heartbeats with it may still be on their way)
      job.enterPause(`encoder suspended on ${job.current?.node_name ?? node}`, at ? at.progress : undefined);
    } else {
      await control.resumeEncoder(req);
      job.leavePause(`encoder continued on ${job.current?.node_name ?? node}`);
    }
  } catch (err) {
    const why = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
    log.warn(`${action} failed: ${why}`);
    job.failControl(`could not ${action} the encoder on ${node}: ${why}`);
  }
}

function classifyFailure(job: JobState, error: unknown, stopping: 'cancel' | 'requeue' | 'deadline' | undefined, askedNode = false): AttemptOutcome {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as EncodeFailureDetails | undefined) : undefined;
  const logText = details?.log;

  // what we stopped decides the outcome, whatever the activity reported on its way out
  if (stopping === 'cancel') {
    job.finishAttempt('canceled', null, logText);
    job.to('canceled', job.cancelReason);
    return { kind: 'canceled' };
  }
  if (stopping === 'requeue') {
    job.dropUnstartedAttempt();
    if (job.status !== 'queued') job.finishAttempt('requeued', null, logText);
    job.enterPause('paused before a worker started it');
    return { kind: 'requeued' };
  }
  if (stopping === 'deadline') {
    const secs = Math.round(job.input.policy.attemptDeadlineMs / 1000);
    return fail(job, 'timed_out', `attempt ${job.attempt} exceeded its deadline of ${secs} s`, logText, true);
  }
  if (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_START) {
    job.finishAttempt('unclaimed', `no worker took it from ${job.current?.task_queue} in time`, undefined);
    return { kind: 'unclaimed' };
  }
  if (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.HEARTBEAT) {
    const who = job.current?.node_name ?? 'the worker';
    const secs = Math.round(job.input.policy.heartbeatTimeoutMs / 1000);
    const asked = askedNode ? ` and no answer for the attempt (dead, cut off or frozen)` : '';
    return fail(job, 'failed', `${who} stopped heartbeating (worker lost): no heartbeat for ${secs} s${asked}; the attempt will run elsewhere`, logText, true);
  }
  if (cause instanceof ApplicationFailure && cause.type === FAILURE.stalled) {
    return fail(job, 'timed_out', cause.message, logText, true);
  }
  if (cause instanceof ApplicationFailure) {
    return fail(job, 'failed', cause.message, logText, !cause.nonRetryable);
  }
  if (cause instanceof CancelledFailure) {
    return fail(job, 'failed', 'the worker canceled the attempt (shutting down)', logText, true);
  }
  return fail(job, 'failed', cause instanceof Error ? cause.message : String(cause), logText, true);
}

function fail(job: JobState, kind: 'failed' | 'timed_out', message: string, logText: string | undefined, retryable: boolean): AttemptOutcome {
  if (job.status === 'paused') {
    // lost while suspended: the attempt failed; the retry waits, paused, until resumed
    job.fail('failed', message, logText);
    job.stayPaused();
    return { kind: 'failed', retryable };
  }
  job.fail(kind, message, logText);
  return { kind, retryable };
}
