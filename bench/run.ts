/**
 * The benchmark: brings up a private Temporal dev server, a master and two workers, measures
 * what issue 8 lists, prints a table, writes the raw figures as JSON under bench/results/, and
 * appends a dated summary to docs/PERFORMANCE.md.
 *
 *   node dist/bench/run.js [--smoke] [--only overhead,first-frame,control,throughput,failover,soak] [--no-append]
 *
 * --smoke runs a tiny version of everything (CI runs it so the harness never rots).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import type { JobView } from '../domain/job';
import { resolveJob } from '../domain/resolve';
import { isTerminal } from '../domain/states';
import { buildFfmpegArgs } from '../encoders/ffmpeg-command';
import { freePort, startDevServer, temporalCliPath, type DevServer } from '../lib/dev-server';
import { launchNode, loopbackMasterEnv, loopbackWorkerEnv, waitForHttp, type NodeProcess } from '../lib/launch';
import { encodersOfJob, processCpuSeconds, processState, rssBytes } from '../lib/proc';
import { waitFor, waitForJob } from '../lib/wait';

const ROOT = path.resolve(__dirname, '..', '..');
const KEY = 'bench-key-0123456789abcdef';

interface Options {
  smoke: boolean;
  only: Set<string>;
  append: boolean;
}

interface Stats {
  n: number;
  median: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
}

export function stats(values: number[]): Stats {
  const v = [...values].sort((a, b) => a - b);
  const q = (p: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))] ?? NaN;
  const median = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return { n: v.length, median, p50: q(50), p95: q(95), p99: q(99), max: v[v.length - 1] ?? NaN, min: v[0] ?? NaN };
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export class Bench {
  server!: DevServer;
  master!: NodeProcess;
  workers: NodeProcess[] = [];
  api = '';
  masterEnv: Record<string, string> = {};
  root = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-bench-'));
  results: Record<string, unknown> = {};

  async up(): Promise<void> {
    this.server = await startDevServer({ temporalCli: temporalCliPath(ROOT), dataDir: path.join(this.root, 'temporal'), headless: true });
    const apiPort = await freePort();
    this.api = `http://127.0.0.1:${apiPort}`;
    this.masterEnv = {
      ...loopbackMasterEnv({ temporalAddress: this.server.address, dataDir: path.join(this.root, 'data'), apiKeys: KEY, apiPort, metricsPort: await freePort() }),
      FFRTMP_WORKER_HEARTBEAT_TIMEOUT_SECONDS: '5',
      FFRTMP_RETRY_BACKOFF_SECONDS: '0.5',
      LOG_LEVEL: 'warn',
    };
    this.master = launchNode('master', 'api/server.js', this.masterEnv);
    await waitForHttp(`${this.api}/health`, 60_000, () => this.master.alive);
  }

  async startWorker(name: string, extra: Record<string, string> = {}): Promise<NodeProcess> {
    const port = await freePort();
    const w = launchNode(name, 'workers/agent.js', {
      ...loopbackWorkerEnv({ temporalAddress: this.server.address, dataDir: path.join(this.root, 'data'), name, port }),
      FFRTMP_CPU_SLOTS: '1',
      FFRTMP_CAPABILITIES: 'cpu',
      FFRTMP_SHUTDOWN_GRACE_SECONDS: '1',
      LOG_LEVEL: 'warn',
      ...extra,
    });
    await waitForHttp(`http://127.0.0.1:${port}/health`, 120_000, () => w.alive);
    this.workers.push(w);
    return w;
  }

  /** A new private cluster with `workers` workers (the previous one is stopped). */
  async fresh(workers: number): Promise<void> {
    await this.down();
    this.workers = [];
    this.root = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-bench-'));
    await this.up();
    for (let i = 1; i <= workers; i++) await this.startWorker(`bench-worker-${i}`);
  }

  async down(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop(5_000)));
    await this.master?.stop(5_000);
    await this.server?.stop();
  }

  async call<T = any>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
    const r = await fetch(this.api + url, {
      method,
      headers: { 'X-API-Key': KEY, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json()) as T };
  }

  async submit(body: unknown): Promise<JobView> {
    const r = await this.call<JobView>('POST', '/jobs', body);
    if (r.status !== 201) throw new Error(`POST /jobs answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async view(id: string): Promise<JobView | undefined> {
    const r = await this.call<JobView>('GET', `/jobs/${id}`);
    return r.status === 200 ? r.body : undefined;
  }

  until(id: string, done: (v: JobView) => boolean, timeoutMs = 600_000, intervalMs = 20): Promise<JobView> {
    return waitForJob(`job ${id}`, () => this.view(id), done, { timeoutMs, intervalMs });
  }
}

const finished = (v: JobView) => isTerminal(v.status);

// --------------------------------------------------------------------------- measures

/** Job wall time through the API over the identical ffmpeg command run directly, interleaved. */
async function overhead(b: Bench, o: Options) {
  const pairs = o.smoke ? 1 : 5;
  const duration = o.smoke ? 2 : 20;
  const request = { scenario: '720p30-h264', confidence: 'low' as const, engine: 'ffmpeg' as const, queue: 'default' as const, priority: 'medium' as const, parameters: { duration, preset: 'veryfast', hardware: 'cpu' as const } };
  const { spec } = resolveJob(request);
  const out = path.join(b.root, 'direct.mp4');
  const direct: number[] = [];
  const viaApi: number[] = [];
  const workerRss: number[] = [];
  const sampler = setInterval(() => workerRss.push(rssBytes(b.workers[0]!.pid!) ?? 0), 500);
  for (let i = 0; i < pairs; i++) {
    // submit to completed_at (the workflow's own clock, same machine): polled gently, so the
    // measurement does not take CPU from the encode it measures
    const submitted = Date.now();
    const job = await b.submit(request);
    const v = await b.until(job.id, finished, 600_000, 500);
    if (v.status !== 'completed') throw new Error(`overhead job ${v.status}: ${v.error}`);
    viaApi.push(Date.parse(v.completed_at!) - submitted);
    const t = performance.now();
    execFileSync('ffmpeg', buildFfmpegArgs(spec, { output: out, format: 'mp4' }), { stdio: 'ignore' });
    direct.push(performance.now() - t);
  }
  clearInterval(sampler);
  const ratios = viaApi.map((a, i) => a / direct[i]!);
  return {
    worker_rss_encoding_mb: round(Math.max(0, ...workerRss) / 2 ** 20, 1),
    clip: `${duration} s 720p30 x264 veryfast, confidence low (no verification pass), ${pairs} pairs interleaved`,
    api_ms: viaApi.map((x) => round(x, 0)),
    direct_ms: direct.map((x) => round(x, 0)),
    ratios: ratios.map((r) => round(r)),
    median_ratio: round(stats(ratios).median),
    target: 'median ratio <= 1.05',
    met: stats(ratios).median <= 1.05,
  };
}

/** Submit → first encoded frame (the job's `running` transition), idle worker, one after another. */
async function firstFrame(b: Bench, o: Options) {
  const n = o.smoke ? 3 : 50;
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = Date.now();
    const job = await b.submit({ scenario: '240p30-h264', confidence: 'low', parameters: { duration: 1, preset: 'ultrafast', hardware: 'cpu' } });
    const v = await b.until(job.id, finished, 60_000, 250);
    const running = v.state_transitions.find((s) => s.to === 'running');
    if (!running) throw new Error(`job ${v.id} never ran: ${v.status} ${v.error}`);
    ms.push(Date.parse(running.at) - t);
  }
  const s = stats(ms);
  return { n, ms: ms, p50: s.p50, p95: s.p95, p99: s.p99, target: 'p50 <= 300 ms, p99 <= 1000 ms', met: s.p50 <= 300 && s.p99 <= 1000 };
}

/** Cancel → encoder process gone; pause → encoder CPU stopped (process state T, CPU time flat). */
async function control(b: Bench, o: Options) {
  const n = o.smoke ? 2 : 20;
  const cancelMs: number[] = [];
  const pauseMs: number[] = [];
  const long = { scenario: '720p30-h264', confidence: 'low', parameters: { duration: 300, preset: 'medium', hardware: 'cpu' } };
  for (let i = 0; i < n; i++) {
    // pause: from the request to the encoder stopped
    let job = await b.submit(long);
    await b.until(job.id, (v) => v.status === 'running');
    let pid = await waitPid(job.id);
    let t = performance.now();
    const pausing = b.call('POST', `/jobs/${job.id}/pause`);
    while (processState(pid) !== 'T') await tick();
    pauseMs.push(performance.now() - t);
    const cpu = processCpuSeconds(pid) ?? 0;
    await pausing;
    await new Promise((r) => setTimeout(r, 200));
    if ((processCpuSeconds(pid) ?? cpu) - cpu > 0.02) throw new Error('a paused encoder kept using CPU');
    await b.call('POST', `/jobs/${job.id}/cancel`);
    await b.until(job.id, finished);

    // cancel: from the request to the encoder's process gone
    job = await b.submit(long);
    await b.until(job.id, (v) => v.status === 'running');
    pid = await waitPid(job.id);
    t = performance.now();
    const canceling = b.call('POST', `/jobs/${job.id}/cancel`);
    while (processState(pid) !== null && processState(pid) !== 'Z') await tick();
    cancelMs.push(performance.now() - t);
    await canceling;
  }
  const c = stats(cancelMs);
  const p = stats(pauseMs);
  return {
    n,
    cancel_ms: { median: round(c.median, 1), p99: round(c.p99, 1), max: round(c.max, 1) },
    pause_ms: { median: round(p.median, 1), p99: round(p.p99, 1), max: round(p.max, 1) },
    target: 'p99 <= 1000 ms each',
    met: c.p99 <= 1000 && p.p99 <= 1000,
  };
}

const tick = () => new Promise((r) => setTimeout(r, 2));

function waitPid(jobId: string): Promise<number> {
  return waitFor(`an encoder process for ${jobId}`, () => encodersOfJob(jobId)[0]?.pid, { timeoutMs: 30_000, intervalMs: 2 });
}

/** autocannon on loopback, rate limit off: POST /jobs, GET /jobs/{id}, GET /jobs. */
async function throughput(b: Bench, o: Options) {
  const seconds = o.smoke ? 2 : 10;
  const connections = o.smoke ? 4 : 32;
  const one = await b.submit({ scenario: '240p30-h264', parameters: { duration: 1 } });
  const run = (title: string, method: 'GET' | 'POST', url: string, body?: unknown) =>
    new Promise<autocannon.Result>((resolve, reject) => {
      autocannon(
        {
          title,
          url: b.api + url,
          method,
          connections,
          duration: seconds,
          headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
          body: body ? JSON.stringify(body) : undefined,
        },
        (err, result) => (err ? reject(err) : resolve(result)),
      );
    });
  const out: Record<string, unknown> = {};
  for (const [name, method, url, body] of [
    ['POST /jobs', 'POST', '/jobs', { scenario: '240p30-h264', queue: 'batch', priority: 'low', parameters: { duration: 1 } }],
    ['GET /jobs/{id}', 'GET', `/jobs/${one.id}`, undefined],
    ['GET /jobs', 'GET', '/jobs?limit=50', undefined],
  ] as const) {
    const r = await run(name, method, url, body);
    out[name] = {
      requests_per_second: round(r.requests.average, 1),
      latency_p50_ms: r.latency.p50,
      latency_p99_ms: r.latency.p99,
      errors: r.errors + r.non2xx + r.timeouts,
      total: r.requests.total,
    };
  }
  return { seconds, connections, ...out, master_rss_after_mb: round((rssBytes(b.master.pid!) ?? 0) / 2 ** 20, 1) };
}

/** A worker killed mid-encode: how long until its job runs again on the other worker. */
async function failover(b: Bench, o: Options) {
  const n = o.smoke ? 1 : 3;
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const job = await b.submit({ scenario: '720p30-h264', confidence: 'low', parameters: { duration: 60, preset: 'medium', hardware: 'cpu' } });
    const running = await b.until(job.id, (v) => v.status === 'running');
    const victim = b.workers.find((w) => running.node_name === w.name)!;
    const t = Date.now();
    victim.kill('SIGKILL');
    await victim.exited;
    await b.until(job.id, (v) => v.status === 'running' && v.attempt >= 2, 120_000);
    ms.push(Date.now() - t);
    b.workers.splice(b.workers.indexOf(victim), 1);
    await b.call('POST', `/jobs/${job.id}/cancel`);
    await b.startWorker(`${victim.name}-again`);
  }
  return {
    n,
    ms,
    median_ms: stats(ms).median,
    note: `heartbeat timeout ${b.masterEnv.FFRTMP_WORKER_HEARTBEAT_TIMEOUT_SECONDS} s + retry backoff ${b.masterEnv.FFRTMP_RETRY_BACKOFF_SECONDS} s + dispatch`,
  };
}

/** Many short jobs through two workers, mixed queues and priorities, one worker restarted midway. */
async function soak(b: Bench, o: Options) {
  const n = o.smoke ? 10 : 500;
  const queues = ['live', 'default', 'batch'] as const;
  const priorities = ['high', 'medium', 'low'] as const;
  const t0 = Date.now();
  const rss = { master: [] as number[], workers: [] as number[] };
  const sample = () => {
    rss.master.push(rssBytes(b.master.pid!) ?? 0);
    for (const w of b.workers) if (w.alive) rss.workers.push(rssBytes(w.pid!) ?? 0);
  };
  const sampler = setInterval(sample, 1_000);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const job = await b.submit({
      scenario: '240p30-h264',
      queue: queues[i % 3],
      priority: priorities[Math.floor(i / 3) % 3],
      engine: 'ffmpeg',
      parameters: { duration: 2, preset: 'ultrafast', hardware: 'cpu' },
    });
    ids.push(job.id);
  }
  // restart one worker once half the jobs are done
  const victim = b.workers[0]!;
  let restarted = false;
  const done = new Map<string, JobView>();
  while (done.size < n) {
    for (const id of ids) {
      if (done.has(id)) continue;
      const v = await b.view(id);
      if (v && finished(v)) done.set(id, v);
    }
    if (!restarted && done.size >= n / 2) {
      restarted = true;
      victim.kill('SIGKILL');
      await victim.exited;
      b.workers.splice(b.workers.indexOf(victim), 1);
      await b.startWorker('soak-worker-restarted');
    }
    if (Date.now() - t0 > 3_600_000) throw new Error(`soak stuck: ${done.size}/${n} after an hour`);
    await new Promise((r) => setTimeout(r, 500));
  }
  clearInterval(sampler);
  const views = [...done.values()];
  const completed = views.filter((v) => v.status === 'completed').length;
  const twice = views.filter((v) => v.attempts.filter((a) => a.outcome === 'completed').length > 1).length;
  const minutes = (Date.now() - t0) / 60_000;
  return {
    jobs: n,
    completed,
    not_completed: views.filter((v) => v.status !== 'completed').map((v) => ({ id: v.id, status: v.status, error: v.error })),
    completed_twice: twice,
    retried_after_restart: views.filter((v) => v.attempts.length > 1).length,
    minutes: round(minutes, 2),
    jobs_per_minute: round(n / minutes, 1),
    rss_mb: {
      master_max: round(Math.max(...rss.master) / 2 ** 20, 1),
      worker_max: round(Math.max(...rss.workers) / 2 ** 20, 1),
    },
    target: `${n}/${n} completed; none lost, stuck or run twice`,
    met: completed === n && twice === 0,
  };
}

// --------------------------------------------------------------------------- main

function parseArgs(argv: string[]): Options {
  const only = argv.find((a) => a.startsWith('--only='))?.slice(7) ?? argv[argv.indexOf('--only') + 1];
  const all = ['overhead', 'first-frame', 'control', 'throughput', 'failover', 'soak'];
  return {
    smoke: argv.includes('--smoke'),
    only: new Set(argv.includes('--only') || argv.some((a) => a.startsWith('--only=')) ? (only ?? '').split(',') : all),
    append: !argv.includes('--no-append'),
  };
}

function versions(): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args).toString().split('\n')[0]!.trim();
    } catch {
      return 'unknown';
    }
  };
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  return {
    node: process.version,
    temporal_cli: first(temporalCliPath(ROOT), ['--version']),
    temporal_sdk: pkg.dependencies['@temporalio/client'] ?? 'unknown',
    ffmpeg: first('ffmpeg', ['-version']),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${round(os.totalmem() / 2 ** 30, 1)} GiB, ${os.platform()} ${os.release()}`,
  };
}

export async function main(argv = process.argv.slice(2)): Promise<Record<string, unknown>> {
  const o = parseArgs(argv);
  const b = new Bench();
  const started = new Date();
  const out: Record<string, unknown> = { started: started.toISOString(), smoke: o.smoke, command: `node dist/bench/run.js ${argv.join(' ')}`.trim(), versions: versions() };
  try {
    await b.up();
    const w1 = await b.startWorker('bench-worker-1');
    out.memory_idle_mb = { master: round((rssBytes(b.master.pid!) ?? 0) / 2 ** 20, 1), worker: round((rssBytes(w1.pid!) ?? 0) / 2 ** 20, 1) };
    const steps: [string, (b: Bench, o: Options) => Promise<unknown>][] = [
      ['overhead', overhead],
      ['first-frame', firstFrame],
      ['control', control],
    ];
    for (const [name, fn] of steps) {
      if (!o.only.has(name)) continue;
      console.error(`[bench] ${name}…`);
      out[name] = await fn(b, o);
    }
    // the API alone, on a fresh cluster with no worker: jobs it creates queue up, nothing encodes
    if (o.only.has('throughput')) {
      await b.fresh(0);
      console.error('[bench] throughput…');
      out.throughput = await throughput(b, o);
    }
    if (o.only.has('failover') || o.only.has('soak')) await b.fresh(2);
    if (o.only.has('failover')) {
      console.error('[bench] failover…');
      out.failover = await failover(b, o);
    }
    if (o.only.has('soak')) {
      console.error('[bench] soak…');
      out.soak = await soak(b, o);
    }
  } finally {
    await b.down();
  }
  out.finished = new Date().toISOString();
  report(out, o);
  return out;
}

function report(out: Record<string, any>, o: Options): void {
  const rows: [string, string, string][] = [];
  if (out.overhead) rows.push(['orchestration overhead (median ratio)', String(out.overhead.median_ratio), out.overhead.met ? 'met' : 'MISSED']);
  if (out['first-frame']) rows.push(['submit → first frame p50 / p99 (ms)', `${out['first-frame'].p50} / ${out['first-frame'].p99}`, out['first-frame'].met ? 'met' : 'MISSED']);
  if (out.control) rows.push(['cancel → gone p99; pause → stopped p99 (ms)', `${out.control.cancel_ms.p99} ; ${out.control.pause_ms.p99}`, out.control.met ? 'met' : 'MISSED']);
  if (out.throughput) {
    for (const k of ['POST /jobs', 'GET /jobs/{id}', 'GET /jobs']) {
      const t = out.throughput[k];
      rows.push([`${k} req/s, p50/p99 ms, errors`, `${t.requests_per_second}, ${t.latency_p50_ms}/${t.latency_p99_ms}, ${t.errors}`, 'report']);
    }
  }
  if (out.soak) rows.push([`soak ${out.soak.jobs} jobs: completed, twice, jobs/min`, `${out.soak.completed}, ${out.soak.completed_twice}, ${out.soak.jobs_per_minute}`, out.soak.met ? 'met' : 'MISSED']);
  if (out.failover) rows.push(['worker SIGKILL → job running again (median ms)', String(out.failover.median_ms), 'report']);
  if (out.memory_idle_mb) rows.push(['RSS idle master / worker (MiB)', `${out.memory_idle_mb.master} / ${out.memory_idle_mb.worker}`, 'report']);
  if (out.overhead) rows.push(['worker RSS while encoding, max (MiB)', String(out.overhead.worker_rss_encoding_mb), 'report']);
  if (out.soak) rows.push(['RSS under soak, max master / worker (MiB)', `${out.soak.rss_mb.master_max} / ${out.soak.rss_mb.worker_max}`, 'report']);
  const w = Math.max(...rows.map((r) => r[0].length));
  const table = rows.map((r) => `${r[0].padEnd(w)}  ${r[1].padEnd(28)}  ${r[2]}`).join('\n');
  console.log(table);

  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${out.started.replace(/[:.]/g, '-')}${o.smoke ? '-smoke' : ''}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(`raw figures: ${path.relative(ROOT, file)}`);
  if (o.append && !o.smoke) {
    const doc = path.join(ROOT, 'docs', 'PERFORMANCE.md');
    if (!existsSync(doc)) writeFileSync(doc, '# Performance\n\nDated runs of `bench/run.sh`, newest last. Raw figures: `bench/results/` (not committed).\n');
    appendFileSync(doc, `\n## ${out.started.slice(0, 10)} — ${out.versions.machine}\n\n- command: \`${out.command}\`\n- versions: node ${out.versions.node}; ${out.versions.temporal_cli}; SDK ${out.versions.temporal_sdk}; ${out.versions.ffmpeg}\n\n\`\`\`\n${table}\n\`\`\`\n`);
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
