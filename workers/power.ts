/**
 * Power and energy. Every reading carries its source: `rapl` (CPU energy counters in
 * /sys/class/powercap), `nvidia-smi` (NVIDIA GPUs), or `estimate` (CPU time × watts per busy
 * thread, where no sensor exists). Estimates are reported beside measurements, never added to them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { JobEnergyFigures } from '../domain/job';
import { combinedSource, type PowerSource } from '../domain/power';
import { runCommand, type CommandRunner } from './hardware';

export type { PowerSource } from '../domain/power';

export interface PowerReading {
  domain: string;
  source: PowerSource;
  watts: number;
}

interface RaplZone {
  dir: string;
  domain: string;
  maxUj: number;
  /** top-level package zones; sub-zones (core, uncore, dram inside a package) are not summed */
  topLevel: boolean;
}

// ---------------------------------------------------------------- pure helpers

/** Energy between two readings of a counter that wraps at max. */
export function counterDelta(before: number, after: number, max: number): number {
  return after >= before ? after - before : max - before + after;
}

/** `nvidia-smi --query-gpu=index,power.draw --format=csv,noheader,nounits` → watts per GPU. */
export function parseNvidiaPower(text: string): { index: number; watts: number }[] {
  const out: { index: number; watts: number }[] = [];
  for (const line of text.split('\n')) {
    const [i, w] = line.split(',').map((x) => x.trim());
    const index = Number(i);
    const watts = Number.parseFloat(w ?? '');
    if (Number.isInteger(index) && Number.isFinite(watts)) out.push({ index, watts });
  }
  return out;
}

/** /proc/stat's first line → [busy, total] jiffies of the whole machine. */
export function parseProcStat(text: string): { busy: number; total: number } {
  const fields = text.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export function discoverRaplZones(root: string): RaplZone[] {
  const zones: RaplZone[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    return zones;
  }
  for (const name of entries.filter((n) => /^intel-rapl:\d+(:\d+)?$/.test(n)).sort()) {
    const dir = path.join(root, name);
    try {
      readFileSync(path.join(dir, 'energy_uj'), 'utf8'); // root-only since Linux 5.10: probe readability
      const domain = readFileSync(path.join(dir, 'name'), 'utf8').trim();
      const maxUj = Number(readFileSync(path.join(dir, 'max_energy_range_uj'), 'utf8').trim());
      zones.push({ dir, domain: name.split(':').length === 3 ? `${domain}@${name.split(':')[1]}` : domain, maxUj, topLevel: name.split(':').length === 2 });
    } catch {
      /* unreadable zone: not a sensor we have */
    }
  }
  return zones;
}

// ---------------------------------------------------------------- the monitor

export interface EnergySnapshot {
  at: number;
  /** cumulative joules per `${source}/${domain}` since the monitor started */
  joules: Record<string, number>;
  /** machine-wide busy CPU seconds since boot (from /proc/stat) */
  machineBusySeconds: number;
}

export interface PowerMonitorOptions {
  raplRoot?: string;
  /** NVIDIA GPUs present: poll nvidia-smi */
  nvidia?: boolean;
  nvidiaSmiPath?: string;
  cpuThreads: number;
  /** the estimate's watts for one fully busy hardware thread */
  wattsPerBusyThread?: number;
  intervalMs?: number;
  run?: CommandRunner;
  procStatPath?: string;
}

export class PowerMonitor {
  private readonly zones: RaplZone[];
  private readonly lastUj = new Map<string, number>();
  private readonly joules: Record<string, number> = {};
  private readonly current = new Map<string, PowerReading>();
  private lastAt = Date.now();
  private lastStat: { busy: number; total: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private fastUntil = 0;
  private sampling: Promise<void> | undefined;
  readonly wattsPerBusyThread: number;

  constructor(private readonly opts: PowerMonitorOptions) {
    this.zones = discoverRaplZones(opts.raplRoot ?? '/sys/class/powercap');
    this.wattsPerBusyThread = opts.wattsPerBusyThread ?? 10;
    for (const z of this.zones) this.lastUj.set(z.dir, this.readUj(z));
    this.lastStat = this.readStat();
  }

  get hasRapl(): boolean {
    return this.zones.length > 0;
  }

  /** What CPU energy is measured by: a sensor, or an estimate. */
  get cpuSource(): PowerSource {
    return this.hasRapl ? 'rapl' : 'estimate';
  }

  start(): void {
    const loop = () => {
      const interval = Date.now() < this.fastUntil ? 250 : (this.opts.intervalMs ?? 2_000);
      this.timer = setTimeout(() => void this.sample().finally(loop), interval);
      this.timer.unref();
    };
    void this.sample().finally(loop);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /** Sample every 250 ms for a while (high-confidence jobs measure more finely). */
  boost(forMs: number): void {
    this.fastUntil = Math.max(this.fastUntil, Date.now() + forMs);
  }

  readings(): PowerReading[] {
    return [...this.current.values()];
  }

  private readUj(z: RaplZone): number {
    try {
      return Number(readFileSync(path.join(z.dir, 'energy_uj'), 'utf8').trim());
    } catch {
      return this.lastUj.get(z.dir) ?? 0;
    }
  }

  private readStat(): { busy: number; total: number } | undefined {
    try {
      return parseProcStat(readFileSync(this.opts.procStatPath ?? '/proc/stat', 'utf8'));
    } catch {
      return undefined;
    }
  }

  private add(source: PowerSource, domain: string, watts: number, seconds: number): void {
    const key = `${source}/${domain}`;
    this.current.set(key, { domain, source, watts });
    this.joules[key] = (this.joules[key] ?? 0) + watts * seconds;
  }

  /** Take one sample now (also used at a job's start and end so its energy is exact to the moment). */
  sample(): Promise<void> {
    this.sampling ??= this.doSample().finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  private async doSample(): Promise<void> {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.lastAt) / 1000);
    this.lastAt = now;

    for (const z of this.zones) {
      const uj = this.readUj(z);
      const delta = counterDelta(this.lastUj.get(z.dir) ?? uj, uj, z.maxUj);
      this.lastUj.set(z.dir, uj);
      this.add('rapl', z.domain, delta / 1e6 / seconds, seconds);
    }

    const stat = this.readStat();
    if (!this.hasRapl && stat && this.lastStat && stat.total > this.lastStat.total) {
      const busyShare = (stat.busy - this.lastStat.busy) / (stat.total - this.lastStat.total);
      this.add('estimate', 'cpu', busyShare * this.opts.cpuThreads * this.wattsPerBusyThread, seconds);
    }
    this.lastStat = stat ?? this.lastStat;

    if (this.opts.nvidia) {
      const r = await (this.opts.run ?? runCommand)(
        this.opts.nvidiaSmiPath ?? 'nvidia-smi',
        ['--query-gpu=index,power.draw', '--format=csv,noheader,nounits'],
        5_000,
      );
      if (r.ok) for (const g of parseNvidiaPower(r.stdout)) this.add('nvidia-smi', `gpu${g.index}`, g.watts, seconds);
    }
  }

  snapshot(): EnergySnapshot {
    const stat = this.readStat();
    return { at: Date.now(), joules: { ...this.joules }, machineBusySeconds: stat ? stat.busy / 100 : 0 };
  }

  /** Measured energy between two snapshots, per source, over top-level domains only. */
  measuredBetween(a: EnergySnapshot, b: EnergySnapshot): { cpuJoules: number | null; gpuJoules: number | null } {
    const sum = (prefix: string, filter: (domain: string) => boolean) => {
      let total = 0;
      let any = false;
      for (const [key, j] of Object.entries(b.joules)) {
        if (!key.startsWith(prefix)) continue;
        const domain = key.slice(prefix.length);
        if (!filter(domain)) continue;
        any = true;
        total += j - (a.joules[key] ?? 0);
      }
      return any ? total : null;
    };
    const top = new Set(this.zones.filter((z) => z.topLevel).map((z) => z.domain));
    return { cpuJoules: sum('rapl/', (d) => top.has(d)), gpuJoules: sum('nvidia-smi/', () => true) };
  }
}

/**
 * A node's power now, for its heartbeat: the measured readings' sum when any sensor reads (RAPL
 * packages, not their sub-zones again), the estimate only where none does (never both added), with
 * the sources it is the sum of.
 */
export function nodePower(readings: readonly PowerReading[]): { power_watts: number | null; power_source: string | null } {
  // RAPL sub-zones (core@0, inside package-0) are part of their package: not added again
  const measured = readings.filter((r) => r.source !== 'estimate' && !(r.source === 'rapl' && r.domain.includes('@')));
  const counted = measured.length > 0 ? measured : readings;
  if (counted.length === 0) return { power_watts: null, power_source: null };
  return { power_watts: Math.round(counted.reduce((a, r) => a + r.watts, 0) * 10) / 10, power_source: combinedSource(counted.map((r) => r.source)) };
}

/**
 * A job's energy: measured when a sensor covers it (RAPL package energy, shared among jobs by
 * their CPU time; the GPU's for GPU encodes), else estimated from its CPU seconds.
 */
export function jobEnergy(
  monitor: PowerMonitor,
  start: EnergySnapshot,
  end: EnergySnapshot,
  job: { cpuSeconds: number; gpu: boolean },
): JobEnergyFigures {
  const seconds = Math.max(0.001, (end.at - start.at) / 1000);
  const measured = monitor.measuredBetween(start, end);
  const estimate = job.cpuSeconds * monitor.wattsPerBusyThread;
  let joules: number;
  let source: string;
  let estimated: number | null = null;
  if (job.gpu && measured.gpuJoules !== null) {
    joules = measured.gpuJoules;
    source = 'nvidia-smi';
    if (measured.cpuJoules !== null) {
      joules += cpuShare(measured.cpuJoules, job.cpuSeconds, end.machineBusySeconds - start.machineBusySeconds);
      source = 'nvidia-smi+rapl';
    } else estimated = round(estimate);
  } else if (measured.cpuJoules !== null) {
    joules = cpuShare(measured.cpuJoules, job.cpuSeconds, end.machineBusySeconds - start.machineBusySeconds);
    source = 'rapl';
  } else {
    joules = estimate;
    source = 'estimate';
  }
  return { energy_joules: round(joules), avg_power_watts: round(joules / seconds), power_source: source, estimated_cpu_joules: estimated };
}

function cpuShare(packageJoules: number, jobCpu: number, machineBusy: number): number {
  if (machineBusy <= 0) return packageJoules;
  return packageJoules * Math.min(1, jobCpu / machineBusy);
}

const round = (x: number) => Math.round(x * 100) / 100;
