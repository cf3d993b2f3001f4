/**
 * Prebuilds the workflow bundle once (webpack takes seconds), so workers start fast and every
 * worker runs byte-identical workflow code.
 */
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundlePath } from './bundle-path';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // job_id, attempt and node on every log line inside a job's workflow
    workflowInterceptorModules: [require.resolve('../workflows/log-context')],
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  await writeFile(workflowBundlePath(), code);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
