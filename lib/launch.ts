/**
 * Starting ffrtmp's own entry points as child processes bound to this one (the start command,
 * the benchmarks and the tests all do): collects their output, waits for them, stops them.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { spawnBound } from './bound-child';
import { MASTER_NODE_FLAGS, MASTER_PROCESS_ENV } from './master-memory';

/** the master's entry point, under dist/ */
export const MASTER_SCRIPT = 'api/server.js';

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
  const proc = spawnBound(process.execPath, nodeCommand(script).slice(1), {
    env: { ...process.env, ...(script === MASTER_SCRIPT ? MASTER_PROCESS_ENV : {}), ...env },
    stdio: opts.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  return new NodeProcess(name, proc);
}

/** The command that starts one of ffrtmp's entry points here: a master with its heap caps (api/memory.ts). */
export function nodeCommand(script: string, root = DIST_ROOT): string[] {
  return [process.execPath, ...(script === MASTER_SCRIPT ? MASTER_NODE_FLAGS : []), path.join(root, script)];
}

/**
 * A master on loopback, as the tests and the benchmarks run one: Temporal, the data folder, its
 * keys and ports. Rate limits are off: both send bursts on purpose.
 */
export function loopbackMasterEnv(o: { temporalAddress: string; dataDir: string; apiKeys: string; apiPort: number; metricsPort: number }): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: o.temporalAddress,
    FFRTMP_DATA_DIR: o.dataDir,
    FFMPEG_RTMP_API_KEY: o.apiKeys,
    FFRTMP_API_HOST: '127.0.0.1',
    FFRTMP_API_PORT: String(o.apiPort),
    FFRTMP_MASTER_METRICS_HOST: '127.0.0.1',
    FFRTMP_MASTER_METRICS_PORT: String(o.metricsPort),
    FFRTMP_RATE_LIMIT_DISABLED: 'true',
  };
}

/** A worker agent on loopback: its node address is its metrics port (which answers /health). */
export function loopbackWorkerEnv(o: { temporalAddress: string; dataDir: string; name: string; port: number }): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: o.temporalAddress,
    FFRTMP_DATA_DIR: o.dataDir,
    FFRTMP_NODE_NAME: o.name,
    FFRTMP_NODE_ADDRESS: `http://127.0.0.1:${o.port}`,
    FFRTMP_METRICS_PORT: String(o.port),
    FFRTMP_METRICS_HOST: '127.0.0.1',
  };
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
