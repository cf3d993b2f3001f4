/**
 * Puts the job on the Temporal SDK's own log lines about an activity: an activity whose request
 * names a job (encode, suspend, resume: `{ jobId, attempt }`) gets job_id, attempt (the job's) and
 * node, so "Activity failed" and its kin can be found by job like ffrtmp's own lines. The SDK's
 * `attempt` (of the activity task, always 1 here: retries are the workflow's) moves to
 * activity_attempt.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export function jobLogContext(nodeId: string): ActivityInterceptorsFactory {
  return () => {
    let job: { job_id: string; attempt: number } | undefined;
    return {
      inbound: {
        async execute(input, next) {
          const req = input.args[0] as { jobId?: unknown; attempt?: unknown } | undefined;
          if (typeof req?.jobId === 'string' && typeof req.attempt === 'number') job = { job_id: req.jobId, attempt: req.attempt };
          return next(input);
        },
      },
      outbound: {
        getLogAttributes(attrs, next) {
          if (!job) return next(attrs);
          const { attempt: activity_attempt, ...rest } = attrs;
          return next({ ...rest, activity_attempt, ...job, node: nodeId });
        },
      },
    };
  };
}
