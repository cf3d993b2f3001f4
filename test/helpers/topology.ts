/**
 * The production topology for the fault tests (lib/cluster/topology.ts): PostgreSQL, the Temporal
 * server with mutual TLS, two masters and three workers, each in a network namespace of its own,
 * as processes bound to the test run. One per run, started on first use (about 40 s), stopped by
 * the root hook. Plus what the fault tests count with: every encoder process on every host, and
 * the checks every output gets.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readlinkSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobView } from '../../domain/job';
import { TERMINAL_STATUSES } from '../../domain/states';
import { Topology } from '../../lib/cluster/topology';
import { listProcesses } from '../../lib/proc';
import { REPO_ROOT, temporalCliPath } from './cluster';
import { ApiClient } from './master';
import { waitFor } from './wait';

/** Test timings: what a deployment sets in seconds of tens, here in seconds. */
export const HEARTBEAT_TIMEOUT_MS = 5_000;
export const RETRY_BACKOFF_MS = 300;

let shared: Topology | undefined;

export async function topology(): Promise<Topology> {
  if (shared) return shared;
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

/** Host of a process: the network namespace it lives in, by inode, matched to the topology's hosts. */
function hostInodes(t: Topology): Map<number, string> {
  const byInode = new Map<number, string>();
  for (const h of [...t.masters, ...t.workers]) byInode.set(statSync(`/run/netns/${t.net.host(h).netns}`).ino, h);
  return byInode;
}

function netnsInode(pid: number): number | undefined {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

interface Sighting {
  job: string;
  host: string;
  pid: number;
  output: string;
  first: number;
  last: number;
}

/**
 * Samples every encoder process on every host (ffmpeg, gst-launch) 10 times a second: which job,
 * which host, which output file, from when to when. A job encoding on two hosts at once shows up.
 */
export class EncoderWatch {
  private readonly seen = new Map<number, Sighting>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inodes: Map<number, string>;

  constructor(private readonly t: Topology) {
    this.inodes = hostInodes(t);
  }

  start(): this {
    this.timer = setInterval(() => this.sample(), 100);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private sample(): void {
    const now = Date.now();
    const outputs = this.t.outputRoot + path.sep;
    for (const p of listProcesses()) {
      if (!/(ffmpeg|gst-launch-1\.0)$/.test(p.argv[0] ?? '')) continue;
      const output = p.argv.find((a) => a.startsWith(outputs) || a.includes(`location="${outputs}`));
      if (!output) continue;
      const rel = output.slice(output.indexOf(outputs) + outputs.length);
      const job = rel.split(path.sep)[0]!;
      const s = this.seen.get(p.pid);
      if (s) s.last = now;
      else {
        const inode = netnsInode(p.pid);
        this.seen.set(p.pid, { job, host: (inode && this.inodes.get(inode)) || 'unknown', pid: p.pid, output, first: now, last: now });
      }
    }
  }

  sightings(job: string): Sighting[] {
    return [...this.seen.values()].filter((s) => s.job === job);
  }

  /** The longest time a job's encoders ran on two different hosts at once (ms). */
  overlapMs(job: string): number {
    const s = this.sightings(job);
    let worst = 0;
    for (const a of s) for (const b of s) if (a.host !== b.host && a.pid < b.pid) worst = Math.max(worst, Math.min(a.last, b.last) - Math.max(a.first, b.first));
    return Math.max(0, worst);
  }

  /** Two encoders of one job that wrote the same file (never allowed). */
  sharedOutputs(job: string): string[] {
    const s = this.sightings(job);
    const dup = new Set<string>();
    for (const a of s) for (const b of s) if (a.pid < b.pid && a.output === b.output && Math.min(a.last, b.last) >= Math.max(a.first, b.first)) dup.add(a.output);
    return [...dup];
  }
}

export interface Outcomes {
  completed: string[];
  failed: { id: string; status: string; error: string | null }[];
  stuck: string[];
  /** jobs with more than one completed attempt (run twice) */
  twice: string[];
  views: Map<string, JobView>;
}

/** Waits (with a deadline) for every job to end, and counts how each ended. */
export async function outcomes(api: ApiClient, ids: string[], timeoutMs: number): Promise<Outcomes> {
  const views = new Map<string, JobView>();
  const deadline = Date.now() + timeoutMs;
  const terminal = TERMINAL_STATUSES as readonly string[];
  while (Date.now() < deadline) {
    for (const id of ids) {
      if (views.has(id) && terminal.includes(views.get(id)!.status)) continue;
      const r = await api.get<JobView>(`/jobs/${id}`).catch(() => undefined);
      if (r?.status === 200) views.set(id, r.body);
    }
    if (ids.every((id) => terminal.includes(views.get(id)?.status ?? ''))) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const out: Outcomes = { completed: [], failed: [], stuck: [], twice: [], views };
  for (const id of ids) {
    const v = views.get(id);
    if (!v || !terminal.includes(v.status)) out.stuck.push(id);
    else if (v.status === 'completed') out.completed.push(id);
    else out.failed.push({ id, status: v.status, error: v.error });
    if (v && v.attempts.filter((a) => a.outcome === 'completed').length > 1) out.twice.push(id);
  }
  return out;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 120_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

export interface OutputCheck {
  ok: boolean;
  duration: number;
  frames: number;
  decodeErrors: string;
}

/** ffprobe (duration, counted frames) and a full decode without errors. */
export async function checkOutput(file: string, expectedSec: number, fps: number): Promise<OutputCheck> {
  const probe = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'json', file]);
  const parsed = probe.code === 0 ? (JSON.parse(probe.stdout) as { streams?: { nb_read_frames?: string }[]; format?: { duration?: string } }) : {};
  const frames = Number(parsed.streams?.[0]?.nb_read_frames ?? 0);
  const duration = Number(parsed.format?.duration ?? 0);
  const decode = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-f', 'null', '-']);
  const decodeErrors = (decode.stderr.trim() || (decode.code !== 0 ? `exit ${decode.code}` : ''));
  const expectedFrames = Math.round(expectedSec * fps);
  const ok = Math.abs(duration - expectedSec) <= 0.2 && Math.abs(frames - expectedFrames) <= 1 && decodeErrors === '';
  return { ok, duration, frames, decodeErrors };
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
