/**
 * Workflow log fields: every line logged inside a job's workflow — ffrtmp's own and the SDK's
 * ("Workflow failed" for a failed job) — carries job_id, attempt and node, like the workers' lines.
 * The job workflow registers a provider; the SDK calls this interceptor for each line.
 *
 * The provider lives on globalThis because the SDK keeps globals per workflow execution (it swaps
 * them when a reused V8 context runs another workflow), while module variables are shared.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

const PROVIDER = Symbol.for('ffrtmp.workflowLogFields');

type Fields = () => Record<string, unknown>;

export function setWorkflowLogFields(fields: Fields): void {
  (globalThis as Record<symbol, unknown>)[PROVIDER] = fields;
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      getLogAttributes(input, next) {
        const fields = (globalThis as Record<symbol, Fields | undefined>)[PROVIDER];
        return next(fields ? { ...input, ...fields() } : input);
      },
    },
  ],
});
