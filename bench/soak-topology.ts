/**
 * The soak on the production topology (issue 11): N short jobs through 3 worker hosts of their own,
 * two masters, the Temporal server on PostgreSQL with mutual TLS — and one fault every F seconds,
 * picked at random from a seeded generator and logged: a worker host cut off (restored after 10 s),
 * a worker agent frozen (continued after 10 s), the Temporal server SIGKILLed (and started again),
 * PostgreSQL restarted, a master SIGKILLed (and started again), a worker restarted with SIGTERM.
 *
 * Reports: how every job ended (completed, failed, stuck, run twice), the longest time a job's
 * encoders ran on two hosts at once, jobs per minute, and per fault the time until the jobs it hit
 * ran again. Writes bench/results/soak-topology-<time>.json and appends a summary to
 * docs/PERFORMANCE.md.
 *
 *   node dist/bench/soak-topology.js [--jobs 1000] [--seed 1] [--fault-every 20] [--smoke] [--no-append]
 */
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { JobView } from '../domain/job';
import { EncoderWatch } from '../lib/cluster/encoder-watch';
import { checkOutput, outcomes } from '../lib/cluster/outcomes';
import { Topology } from '../lib/cluster/topology';
import { temporalCliPath } from '../lib/dev-server';
import { connectClient } from '../lib/temporal';

const ROOT = path.resolve(__dirname, '..', '..');
const HEARTBEAT_TIMEOUT_S = 5;

interface Args {
  jobs: number;
  seed: number;
  faultEveryS: number;
  append: boolean;
  smoke: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (flag: string, fallback: number) => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number`);
    return n;
  };
  const smoke = argv.includes('--smoke');
  return { jobs: get('--jobs', smoke ? 40 : 1000), seed: get('--seed', 1), faultEveryS: get('--fault-every', smoke ? 10 : 20), append: !argv.includes('--no-append') && !smoke, smoke };
}

/** mulberry32: a small seeded generator, so a run's faults can be replayed exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FAULTS = ['cut-worker', 'freeze-worker', 'kill-temporal', 'restart-postgres', 'kill-master', 'restart-worker'] as const;
type FaultKind = (typeof FAULTS)[number];

interface FaultRecord {
  at: string;
  kind: FaultKind;
  target: string;
  /** jobs running (on the target, for host faults) when it struck */
  hit: number;
  /** until every hit job ran again (a new attempt running, progress moving, or completed); or, with none hit, until the next job completed */
  recovery_ms: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);

class Soak {
  private readonly t: Topology;
  private readonly key: () => string;
  private readonly down = new Set<string>();

  constructor(private readonly args: Args) {
    this.t = new Topology({
      root: mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-soak-')),
      network: { prefix: 'ffb', subnet: '10.77.15' },
      masters: 2,
      workers: 3,
      mode: 'bound',
      repoRoot: ROOT,
      temporalCli: temporalCliPath(ROOT),
      masterEnv: {
        FFRTMP_WORKER_HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_TIMEOUT_S),
        FFRTMP_RETRY_BACKOFF_SECONDS: '0.5',
        FFRTMP_RETRY_BACKOFF_MAX_SECONDS: '4',
        FFRTMP_MAX_RETRIES: '10',
        FFRTMP_NODE_HEARTBEAT_SECONDS: '2',
        FFRTMP_RATE_LIMIT_DISABLED: 'true',
        LOG_LEVEL: 'warn',
      },
      workerEnv: { FFRTMP_CPU_SLOTS: '1', FFRTMP_HEARTBEAT_INTERVAL_SECONDS: '2', FFRTMP_SHUTDOWN_GRACE_SECONDS: '10', LOG_LEVEL: 'warn' },
      say: log,
    });
    this.key = () => this.t.apiKey;
  }

  private liveMaster(): string {
    return this.t.masters.find((m) => !this.down.has(m)) ?? this.t.masters[0]!;
  }

  private async api<T>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}, master = this.liveMaster()): Promise<{ status: number; body: T }> {
    const r = await fetch(this.t.masterUrl(master) + url, {
      method,
      headers: { 'X-API-Key': this.key(), ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
    return { status: r.status, body: (await r.json().catch(() => undefined)) as T };
  }

  /** A keyed POST, retried (same key) on whichever master answers: never a job twice. */
  private async submit(i: number): Promise<string> {
    const key = randomUUID();
    for (let tries = 0; ; tries++) {
      const master = this.t.masters[(i + tries) % this.t.masters.length]!;
      const r = await this.api<JobView>('POST', '/jobs', { scenario: '240p30-h264', parameters: { duration: 1 } }, { 'Idempotency-Key': key }, master).catch(() => undefined);
      if (r?.status === 201) return r.body.id;
      if (tries > 200) throw new Error(`job ${i} could not be submitted`);
      await sleep(250);
    }
  }

  private async running(): Promise<JobView[]> {
    const r = await this.api<{ jobs: { id: string }[] }>('GET', '/jobs?status=running&limit=500').catch(() => undefined);
    const ids = r?.body?.jobs?.map((j) => j.id) ?? [];
    const views = await Promise.all(ids.map((id) => this.view(id)));
    return views.filter((v): v is JobView => v?.status === 'running');
  }

  private async view(id: string): Promise<JobView | undefined> {
    const r = await this.api<JobView>('GET', `/jobs/${id}`).catch(() => undefined);
    return r?.status === 200 ? r.body : undefined;
  }

  private hostOf(nodeId: string | null): string | undefined {
    return this.t.workers.find((w) => nodeId?.startsWith(`${this.t.address(w)}-`));
  }

  /** Inject one fault; returns its record once the jobs it hit run again. */
  private async fault(kind: FaultKind, pick: () => number, anyCompletedAfter: (t: number) => Promise<boolean>): Promise<FaultRecord> {
    const worker = this.t.workers[Math.floor(pick() * this.t.workers.length)]!;
    const master = this.t.masters[Math.floor(pick() * this.t.masters.length)]!;
    const target = kind === 'kill-temporal' ? 'temporal' : kind === 'restart-postgres' ? 'postgres' : kind === 'kill-master' ? master : worker;
    const before = await this.running();
    const hit = kind.endsWith('-worker') ? before.filter((v) => this.hostOf(v.node_id) === target) : before;
    const at = Date.now();
    log(`fault: ${kind} ${target} (${hit.length} running job(s) hit)`);
    const restore = (async () => {
      switch (kind) {
        case 'cut-worker':
          await this.t.net.cut(target);
          await sleep(10_000);
          await this.t.net.restore(target);
          break;
        case 'freeze-worker':
          this.t.service(target).signal('SIGSTOP');
          await sleep(10_000);
          this.t.service(target).signal('SIGCONT');
          break;
        case 'kill-temporal':
          this.t.service('temporal').signal('SIGKILL');
          await this.t.service('temporal').waitExit(10_000);
          await this.t.startService('temporal');
          break;
        case 'restart-postgres':
          await this.t.service('postgres').stop(30_000, 'SIGINT');
          await this.t.startService('postgres');
          break;
        case 'kill-master':
          this.down.add(target);
          this.t.service(target).signal('SIGKILL');
          await this.t.service(target).waitExit(10_000);
          await sleep(2_000);
          await this.t.startService(target);
          this.down.delete(target);
          break;
        case 'restart-worker':
          await this.t.service(target).stop(30_000);
          await this.t.startService(target);
          break;
      }
    })();
    // recovered: every hit job has moved on (a new attempt running, its progress moving, or done)
    const deadline = at + 180_000;
    let recovery: number | null = null;
    const pending = new Map(hit.map((v) => [v.id, v]));
    while (Date.now() < deadline) {
      if (hit.length === 0) {
        if (await anyCompletedAfter(at)) recovery = Date.now() - at;
      } else {
        for (const [id, was] of pending) {
          const v = await this.view(id);
          if (!v) continue;
          const moved = v.status === 'completed' || (v.status === 'running' && (v.attempt > was.attempt || v.progress > was.progress));
          if (moved) pending.delete(id);
        }
        if (pending.size === 0) recovery = Date.now() - at;
      }
      if (recovery !== null) break;
      await sleep(250);
    }
    await restore;
    log(`  ${kind} ${target}: jobs running again after ${recovery === null ? 'never (3 min)' : `${(recovery / 1000).toFixed(1)} s`}`);
    return { at: new Date(at).toISOString(), kind, target, hit: hit.length, recovery_ms: recovery };
  }

  async run(): Promise<void> {
    const { args } = this;
    log(`bringing up the topology (seed ${args.seed}, ${args.jobs} jobs, a fault every ${args.faultEveryS} s)`);
    await this.t.up();
    const watch = new EncoderWatch(this.t).start();
    const client = await connectClient(this.t.temporalSettings());
    const completions: number[] = [];
    const started = Date.now();
    try {
      // submit everything (8 at a time), keyed, while the faults begin
      const ids: string[] = [];
      let next = 0;
      const submitter = async () => {
        while (next < args.jobs) {
          const i = next++;
          ids[i] = await this.submit(i);
        }
      };
      const submitting = Promise.all(Array.from({ length: 8 }, submitter));

      const open = async () => {
        const r = await client.workflow.count(`WorkflowType = 'transcodeJob' AND ExecutionStatus = 'Running'`).catch(() => undefined);
        return r?.count;
      };
      const anyCompletedAfter = async (t: number) => {
        const r = await client.workflow.count(`WorkflowType = 'transcodeJob' AND ExecutionStatus = 'Completed' AND CloseTime > '${new Date(t).toISOString()}'`).catch(() => undefined);
        return (r?.count ?? 0) > 0;
      };

      const pick = rng(args.seed);
      const faults: FaultRecord[] = [];
      let submitted = false;
      void submitting.then(() => (submitted = true));
      // one fault every F seconds (the next waits while the previous one is still being restored)
      let nextAt = Date.now() + args.faultEveryS * 1000;
      for (;;) {
        await sleep(Math.max(0, nextAt - Date.now()));
        nextAt += args.faultEveryS * 1000;
        const remaining = await open();
        if (submitted && remaining === 0) break;
        if (Date.now() - started > 90 * 60_000) {
          log('giving up after 90 minutes');
          break;
        }
        const kind = FAULTS[Math.floor(pick() * FAULTS.length)]!;
        faults.push(await this.fault(kind, pick, anyCompletedAfter));
        log(`  ${remaining ?? '?'} job(s) not finished`);
      }
      await submitting;
      const wall = (Date.now() - started) / 1000;

      log('counting outcomes and checking every output');
      const o = await outcomes((id) => this.view(id), ids, 600_000);
      let badOutputs = 0;
      const done = [...o.completed];
      const checkOne = async () => {
        for (let id = done.pop(); id; id = done.pop()) {
          const p = o.views.get(id)?.output?.path;
          const c = p ? await checkOutput(p, 1, 30) : undefined;
          if (!c?.ok) badOutputs++;
        }
      };
      await Promise.all([checkOne(), checkOne()]);
      watch.stop();
      let worstOverlap = 0;
      let overlapping = 0;
      for (const id of ids) {
        const ms = watch.overlapMs(id);
        worstOverlap = Math.max(worstOverlap, ms);
        if (ms > HEARTBEAT_TIMEOUT_S * 1000) overlapping++;
      }
      completions.push(o.completed.length);
      const recoveries = faults.map((f) => f.recovery_ms).filter((x): x is number => x !== null);
      const result = {
        date: new Date().toISOString(),
        machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, linux ${os.release()}`,
        jobs: args.jobs,
        seed: args.seed,
        fault_every_s: args.faultEveryS,
        heartbeat_timeout_s: HEARTBEAT_TIMEOUT_S,
        completed: o.completed.length,
        failed: o.failed.length,
        failures: o.failed.slice(0, 20),
        stuck: o.stuck.length,
        run_twice: o.twice.length,
        encoded_on_two_hosts_longer_than_heartbeat_timeout: overlapping,
        worst_overlap_ms: worstOverlap,
        bad_outputs: badOutputs,
        wall_s: Math.round(wall),
        jobs_per_min: Math.round((o.completed.length / wall) * 60 * 10) / 10,
        faults,
        worst_recovery_ms: recoveries.length ? Math.max(...recoveries) : null,
        faults_never_recovered: faults.filter((f) => f.recovery_ms === null).length,
      };
      this.report(result);
    } finally {
      watch.stop();
      await client.connection.close().catch(() => undefined);
      await this.t.down();
    }
  }

  private report(r: Record<string, any>): void {
    const line = (k: string, v: unknown) => console.log(`  ${k.padEnd(52)} ${v}`);
    console.log('\nsoak on the production topology');
    for (const k of ['jobs', 'completed', 'failed', 'stuck', 'run_twice', 'encoded_on_two_hosts_longer_than_heartbeat_timeout', 'worst_overlap_ms', 'bad_outputs', 'wall_s', 'jobs_per_min', 'worst_recovery_ms', 'faults_never_recovered']) line(k, r[k]);
    const byKind = new Map<string, number[]>();
    for (const f of r.faults as FaultRecord[]) if (f.recovery_ms !== null) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f.recovery_ms]);
    for (const [k, v] of byKind) line(`recovery ${k} (n=${v.length})`, `max ${(Math.max(...v) / 1000).toFixed(1)} s, median ${(v.sort((a, b) => a - b)[Math.floor(v.length / 2)]! / 1000).toFixed(1)} s`);
    const dir = path.join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `soak-topology-${r.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
    console.log(`  raw figures: ${path.relative(ROOT, file)}`);
    if (!this.args.append) return;
    const rows = [...byKind].map(([k, v]) => `| ${k} | ${v.length} | ${(Math.max(...v) / 1000).toFixed(1)} s | ${(v.sort((a, b) => a - b)[Math.floor(v.length / 2)]! / 1000).toFixed(1)} s |`);
    appendFileSync(
      path.join(ROOT, 'docs', 'PERFORMANCE.md'),
      [
        '',
        `## ${r.date.slice(0, 10)} — soak on the production topology (${r.machine})`,
        '',
        `\`bench/soak-topology.sh --jobs ${r.jobs} --seed ${r.seed} --fault-every ${r.fault_every_s}\`: ${r.jobs} jobs (240p30 H.264, 1 s each) through 3 worker hosts, 2 masters, the Temporal server on PostgreSQL with mutual TLS; heartbeat timeout ${r.heartbeat_timeout_s} s.`,
        '',
        `| completed | failed | stuck | run twice | on two hosts > heartbeat timeout | worst overlap | bad outputs | wall | jobs/min | worst recovery |`,
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        `| ${r.completed}/${r.jobs} | ${r.failed} | ${r.stuck} | ${r.run_twice} | ${r.encoded_on_two_hosts_longer_than_heartbeat_timeout} | ${(r.worst_overlap_ms / 1000).toFixed(1)} s | ${r.bad_outputs} | ${r.wall_s} s | ${r.jobs_per_min} | ${r.worst_recovery_ms === null ? '—' : `${(r.worst_recovery_ms / 1000).toFixed(1)} s`} |`,
        '',
        '| fault | times | worst time to jobs running again | median |',
        '| --- | --- | --- | --- |',
        ...rows,
        '',
      ].join('\n'),
    );
  }
}

new Soak(parseArgs(process.argv.slice(2))).run().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
