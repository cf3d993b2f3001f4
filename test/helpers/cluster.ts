/**
 * The real system for integration tests: one Temporal dev server for the whole run (SQLite file
 * in a temp folder), worker agents as real child processes (so SIGKILL is real), and a JobService
 * talking to Temporal like the master does.
 */
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { nodeIdFromAddress } from '../../domain/nodes';
import { DEFAULT_RESOLVE_CONTEXT, type ResolveContext } from '../../domain/resolve';
import { freePort, startDevServer, temporalCliPath as findTemporalCli, type DevServer } from '../../lib/dev-server';
import { JobService } from '../../lib/job-service';
import { NodeProcess, launchNode, loopbackWorkerEnv } from '../../lib/launch';
import { connectClient } from '../../lib/temporal';
import { waitFor } from './wait';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const DIST = path.join(REPO_ROOT, 'dist');

export const temporalCliPath = (): string => findTemporalCli(REPO_ROOT);

interface Shared {
  root: string;
  server: DevServer;
  client: Client;
}
let shared: Shared | undefined;

/** The run-wide Temporal dev server and client (started on first use, stopped by the root hook). */
export async function cluster(): Promise<Shared> {
  if (shared) return shared;
  const root = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-test-'));
  const server = await startDevServer({ temporalCli: temporalCliPath(), dataDir: path.join(root, 'temporal'), headless: false });
  const client = await connectClient({ address: server.address, namespace: 'default' });
  shared = { root, server, client };
  return shared;
}

/** Stops the dev server and starts it again on the same port and SQLite file (a Temporal outage). */
export async function restartTemporal(whileDown?: () => Promise<void>): Promise<void> {
  const c = await cluster();
  const [, port] = c.server.address.split(':');
  const uiPort = c.server.uiUrl ? Number(new URL(c.server.uiUrl).port) : undefined;
  await c.server.stop();
  await whileDown?.();
  c.server = await startDevServer({ temporalCli: temporalCliPath(), dataDir: path.join(c.root, 'temporal'), port: Number(port), uiPort, headless: false });
}

export async function stopCluster(): Promise<void> {
  if (!shared) return;
  await shared.client.connection.close();
  await shared.server.stop();
  shared = undefined;
}

export function testResolveContext(root: string, overrides: Partial<ResolveContext['policy']> = {}): ResolveContext {
  return {
    ...DEFAULT_RESOLVE_CONTEXT,
    mediaRoot: path.join(root, 'media'),
    allowUrlInputs: true,
    defaultDurationSec: 2,
    policy: {
      ...DEFAULT_RESOLVE_CONTEXT.policy,
      retryBackoffMs: 300,
      retryBackoffMaxMs: 2_000,
      heartbeatTimeoutMs: 5_000,
      ...overrides,
    },
  };
}

export async function jobService(overrides: Partial<ResolveContext['policy']> = {}): Promise<JobService> {
  const { client, root } = await cluster();
  return new JobService(client, testResolveContext(root, overrides));
}

export interface WorkerOptions {
  name?: string;
  cpuSlots?: number;
  runWorkflows?: boolean;
  env?: Record<string, string>;
}

/** A worker agent process started by a test. */
export class WorkerAgent extends NodeProcess {
  constructor(
    proc: NodeProcess['proc'],
    readonly nodeId: string,
    name: string,
    readonly metricsPort: number,
  ) {
    super(name, proc);
  }

  /** Resolves once the agent logged that it polls its queues. */
  async ready(): Promise<void> {
    await waitFor(`worker ${this.name} to poll`, () => {
      if (!this.alive) throw new Error(`worker ${this.name} exited: ${this.logs.slice(-20).join('\n')}`);
      return this.logs.some((l) => l.includes('worker agent polling'));
    }, { timeoutMs: 90_000 });
  }
}

let workerCounter = 0;

export async function startWorker(opts: WorkerOptions = {}): Promise<WorkerAgent> {
  const { server, root } = await cluster();
  const metricsPort = await freePort();
  const name = opts.name ?? `test-worker-${++workerCounter}`;
  await mkdir(path.join(root, 'media'), { recursive: true });
  const env = loopbackWorkerEnv({ temporalAddress: server.address, dataDir: path.join(root, 'data'), name, port: metricsPort });
  const child = launchNode(name, 'workers/agent.js', {
      ...env,
      FFRTMP_MEDIA_ROOT: path.join(root, 'media'),
      FFRTMP_CPU_SLOTS: String(opts.cpuSlots ?? 1),
      FFRTMP_RUN_WORKFLOWS: String(opts.runWorkflows ?? true),
      FFRTMP_SHUTDOWN_GRACE_SECONDS: '2',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...opts.env,
  });
  const agent = new WorkerAgent(child.proc, nodeIdFromAddress(env.FFRTMP_NODE_ADDRESS!), name, metricsPort);
  await agent.ready();
  return agent;
}

/** A file under the shared media root, for input tests. */
export async function mediaFile(name: string, content: string | Buffer): Promise<string> {
  const { root } = await cluster();
  const p = path.join(root, 'media', name);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, content);
  return p;
}
