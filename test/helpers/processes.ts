/** Looking at real processes through /proc (lib/proc.ts), with the strictness tests want. */
import { processCpuSeconds } from '../../lib/proc';

export { encodersOfJob, listProcesses, processState } from '../../lib/proc';

export function cpuSeconds(pid: number): number {
  const v = processCpuSeconds(pid);
  if (v === null) throw new Error(`process ${pid} is gone`);
  return v;
}
