/** Reading processes through /proc: CPU time, state, memory, command lines. Linux only. */
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat times are in these ticks

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name, which sits in parentheses and may contain spaces
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process used so far; null when it is gone. */
export function processCpuSeconds(pid: number): number | null {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : null;
}

/** R, S, T (stopped), Z (zombie)…; null when the process is gone. */
export function processState(pid: number): string | null {
  return statFields(pid)?.[0] ?? null;
}

export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface ProcInfo {
  pid: number;
  argv: string[];
}

/** Live processes (zombies left out) with their command lines. */
export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const state = processState(pid);
    if (state === null || state === 'Z') continue;
    try {
      out.push({ pid, argv: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Encoder processes (ffmpeg, gst-launch) whose command line mentions the job id (its output folder). */
export function encodersOfJob(jobId: string): ProcInfo[] {
  return listProcesses().filter((p) => /(ffmpeg|gst-launch-1\.0)$/.test(p.argv[0] ?? '') && p.argv.some((a) => a.includes(jobId)));
}
