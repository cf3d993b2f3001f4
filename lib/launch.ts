/**
 * Starting ffrtmp's own entry points as child processes bound to this one (the start command,
 * the benchmarks and the tests all do): collects their output, waits for them, stops them.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { spawnBound } from './bound-child';

export const DIST_ROOT = path.resolve(__dirname, '..');

export class NodeProcess {
  readonly logs: string[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve((this.exitCode = code))));
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) this.logs.push(line);
      if (this.logs.length > 5000) this.logs.splice(0, this.logs.length - 5000);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Runs `dist/<script>` with this Node, piping its output (or inheriting it). */
export function launchNode(name: string, script: string, env: Record<string, string>, opts: { inherit?: boolean } = {}): NodeProcess {
  const proc = spawnBound(process.execPath, [path.join(DIST_ROOT, script)], {
    env: { ...process.env, ...env },
    stdio: opts.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  return new NodeProcess(name, proc);
}

/** Polls a URL until it answers 200 (or the deadline passes). */
export async function waitForHttp(url: string, timeoutMs = 60_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`the process behind ${url} exited`);
    const ok = await fetch(url).then((r) => r.status === 200, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
