/**
 * A real VictoriaMetrics (Debian's `victoria-metrics`) for the observability tests: free port, temp
 * storage, a scrape config derived from deploy/victoriametrics/scrape.yml with the compose targets
 * replaced by this run's processes and a 1 s interval. Queried over its Prometheus HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { freePort } from '../../lib/dev-server';
import { readYaml } from './deploy';
import { waitFor } from './wait';

export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

interface ScrapeFile {
  global?: Record<string, unknown>;
  scrape_configs: ({ job_name: string } & Record<string, unknown>)[];
}

export class VictoriaMetrics {
  private constructor(
    readonly url: string,
    readonly dir: string,
    private readonly proc: ChildProcess,
  ) {}

  /** Starts it scraping the given targets, by the deploy file's job names (jobs without targets here are left out). */
  static async start(targets: Record<string, string[]>): Promise<VictoriaMetrics> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-vm-'));
    const port = await freePort();
    const deploy = readYaml<ScrapeFile>('deploy/victoriametrics/scrape.yml');
    const config: ScrapeFile = {
      global: { ...deploy.global, scrape_interval: '1s', scrape_timeout: '1s' },
      scrape_configs: deploy.scrape_configs
        .filter((c) => targets[c.job_name])
        .map(({ job_name }) => ({ job_name, static_configs: [{ targets: targets[job_name] }] })),
    };
    const missing = Object.keys(targets).filter((j) => !deploy.scrape_configs.some((c) => c.job_name === j));
    if (missing.length) throw new Error(`deploy/victoriametrics/scrape.yml has no job ${missing.join(', ')}`);
    writeFileSync(path.join(dir, 'scrape.yml'), toYaml(config));
    const log = openSync(path.join(dir, 'victoria-metrics.log'), 'a');
    const proc = spawn('victoria-metrics', [
      `-storageDataPath=${path.join(dir, 'data')}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      `-promscrape.config=${path.join(dir, 'scrape.yml')}`,
      // show samples at once (the default hides the last 30 s) and never answer from a cache
      '-search.latencyOffset=0s',
      '-search.disableCache',
      '-loggerLevel=WARN',
    ], { stdio: ['ignore', log, log] });
    const vm = new VictoriaMetrics(`http://127.0.0.1:${port}`, dir, proc);
    await waitFor('VictoriaMetrics to answer /health', async () => {
      if (proc.exitCode !== null) throw new Error(`victoria-metrics exited: ${vm.log()}`);
      return (await fetch(`${vm.url}/health`).catch(() => undefined))?.ok;
    }, { timeoutMs: 30_000 });
    return vm;
  }

  log(): string {
    try {
      return readFileSync(path.join(this.dir, 'victoria-metrics.log'), 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }

  private async api<T>(p: string, params: Record<string, string>): Promise<T> {
    const res = await fetch(`${this.url}${p}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${p} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
    return body.data;
  }

  /** PromQL at this moment (`/api/v1/query`). */
  async query(expr: string): Promise<PromSeries[]> {
    return (await this.api<{ result: PromSeries[] }>('/api/v1/query', { query: expr })).result;
  }

  /** PromQL over a time window, as a dashboard panel asks (`/api/v1/query_range`). */
  async queryRange(expr: string, startMs: number, endMs: number, step = '1s'): Promise<PromSeries[]> {
    return (await this.api<{ result: PromSeries[] }>('/api/v1/query_range', { query: expr, start: String(startMs / 1000), end: String(endMs / 1000), step })).result;
  }

  /** Every metric name stored (`/api/v1/label/__name__/values`). */
  async metricNames(): Promise<string[]> {
    return this.api<string[]>('/api/v1/label/__name__/values', {});
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }
}
