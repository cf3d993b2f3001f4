/**
 * Node control activities, served on this node's own task queue (node.<id>): the job workflow
 * reaches the very worker that runs its encoder to suspend (SIGSTOP) or continue (SIGCONT) it.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { ControlRequest, NodeControlActivities } from '../domain/activities';
import { FAILURE } from '../domain/failures';
import type { EncoderRegistry } from './encoder-registry';

export function createControlActivities(registry: EncoderRegistry): Pick<NodeControlActivities, 'suspendEncoder' | 'resumeEncoder'> {
  const notHere = (req: ControlRequest) =>
    ApplicationFailure.create({
      type: FAILURE.encoderNotFound,
      nonRetryable: true,
      message: `attempt ${req.attempt} of job ${req.jobId} is not running on this node`,
    });
  return {
    async suspendEncoder(req) {
      const at = registry.suspend(req.jobId, req.attempt);
      if (!at) throw notHere(req);
      return at;
    },
    async resumeEncoder(req) {
      if (!registry.resume(req.jobId, req.attempt)) throw notHere(req);
    },
  };
}
