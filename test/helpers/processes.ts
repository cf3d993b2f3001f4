/** Looking at real processes through /proc: find encoders, read their CPU time. */
import { readdirSync, readFileSync } from 'node:fs';
import { processCpuSeconds } from '../../activities/encoder-process';

export interface ProcInfo {
  pid: number;
  argv: string[];
}

export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const state = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/\) Z /.test(state)) continue; // zombies are gone for our purposes
      out.push({ pid: Number(name), argv });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** ffmpeg processes whose command line mentions the job id (its output folder). */
export function encodersOfJob(jobId: string): ProcInfo[] {
  return listProcesses().filter((p) => p.argv[0]?.endsWith('ffmpeg') && p.argv.some((a) => a.includes(jobId)));
}

export function cpuSeconds(pid: number): number {
  const v = processCpuSeconds(pid);
  if (v === null) throw new Error(`process ${pid} is gone`);
  return v;
}

export function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}
