/**
 * The worker's Prometheus metrics on :9091 (prom-client), with the spec's names:
 * ffmpeg_jobs_total, ffmpeg_job_duration_seconds, ffmpeg_power_watts{domain,source},
 * ffmpeg_cpu_usage_percent, ffmpeg_memory_bytes — plus per-job energy and encode fps, and the
 * energy counters by source. It also measures each attempt's CPU time and energy.
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { GPU_CAPABILITIES, findEncoder } from '../domain/encoders';
import type { EncodeSpec } from '../domain/job';
import type { NodeLoad } from '../domain/nodes';
import type { EncoderProcess } from '../activities/encoder-process';
import type { AttemptOutcome, AttemptTelemetry, EncodeTelemetry } from '../activities/telemetry';
import { rssBytes } from '../lib/proc';
import { jobEnergy, nodePower, type PowerMonitor } from './power';

/** Finished jobs whose energy stays exported (older ones drop off, bounding cardinality). */
const RECENT_JOBS = 50;

interface Live {
  jobId: string;
  proc: EncoderProcess;
  cpuSeconds: number;
}

export class WorkerTelemetry implements EncodeTelemetry {
  readonly registry = new Registry();
  private readonly live = new Map<string, Live>();
  private readonly recentEnergy: string[] = [];
  private readonly jobsTotal: Counter<'status' | 'engine' | 'codec' | 'encoder'>;
  private readonly duration: Histogram<'status' | 'engine' | 'codec'>;
  private readonly jobEnergyGauge: Gauge<'job_id' | 'source'>;
  private readonly fpsGauge: Gauge<'job_id'>;
  private readonly energyTotal: Counter<'domain' | 'source'>;
  private lastCpu: { at: number; seconds: number } | undefined;

  constructor(
    private readonly power: PowerMonitor,
    labels: { node_id: string; node_name: string; capabilities: string[]; simulated: string[] },
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ffrtmp_worker_' });
    const reg = [this.registry];
    new Gauge({ name: 'ffrtmp_worker_info', help: 'Worker identity and capabilities (simulated ones listed apart)', labelNames: ['node_id', 'node_name', 'capabilities', 'simulated'], registers: reg })
      .set({ ...labels, capabilities: labels.capabilities.join(','), simulated: labels.simulated.join(',') }, 1);
    this.jobsTotal = new Counter({ name: 'ffmpeg_jobs_total', help: 'Encode attempts finished on this worker', labelNames: ['status', 'engine', 'codec', 'encoder'], registers: reg });
    this.duration = new Histogram({
      name: 'ffmpeg_job_duration_seconds',
      help: 'Wall time of encode attempts (paused time excluded)',
      labelNames: ['status', 'engine', 'codec'],
      buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers: reg,
    });
    this.jobEnergyGauge = new Gauge({ name: 'ffmpeg_job_energy_joules', help: 'Energy of recent jobs (source says measured or estimated)', labelNames: ['job_id', 'source'], registers: reg });
    this.fpsGauge = new Gauge({ name: 'ffmpeg_encode_fps', help: 'Encode speed of running jobs', labelNames: ['job_id'], registers: reg });
    this.energyTotal = new Counter({
      name: 'ffmpeg_energy_joules_total',
      help: 'Energy used by this machine since the worker started, by domain and source',
      labelNames: ['domain', 'source'],
      registers: reg,
      collect: () => {
        const snap = this.power.snapshot();
        this.energyTotal.reset();
        for (const [key, j] of Object.entries(snap.joules)) {
          const [source, domain] = key.split('/') as [string, string];
          this.energyTotal.inc({ source, domain }, j);
        }
      },
    });
    new Gauge({
      name: 'ffmpeg_power_watts',
      help: 'Current power draw by domain; source is rapl, nvidia-smi or estimate',
      labelNames: ['domain', 'source'],
      registers: reg,
      collect() {
        this.reset();
        for (const r of power.readings()) this.set({ domain: r.domain, source: r.source }, r.watts);
      },
    });
    const self = this;
    new Gauge({
      name: 'ffmpeg_cpu_usage_percent',
      help: 'CPU used by the running encoders (100 = one thread)',
      registers: reg,
      collect() {
        const now = Date.now();
        let total = 0;
        for (const l of self.live.values()) total += l.proc.cpuSeconds() ?? l.cpuSeconds;
        total += self.finishedCpu;
        const prev = self.lastCpu;
        self.lastCpu = { at: now, seconds: total };
        this.set(prev && now > prev.at ? Math.max(0, ((total - prev.seconds) / ((now - prev.at) / 1000)) * 100) : 0);
      },
    });
    new Gauge({
      name: 'ffmpeg_memory_bytes',
      help: 'Resident memory: the running encoders, and the worker agent itself',
      labelNames: ['process'],
      registers: reg,
      collect() {
        let enc = 0;
        for (const l of self.live.values()) enc += (l.proc.pid && rssBytes(l.proc.pid)) || 0;
        this.set({ process: 'encoders' }, enc);
        this.set({ process: 'worker' }, process.memoryUsage().rss);
      },
    });
    new Gauge({ name: 'ffmpeg_running_jobs', help: 'Encodes running on this worker', registers: reg, collect() { this.set(self.live.size); } });
  }

  /** CPU seconds of encoders that already finished, so the usage rate stays continuous. */
  private finishedCpu = 0;

  begin(jobId: string, attempt: number, spec: EncodeSpec, proc: EncoderProcess, opts: { finePower: boolean }): AttemptTelemetry {
    const key = `${jobId}#${attempt}`;
    const live: Live = { jobId, proc, cpuSeconds: 0 };
    this.live.set(key, live);
    if (opts.finePower) this.power.boost(24 * 3600_000);
    void this.power.sample();
    const start = this.power.snapshot();
    const started = Date.now();
    const gpu = GPU_CAPABILITIES.includes(findEncoder(spec.encoder)?.capability ?? 'cpu');
    return {
      progress: (fps) => {
        live.cpuSeconds = proc.cpuSeconds() ?? live.cpuSeconds;
        if (fps !== null) this.fpsGauge.set({ job_id: jobId }, fps);
      },
      get cpuSeconds() {
        return live.cpuSeconds;
      },
      end: async (outcome: AttemptOutcome, finalCpuSeconds?: number) => {
        if (finalCpuSeconds !== undefined) live.cpuSeconds = Math.max(live.cpuSeconds, finalCpuSeconds);
        this.live.delete(key);
        this.finishedCpu += live.cpuSeconds;
        this.fpsGauge.remove({ job_id: jobId });
        if (opts.finePower) this.power.boost(0);
        const labels = { status: outcome, engine: spec.engine, codec: spec.codec };
        this.jobsTotal.inc({ ...labels, encoder: spec.encoder });
        this.duration.observe(labels, (Date.now() - started - proc.suspendedMs()) / 1000);
        await this.power.sample();
        const energy = jobEnergy(this.power, start, this.power.snapshot(), { cpuSeconds: live.cpuSeconds, gpu });
        this.jobEnergyGauge.set({ job_id: jobId, source: energy.power_source }, energy.energy_joules);
        this.recentEnergy.push(jobId);
        while (this.recentEnergy.length > RECENT_JOBS) {
          const old = this.recentEnergy.shift()!;
          this.jobEnergyGauge.remove({ job_id: old, source: energy.power_source });
        }
        return energy;
      },
    };
  }

  get runningJobs(): number {
    return this.live.size;
  }

  /** The encoders' CPU use and memory, for heartbeats to the master. */
  load(): Omit<NodeLoad, 'running_jobs'> {
    let mem = 0;
    let cpu = this.finishedCpu;
    for (const l of this.live.values()) {
      mem += (l.proc.pid && rssBytes(l.proc.pid)) || 0;
      cpu += l.proc.cpuSeconds() ?? l.cpuSeconds;
    }
    const now = Date.now();
    const prev = this.lastLoadCpu;
    this.lastLoadCpu = { at: now, seconds: cpu };
    const cpuPercent = prev && now > prev.at ? Math.round(Math.max(0, ((cpu - prev.seconds) / ((now - prev.at) / 1000)) * 1000)) / 10 : null;
    return { cpu_percent: cpuPercent, memory_bytes: mem, ...nodePower(this.power.readings()) };
  }

  private lastLoadCpu: { at: number; seconds: number } | undefined;

  serve(host: string, port: number): Promise<http.Server> {
    const server = http.createServer((req, res) => {
      if (req.url === '/metrics') {
        this.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      } else if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', running_jobs: this.live.size }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found; try /metrics', status: 404 }));
      }
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}
