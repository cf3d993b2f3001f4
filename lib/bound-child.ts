/**
 * Children that cannot outlive their parent: spawned through util-linux `setpriv --pdeathsig`,
 * so the kernel kills them when the process that started them dies, even by SIGKILL. Arguments
 * stay an array end to end; no shell is involved.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

let wrapper: string | null | undefined;

/** `setpriv` when present (Debian's util-linux has it); probed once per process. */
export function pdeathsigWrapper(): string | null {
  if (wrapper !== undefined) return wrapper;
  wrapper = null;
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
    try {
      accessSync(candidate, constants.X_OK);
      wrapper = candidate;
      break;
    } catch {
      /* try the next */
    }
  }
  return wrapper;
}

export function spawnBound(command: string, args: readonly string[], options: SpawnOptions, signal: 'KILL' | 'TERM' = 'KILL', cpus?: string): ChildProcess {
  // util-linux taskset sets the affinity and execs the command (same pid, so same process group)
  const [cmd, argv] = cpus ? ['taskset', ['-c', cpus, command, ...args]] : [command, [...args]];
  const w = pdeathsigWrapper();
  return w ? spawn(w, ['--pdeathsig', signal, '--', cmd, ...argv], options) : spawn(cmd, argv, options);
}
