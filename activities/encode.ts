/**
 * The encode activities of a worker:
 *   encode         (encode.<capability> queue) starts an attempt's EncodeSession and follows it:
 *                  progress as heartbeat details (no history event per tick), cancellation within
 *                  one heartbeat interval;
 *   adoptAttempt   (node.<id> queue) follows a session of this node whose encode activity Temporal
 *                  lost sight of, so the workflow gets its result instead of encoding again;
 *   publishOutput  (node.<id> queue) makes the attempt the workflow accepted the job's output.
 */
import { readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { ControlRequest, EncodeRequest, PublishRequest } from '../domain/activities';
import { FAILURE } from '../domain/failures';
import type { EncodeResult, JobOutput } from '../domain/job';
import { jobWorkflowId } from '../domain/job';
import { encodeRunningSignal, encodeStartedSignal } from '../domain/messages';
import { diagnoseFsError } from '../encoders/encoder-errors';
import { EncodeSession, type SessionDeps } from './encode-session';
import type { EncoderRegistry } from './encoder-registry';

export interface EncodeDeps extends SessionDeps {
  registry: EncoderRegistry;
  /** how often progress is heartbeated (the cancel latency is at most about this) */
  heartbeatIntervalMs?: number;
}

/** An encoder is stopped when its worker has had no contact with Temporal for this many heartbeat timeouts. */
export const LEASE_HEARTBEAT_TIMEOUTS = 2;

export function createEncodeActivities(deps: EncodeDeps) {
  /** Heartbeats the session's progress until it settles, or the activity is canceled. */
  async function follow(session: EncodeSession): Promise<EncodeResult> {
    const ctx = Context.current();
    const beat = () => ctx.heartbeat(session.details());
    beat();
    const tick = setInterval(beat, deps.heartbeatIntervalMs ?? 500);
    try {
      return await Promise.race([session.result, ctx.cancelled]);
    } catch (err) {
      if (!(err instanceof CancelledFailure)) throw err;
      const why = ctx.cancellationDetails;
      if (why?.notFound || why?.timedOut) {
        // Temporal no longer knows this activity (it timed out while unreachable): the worker is
        // fine, so keep the session for the workflow to adopt rather than encode again
        deps.registry.orphan(session);
        deps.logger.warn({ job_id: session.jobId, attempt: session.attempt, node: deps.node.id }, 'Temporal lost sight of this encode; it keeps running for its workflow to adopt');
        throw err;
      }
      await session.cancel(why?.workerShutdown ? `${deps.node.name} is shutting down` : 'canceled by its workflow');
      if (why?.workerShutdown) throw ApplicationFailure.create({ type: FAILURE.workerShutdown, message: `${deps.node.name} is shutting down` });
      throw err;
    } finally {
      clearInterval(tick);
    }
  }

  return {
    async encode(req: EncodeRequest): Promise<EncodeResult> {
      const ctx = Context.current();
      const workflow = ctx.client.workflow.getHandle(jobWorkflowId(req.jobId));
      const log = deps.logger.child({ job_id: req.jobId, attempt: req.attempt, node: deps.node.id });
      // assigned the moment a worker took it, so every later failure (probe, mkdir) names its node;
      // the first-frame report waits for this one, so the workflow sees them in order
      const reportedStart = workflow
        .signal(encodeStartedSignal, { attempt: req.attempt, nodeId: deps.node.id, nodeName: deps.node.name })
        .catch((err: Error) => log.warn({ err: err.message }, 'could not report assignment'));
      const leaseMs = LEASE_HEARTBEAT_TIMEOUTS * (ctx.info.heartbeatTimeoutMs ?? 0);
      const session = new EncodeSession({ ...req, leaseMs: leaseMs || undefined }, deps, {
        firstFrame: () =>
          void reportedStart
            .then(() => workflow.signal(encodeRunningSignal, { attempt: req.attempt }))
            .catch((err: Error) => log.warn({ err: err.message }, 'could not report the first frame')),
      });
      deps.registry.add(session);
      return follow(session);
    },

    async adoptAttempt(req: ControlRequest): Promise<EncodeResult> {
      const session = deps.registry.adopt(req.jobId, req.attempt);
      if (!session) {
        throw ApplicationFailure.create({ type: FAILURE.encoderNotFound, nonRetryable: true, message: `attempt ${req.attempt} of job ${req.jobId} is not on ${deps.node.name} any more` });
      }
      deps.logger.info({ job_id: req.jobId, attempt: req.attempt, node: deps.node.id, finished: session.finished }, 'encode adopted by its workflow');
      return follow(session);
    },

    async publishOutput(req: PublishRequest): Promise<JobOutput> {
      const dir = path.dirname(req.final);
      try {
        await rename(req.staged, req.final);
        // what other attempts of this job left (a stale attempt's partial file, say) goes now
        const others = (await readdir(dir)).filter((f) => /^attempt-\d+\./.test(f));
        await Promise.all(others.map((f) => rm(path.join(dir, f), { force: true })));
        deps.registry.markPublished(req.jobId, req.attempt);
        return { path: req.final, url: null, size_bytes: (await stat(req.final)).size };
      } catch (err) {
        const d = diagnoseFsError(err);
        throw ApplicationFailure.create({
          type: d ? FAILURE.outputNotWritable : FAILURE.encoderFailed,
          message: `publishing ${req.staged} as ${req.final} on ${deps.node.name} failed: ${d?.summary ?? ''}${d ? ' ' : ''}(${(err as Error).message})`,
          nonRetryable: d ? !d.retryable : false,
        });
      }
    },
  };
}
