/**
 * One process of the topology (PostgreSQL, the Temporal server, a master, a worker agent), run
 * inside its host's network namespace. Two ways to run it:
 *   - bound: it dies with the process that started it (setpriv --pdeathsig): tests and benchmarks;
 *   - detached: its own session, a pid file, a log file: `scripts/cluster.sh up` returns and the
 *     cluster stays up until `cluster.sh down`.
 * `ip netns exec` and `setpriv` both exec, so the pid we get is the program's own pid: a signal
 * (SIGSTOP, SIGKILL) reaches exactly that program.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export type RunMode = 'bound' | 'detached';

export interface ServiceSpec {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  logFile: string;
  pidFile: string;
  /** network namespace to run in */
  netns: string;
  /** run as this system user (PostgreSQL refuses root) */
  user?: string;
}

const SETPRIV = '/usr/bin/setpriv';

/** The full argv: namespace, then user, then the program; every step execs, none forks. */
export function serviceArgv(spec: ServiceSpec, mode: RunMode): string[] {
  const bind = mode === 'bound' ? ['--pdeathsig', 'KILL'] : [];
  const asUser = spec.user ? [SETPRIV, `--reuid=${spec.user}`, `--regid=${spec.user}`, '--clear-groups', ...bind, '--'] : [];
  // the parent-death signal is set again after the uid change (which clears it)
  const outer = mode === 'bound' ? [SETPRIV, '--pdeathsig', 'KILL', '--'] : [];
  return [...outer, 'ip', 'netns', 'exec', spec.netns, ...asUser, ...spec.argv];
}

export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 3 is the state; Z (zombie) and X (dead) are not alive
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export class Service {
  private exitedAt: Promise<void> | undefined;
  pid: number | undefined;

  constructor(readonly spec: ServiceSpec) {
    if (existsSync(spec.pidFile)) {
      const pid = Number(readFileSync(spec.pidFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) this.pid = pid;
    }
  }

  get alive(): boolean {
    return this.pid !== undefined && pidAlive(this.pid);
  }

  start(mode: RunMode): void {
    if (this.alive) throw new Error(`${this.spec.name} is already running (pid ${this.pid})`);
    const [cmd, ...args] = serviceArgv(this.spec, mode);
    const log = openSync(this.spec.logFile, 'a');
    const child = spawn(cmd!, args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', log, log],
      detached: mode === 'detached',
    });
    closeSync(log);
    if (child.pid === undefined) throw new Error(`could not start ${this.spec.name}`);
    this.pid = child.pid;
    this.exitedAt = new Promise((resolve) => child.once('exit', () => resolve()));
    if (mode === 'detached') child.unref();
    writeFileSync(this.spec.pidFile, `${child.pid}\n`);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.pid !== undefined && pidAlive(this.pid)) process.kill(this.pid, sig);
  }

  /** Waits until the process is gone (reaped by us, or gone from /proc). */
  async waitExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.alive) {
      if (Date.now() > deadline) return false;
      if (this.exitedAt) await Promise.race([this.exitedAt, sleep(100)]);
      else await sleep(100);
    }
    return true;
  }

  /** SIGTERM (or the given signal), then SIGKILL after the grace period. */
  async stop(graceMs = 15_000, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.alive) {
      this.signal('SIGCONT'); // a frozen process cannot act on SIGTERM
      this.signal(sig);
      if (!(await this.waitExit(graceMs))) {
        this.signal('SIGKILL');
        await this.waitExit(10_000);
      }
    }
    this.pid = undefined;
    rmSync(this.spec.pidFile, { force: true });
  }

  /** The last lines of its log. */
  logTail(lines = 40): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}
