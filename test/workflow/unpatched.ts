/**
 * The workflow API with every patch answered "no" (test only): bundled in place of
 * @temporalio/workflow, it gives the job workflow as it ran before its patched changes — what the
 * versioning rule promises the unpatched branch is.
 */
export * from '@temporalio/workflow/lib/index';

export function patched(_patchId: string): boolean {
  return false;
}
