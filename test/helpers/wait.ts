/** Polling with a deadline: the only way tests wait for something (lib/wait.ts, shared with the benchmarks). */
export { waitFor } from '../../lib/wait';
