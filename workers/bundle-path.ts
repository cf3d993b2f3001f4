import path from 'node:path';

/** The prebuilt workflow bundle (npm run build writes it next to the compiled code). */
export function workflowBundlePath(): string {
  return process.env.FFRTMP_WORKFLOW_BUNDLE ?? path.resolve(__dirname, '..', 'workflow-bundle.js');
}
