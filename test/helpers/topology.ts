/**
 * The production topology for the fault tests (lib/cluster/topology.ts): PostgreSQL, the Temporal
 * server with mutual TLS, two masters and three workers, each in a network namespace of its own,
 * as processes bound to the test run. One per run, started on first use (about 40 s), stopped by
 * the root hook. What the tests count with is in lib/cluster/ (encoder-watch.ts, outcomes.ts),
 * shared with the soak benchmark.
 */
export { EncoderWatch } from '../../lib/cluster/encoder-watch';
export { checkOutput, type Outcomes } from '../../lib/cluster/outcomes';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobView } from '../../domain/job';
import { outcomes as countOutcomes, type Outcomes } from '../../lib/cluster/outcomes';
import { serverTools } from '../../lib/cluster/temporal-server';
import { Topology } from '../../lib/cluster/topology';
import { REPO_ROOT, temporalCliPath } from './cluster';
import { ApiClient } from './master';
import { waitFor } from './wait';

/** Test timings: what a deployment sets in seconds of tens, here in seconds. */
export const HEARTBEAT_TIMEOUT_MS = 5_000;
export const RETRY_BACKOFF_MS = 300;

let shared: Topology | undefined;

/** How long the topology tests wait for a background build of the Temporal server (scripts/lib/setup.sh). */
export const SERVER_BUILD_WAIT_MS = 20 * 60_000;

/**
 * On a fresh machine scripts/test.sh builds the Temporal server beside the suite: wait for it to
 * finish (its process gone), and fail with the end of its log if it built nothing.
 */
async function serverBuilt(): Promise<void> {
  const pid = Number(process.env.FFRTMP_TEMPORAL_SERVER_BUILD_PID ?? 0);
  const running = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (pid > 0 && running()) {
    process.stdout.write('      (waiting for the background build of the Temporal server)\n');
    await waitFor('the Temporal server build', () => !running(), { timeoutMs: SERVER_BUILD_WAIT_MS, intervalMs: 1_000 });
  }
  try {
    serverTools(REPO_ROOT);
  } catch (err) {
    const log = process.env.FFRTMP_TEMPORAL_SERVER_BUILD_LOG;
    const tail = log && existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-30).join('\n') : '';
    throw new Error(`${(err as Error).message}${tail ? `\n--- ${log}:\n${tail}` : ''}`);
  }
}

export async function topology(): Promise<Topology> {
  if (shared) return shared;
  await serverBuilt();
  const root = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-topology-'));
  const t = new Topology({
    root,
    network: { prefix: 'fft', subnet: '10.77.14' },
    masters: 2,
    workers: 3,
    mode: 'bound',
    repoRoot: REPO_ROOT,
    temporalCli: temporalCliPath(),
    masterEnv: {
      FFRTMP_WORKER_HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_TIMEOUT_MS / 1000),
      FFRTMP_RETRY_BACKOFF_SECONDS: String(RETRY_BACKOFF_MS / 1000),
      FFRTMP_RETRY_BACKOFF_MAX_SECONDS: '2',
      FFRTMP_NODE_HEARTBEAT_SECONDS: '1',
      FFRTMP_RATE_LIMIT_DISABLED: 'true',
      FFRTMP_DEFAULT_DURATION_SECONDS: '2',
      LOG_LEVEL: 'info',
    },
    workerEnv: { FFRTMP_CPU_SLOTS: '1', FFRTMP_HEARTBEAT_INTERVAL_SECONDS: '1', FFRTMP_SHUTDOWN_GRACE_SECONDS: '20', LOG_LEVEL: 'info' },
    say: (line) => process.env.FFRTMP_TEST_VERBOSE && console.log(`[topology] ${line}`),
  });
  try {
    await t.up();
  } catch (err) {
    await t.down().catch(() => undefined);
    throw err;
  }
  shared = t;
  return t;
}

export async function stopTopology(): Promise<void> {
  if (!shared) return;
  const t = shared;
  shared = undefined;
  await t.down();
}

export function masterApi(t: Topology, name: string): ApiClient {
  return new ApiClient(t.masterUrl(name), t.apiKey);
}

/** A job body for the topology's masters. */
export function jobBody(parameters: Record<string, unknown>, scenario = '480p30-h264'): Record<string, unknown> {
  return { scenario, parameters };
}

/** How jobs ended, read through a master. */
export function outcomes(api: ApiClient, ids: string[], timeoutMs: number): Promise<Outcomes> {
  return countOutcomes(async (id) => {
    const r = await api.get<JobView>(`/jobs/${id}`);
    return r.status === 200 ? r.body : undefined;
  }, ids, timeoutMs);
}

/** Polls a master until the job runs (status running, a node named). */
export function jobRunning(api: ApiClient, id: string, timeoutMs = 60_000): Promise<JobView> {
  return waitFor(`job ${id} running`, async () => {
    const r = await api.get<JobView>(`/jobs/${id}`);
    return r.status === 200 && r.body.status === 'running' && r.body.node_id ? r.body : undefined;
  }, { timeoutMs, intervalMs: 100 });
}

/** The topology host a node id belongs to. */
export function hostOfNode(t: Topology, nodeId: string | null): string | undefined {
  return t.workers.find((w) => nodeId?.startsWith(`${t.address(w)}-`));
}
