/**
 * Segment-parallel encoding inside the job workflow: one attempt of a job whose request asks for
 * `parallel`, fanned out into segments (domain/segments.ts plans them) and joined. The job keeps
 * its one state machine (JobState); each segment is its own encode activity on the attempt's
 * route (same task queue, priority key and heartbeat timeout as a whole encode, so placement by
 * capability and the GPU fallback work as for a whole job), retried on its own; pause, resume and
 * cancel reach every segment at once. Then the join (with the checks every split job gets) and
 * the publish; the segment files go however the attempt ends. Deterministic: no I/O, no Node
 * built-ins.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  log,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { JoinResult, OrchestrationActivities, SegmentActivities, SplitProbe } from '../domain/activities';
import type { EncodeResult, JobEnergyFigures } from '../domain/job';
import type { Route } from '../domain/routing';
import { decideSplit, planSegments, segmentEncodeAttempt, singlePassFrames, type Segment } from '../domain/segments';
import type { JobState } from './job-state';
import { controlProxy, encodeProxy, publishProxy, segmentCleaner } from './proxies';
import { segmentStates, type SegmentState } from './split-state';

export interface SplitPlan {
  segments: Segment[];
  probe: SplitProbe;
  totalFrames: number;
  durationSec: number;
  reason: string;
}

/** How a split attempt ended, for the job's main loop (the same kinds as a whole attempt's). */
export type SplitOutcome = { kind: 'completed' } | { kind: 'canceled' } | { kind: 'unclaimed' } | { kind: 'failed' | 'timed_out'; retryable: boolean };

const { liveCapabilities } = proxyLocalActivities<OrchestrationActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '500 ms' },
});

function routeActivities(job: JobState, route: Route) {
  return proxyActivities<SegmentActivities>({
    taskQueue: route.taskQueue,
    ...(route.scheduleToStartMs ? { scheduleToStartTimeout: route.scheduleToStartMs } : {}),
    startToCloseTimeout: '7 days',
    heartbeatTimeout: job.input.policy.heartbeatTimeoutMs,
    retry: { maximumAttempts: 3, initialInterval: '1 second' },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

/**
 * The segments of this attempt, or undefined when the job runs whole: parallel says off in effect
 * (domain/segments.ts decideSplit says why, and the attempt's routing shows it), or the input
 * could not be probed (the whole encode then fails with what is wrong with it).
 */
export async function planSplit(job: JobState, route: Route): Promise<SplitPlan | undefined | 'interrupted'> {
  const asked = job.input.segmenting;
  if (!asked) return undefined;
  const spec = route.spec;
  let probe: SplitProbe = { inputSec: null, audioSec: spec.audio ? spec.durationSec : null, keyframes: [] };
  if (spec.input.kind !== 'synthetic') {
    const probing = () => routeActivities(job, route).probeForSplit({ jobId: job.input.id, spec });
    try {
      if (!job.features.steeredProbe) probe = await probing();
      else {
        const steered = await steer(job, probing);
        if (steered === 'interrupted') return steered;
        probe = steered;
      }
    } catch (err) {
      log.info(`not split: the input could not be probed (${err instanceof Error ? err.message : String(err)})`);
      job.splitNote = 'not split: the input could not be probed';
      return undefined;
    }
  }
  const totalFrames = singlePassFrames(spec.durationSec, probe.inputSec, spec.fps);
  const durationSec = probe.inputSec !== null && probe.inputSec > 0 ? Math.min(spec.durationSec, probe.inputSec) : spec.durationSec;
  const live = await liveCapabilities();
  const decision = decideSplit({ ...spec, queue: job.input.request.queue }, totalFrames, { parallel: asked.parallel, segmentSec: asked.segmentSec, liveWorkers: live.length });
  if (!decision.split) {
    job.splitNote = `not split: ${decision.reason}`;
    return undefined;
  }
  const segments = planSegments({ durationSec, fps: spec.fps, totalFrames, keyframes: probe.keyframes }, decision.plan);
  if (segments.length < 2) {
    job.splitNote = `not split: ${totalFrames} frames make one segment`;
    return undefined;
  }
  return { segments, probe, totalFrames, durationSec, reason: `split into ${segments.length} segments (${decision.reason})` };
}

/**
 * Runs an activity of a job that has no attempt yet (queued), until it settles or the job is asked
 * to pause or cancel: then it is canceled (a worker that has not taken it never will) and the
 * answer is 'interrupted'. A failure of the activity itself is thrown.
 */
async function steer<T>(job: JobState, run: () => Promise<T>): Promise<T | 'interrupted'> {
  const scope = new CancellationScope();
  let settled: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  void scope.run(run).then(
    (value) => (settled = { ok: true, value }),
    (error: unknown) => (settled = { ok: false, error }),
  );
  await condition(() => settled !== undefined || job.cancelRequested || job.pauseRequested);
  if (!settled) {
    scope.cancel();
    await condition(() => settled !== undefined);
    return 'interrupted';
  }
  const done: { ok: true; value: T } | { ok: false; error: unknown } = settled;
  if (done.ok) return done.value;
  throw done.error;
}

function causeOf(error: unknown): unknown {
  return error instanceof ActivityFailure ? error.cause : error;
}

function messageOf(error: unknown): string {
  const cause = causeOf(error);
  return cause instanceof Error ? cause.message : String(cause);
}

/** A segment failure another try may mend: anything but a non-retryable application failure. */
function retryable(error: unknown): boolean {
  const cause = causeOf(error);
  return !(cause instanceof ApplicationFailure && cause.nonRetryable);
}

function unclaimed(error: unknown): boolean {
  const cause = causeOf(error);
  return cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
}

/** Sums over the segments (energy, CPU time); measured and estimated figures are never mixed. */
function summed(results: readonly EncodeResult[], join: EncodeResult): Pick<EncodeResult, 'cpu_seconds' | 'energy'> {
  const cpu = [...results, join].reduce((n, r) => n + (r.cpu_seconds ?? 0), 0);
  const energies = results.map((r) => r.energy).filter((e): e is JobEnergyFigures => e !== null);
  const sources = [...new Set(energies.map((e) => e.power_source))];
  const energy: JobEnergyFigures | null =
    energies.length === results.length && sources.length === 1
      ? {
          energy_joules: Math.round(energies.reduce((n, e) => n + e.energy_joules, 0) * 100) / 100,
          avg_power_watts: Math.round((energies.reduce((n, e) => n + e.avg_power_watts, 0) / energies.length) * 100) / 100,
          power_source: sources[0]!,
          estimated_cpu_joules: energies.some((e) => e.estimated_cpu_joules !== null) ? energies.reduce((n, e) => n + (e.estimated_cpu_joules ?? 0), 0) : null,
        }
      : null;
  return { cpu_seconds: Math.round(cpu * 100) / 100, energy };
}

/**
 * One split attempt: every segment launched at once on the route's queue (the workers take as
 * many as they have slots, in priority-key order across jobs), steered until all are encoded, then
 * joined, checked and published.
 */
export async function runSplitAttempt(job: JobState, route: Route, plan: SplitPlan): Promise<SplitOutcome> {
  const { input } = job;
  const { policy } = input;
  const attempt = job.beginAttempt(route, `${route.reason}; ${plan.reason}`);
  const segments = segmentStates(plan.segments);
  job.segments = segments;
  const { encode } = encodeProxy(route, policy.heartbeatTimeoutMs, attempt > 1 ? job.routing.priorityKey.later : job.routing.priorityKey.first);
  const scopes = new Map<number, CancellationScope>();
  const launch = (s: SegmentState, counts = true) => {
    if (counts) s.attempts++;
    s.launches++;
    s.encodeAttempt = segmentEncodeAttempt(attempt, s.index, s.launches);
    s.status = 'queued';
    s.node_id = null;
    s.node_name = null;
    s.settled = null;
    s.held = false;
    s.suspended = false;
    const scope = new CancellationScope();
    scopes.set(s.index, scope);
    void scope
      .run(() =>
        encode({
          jobId: input.id,
          attempt: s.encodeAttempt,
          spec: { ...route.spec, audio: false },
          confidence: 'low',
          stallTimeoutMs: policy.stallTimeoutMs,
          stage: true,
          segment: { index: s.index, startFrame: s.startFrame, frames: s.frames },
        }),
      )
      .then(
        (value) => (s.settled = { ok: true, value }),
        (error: unknown) => (s.settled = { ok: false, error }),
      )
      .finally(() => job.bump());
  };
  const unsettled = () => segments.filter((s) => !s.held && s.status !== 'completed' && s.settled === null);
  const stopAll = async (status: 'canceled' | 'failed') => {
    for (const s of unsettled()) scopes.get(s.index)?.cancel();
    await condition(() => unsettled().length === 0);
    for (const s of segments) if (s.status !== 'completed') s.status = status;
  };
  const cleanUp = (joinNode?: string) => removeSegmentFiles(job, [...segments.map((s) => s.node_id), joinNode]);

  for (const s of segments) launch(s, true);
  let fatal: { message: string; retryable: boolean; unclaimed?: boolean; timedOut?: boolean } | undefined;
  let activeMs = 0;
  while (!fatal) {
    const seen = job.rev;
    if (job.cancelRequested) {
      await stopAll('canceled');
      await cleanUp();
      job.finishAttempt('canceled', null, undefined);
      job.to('canceled', job.cancelReason);
      return { kind: 'canceled' };
    }
    for (const s of segments) {
      if (s.settled === null || s.status === 'completed' || s.held) continue;
      const done = s.settled;
      if (done.ok) {
        s.status = 'completed';
        s.result = done.value;
        s.progress = 100;
        s.fps = done.value.avg_fps;
        continue;
      }
      if (unclaimed(done.error)) {
        fatal = { message: `no worker took segment ${s.index} from ${route.taskQueue} in time`, retryable: true, unclaimed: true };
        break;
      }
      s.error = messageOf(done.error);
      if (!retryable(done.error) || s.attempts > policy.maxRetries) {
        s.status = 'failed';
        fatal = { message: `segment ${s.index} failed${s.attempts > 1 ? ` after ${s.attempts} encodes` : ''}: ${s.error}`, retryable: retryable(done.error) };
        break;
      }
      // this segment alone runs again (a lost worker, a crash, a stall): the others go on
      log.info(`segment ${s.index} encodes again (${s.error})`);
      launch(s, true);
    }
    if (fatal) break;
    job.progress = Math.floor((segments.reduce((n, s) => n + (s.status === 'completed' ? s.frames : 0), 0) / plan.totalFrames) * 100);
    if (segments.every((s) => s.status === 'completed')) break;
    if (job.pauseRequested && job.status !== 'paused') await pauseSegments(job, segments, scopes);
    else if (job.resumeRequested && job.status === 'paused') await resumeSegments(job, segments, launch);
    else if (job.status === 'paused' || job.status === 'queued') await condition(() => job.rev !== seen);
    else {
      // the attempt's deadline counts time with a segment on a worker, paused time excluded
      const started = Date.now();
      const woke = await condition(() => job.rev !== seen, Math.max(1, policy.attemptDeadlineMs - activeMs));
      activeMs += Date.now() - started;
      if (!woke) fatal = { message: `attempt ${attempt} exceeded its deadline of ${Math.round(policy.attemptDeadlineMs / 1000)} s`, retryable: true, timedOut: true };
    }
  }

  if (fatal) {
    await stopAll('failed');
    await cleanUp();
    if (fatal.unclaimed) {
      job.finishAttempt('unclaimed', fatal.message, undefined);
      return { kind: 'unclaimed' };
    }
    if (job.status === 'paused') job.leavePause('a segment failed while paused');
    job.fail(fatal.timedOut ? 'timed_out' : 'failed', fatal.message, undefined);
    return { kind: fatal.timedOut ? 'timed_out' : 'failed', retryable: fatal.retryable };
  }

  // join, check and publish (a pause now waits for the join: it is short, and stream copy)
  const results = segments.map((s) => s.result!);
  let joined: JoinResult;
  try {
    joined = await routeActivities(job, route).joinSegments({
      jobId: input.id,
      attempt,
      spec: route.spec,
      segments: results.map((r) => r.staged ?? r.output.path ?? ''),
      durationSec: plan.durationSec,
      totalFrames: plan.totalFrames,
      audioSec: plan.probe.audioSec,
      segmentPsnr: results.map((r) => (r.encoder_psnr_db !== undefined ? { frames: r.frames, psnrDb: r.encoder_psnr_db } : null)),
    });
  } catch (err) {
    await cleanUp();
    if (job.status === 'paused') job.leavePause('the join ended while paused');
    job.fail('failed', `joining the segments failed: ${messageOf(err)}`, undefined);
    return { kind: 'failed', retryable: retryable(err) };
  }
  await cleanUp(joined.nodeId);
  const { publishOutput } = publishProxy(joined.nodeId);
  let output;
  try {
    output = await publishOutput({ jobId: input.id, attempt, staged: joined.result.staged!, final: joined.result.output.path! });
  } catch (err) {
    job.fail('failed', `could not publish the joined output on ${joined.nodeId}: ${messageOf(err)}`, joined.result.log);
    return { kind: 'failed', retryable: true };
  }
  if (job.status === 'paused') job.leavePause('finished while being paused');
  const frames = results.reduce((n, r) => n + r.frames, 0);
  const logs = segments.map((s) => `--- segment ${s.index} (frames ${s.startFrame}–${s.startFrame + s.frames - 1}, ${s.attempts} encode${s.attempts > 1 ? 's' : ''}, on ${s.node_name ?? s.node_id ?? '?'}) ---\n${s.result?.log ?? ''}`);
  const { staged: _staged, ...joinedResult } = joined.result;
  job.complete({ ...joinedResult, ...summed(results, joined.result), output, frames, log: `${logs.join('\n\n')}\n\n${joined.result.log}` });
  return { kind: 'completed' };
}

/**
 * The attempt's segment files go, however it ended: asked of every node that wrote a segment (or
 * joined), on its own queue, at once; the output root is shared, so one answer is enough (a dead
 * node's queue times out). An attempt no worker took wrote nothing.
 */
async function removeSegmentFiles(job: JobState, nodes: readonly (string | null | undefined)[]): Promise<void> {
  const targets = [...new Set(nodes.filter((n): n is string => typeof n === 'string'))];
  if (targets.length === 0) return;
  const results = await CancellationScope.nonCancellable(() =>
    Promise.all(
      targets.map((node) =>
        segmentCleaner(node)
          .removeSegments({ jobId: job.input.id })
          .then(() => true, (err: unknown) => (log.warn(`segment files of ${job.input.id} not removed by ${node}: ${messageOf(err)}`), false)),
      ),
    ),
  );
  if (!results.some(Boolean)) log.warn(`segment files of ${job.input.id} left: no node that wrote them answered`);
}

/** Pause: every running segment encoder stopped at once (its node's control queue); unstarted ones held back. */
async function pauseSegments(job: JobState, segments: SegmentState[], scopes: Map<number, CancellationScope>): Promise<void> {
  const running = segments.filter((s) => s.status === 'running' && s.settled === null && s.node_id);
  for (const s of segments) {
    if (s.status === 'queued' && s.settled === null && !s.held) {
      s.held = true;
      scopes.get(s.index)?.cancel();
    }
  }
  const failed = await controlSegments(job, running, 'suspend');
  if (failed.length > 0) {
    job.failControl(`could not suspend segment encoders: ${failed.join('; ')}`);
    return;
  }
  job.enterPause(`${running.length} segment encoder${running.length === 1 ? '' : 's'} suspended`);
}

/** Resume: every suspended segment encoder continued at once; held segments launched again. */
async function resumeSegments(job: JobState, segments: SegmentState[], launch: (s: SegmentState, counts: boolean) => void): Promise<void> {
  const suspended = segments.filter((s) => s.suspended);
  const failed = await controlSegments(job, suspended, 'resume');
  if (failed.length > 0) {
    job.failControl(`could not resume segment encoders: ${failed.join('; ')}`);
    return;
  }
  const held = segments.filter((s) => s.held);
  // a held segment's canceled encode must have settled before it runs again
  await condition(() => held.every((s) => s.settled !== null));
  // held back by a pause: not a try of its own
  for (const s of held) launch(s, s.attempts === 0);
  job.leavePause(`${suspended.length} segment encoder${suspended.length === 1 ? '' : 's'} continued`);
}

async function controlSegments(job: JobState, targets: SegmentState[], action: 'suspend' | 'resume'): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(
    targets.map(async (s) => {
      const control = controlProxy(s.node_id!);
      try {
        if (action === 'suspend') await control.suspendEncoder({ jobId: job.input.id, attempt: s.encodeAttempt });
        else await control.resumeEncoder({ jobId: job.input.id, attempt: s.encodeAttempt });
        s.suspended = action === 'suspend';
      } catch (err) {
        // a segment that finished meanwhile has no encoder to steer: that is fine
        if (s.settled !== null) return;
        failed.push(`segment ${s.index} on ${s.node_id}: ${messageOf(err)}`);
      }
    }),
  );
  return failed;
}

