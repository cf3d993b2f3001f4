/**
 * Masters for tests: in-process (real express on loopback, real Temporal) with every answer
 * recorded for the OpenAPI coverage check, or as a child process (so it can be killed).
 */
import path from 'node:path';
import { loadMasterConfig } from '../../api/config';
import { startMaster, type RunningMaster } from '../../api/server';
import { freePort } from '../../lib/dev-server';
import { NodeProcess, launchNode, loopbackMasterEnv, waitForHttp } from '../../lib/launch';
import { createLogger } from '../../lib/logger';
import { cluster } from './cluster';

export const TEST_KEY = 'test-key-0123456789abcdef';
export const OTHER_KEY = 'other-key-0123456789abcdef';

/** Every (method, route template, status) any in-process master answered during the run. */
export const observedResponses = new Set<string>();

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly key: string | undefined = TEST_KEY,
  ) {}

  async request<T = any>(method: string, url: string, opts: { body?: unknown; raw?: string; headers?: Record<string, string>; key?: string | null } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === null ? undefined : (opts.key ?? this.key);
    if (key && !headers.Authorization) headers['X-API-Key'] = key;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + url, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = any>(url: string, opts?: Parameters<ApiClient['request']>[2]) {
    return this.request<T>('GET', url, opts);
  }
  post<T = any>(url: string, body?: unknown, opts?: Parameters<ApiClient['request']>[2]) {
    return this.request<T>('POST', url, { ...opts, body });
  }
  delete<T = any>(url: string, opts?: Parameters<ApiClient['request']>[2]) {
    return this.request<T>('DELETE', url, opts);
  }
}

export interface TestMaster {
  url: string;
  api: ApiClient;
  metricsUrl: string;
  stop(): Promise<void>;
}

export async function masterEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const { server, root } = await cluster();
  return {
    ...loopbackMasterEnv({
      temporalAddress: server.address,
      dataDir: path.join(root, 'data'),
      apiKeys: `${TEST_KEY},${OTHER_KEY}`,
      apiPort: await freePort(),
      metricsPort: await freePort(),
    }),
    FFRTMP_MEDIA_ROOT: path.join(root, 'media'),
    FFRTMP_RUN_WORKFLOWS: 'false',
    FFRTMP_DEFAULT_DURATION_SECONDS: '2',
    FFRTMP_RETRY_BACKOFF_SECONDS: '0.3',
    FFRTMP_WORKER_HEARTBEAT_TIMEOUT_SECONDS: '5',
    FFRTMP_NODE_HEARTBEAT_SECONDS: '1',
    FFRTMP_ALLOW_URL_INPUTS: 'true',
    LOG_LEVEL: 'error',
    ...extra,
  };
}

export async function startTestMaster(extra: Record<string, string> = {}): Promise<TestMaster> {
  const env = await masterEnv(extra);
  const config = loadMasterConfig(env);
  const logger = createLogger('master', { level: env.LOG_LEVEL, format: 'json' });
  const m: RunningMaster = await startMaster(config, logger, {
    onResponse: (method, route, status) => observedResponses.add(`${method} ${route} ${status}`),
  });
  const scheme = config.tls.cert ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${(m.server.address() as { port: number }).port}`;
  return { url, api: new ApiClient(url), metricsUrl: `http://127.0.0.1:${(m.metricsServer.address() as { port: number }).port}/metrics`, stop: () => m.stop() };
}

/** A master started as its own process (so a test can kill it). */
export class MasterProcess extends NodeProcess {
  constructor(
    proc: NodeProcess['proc'],
    readonly url: string,
  ) {
    super('master', proc);
  }
  get api(): ApiClient {
    return new ApiClient(this.url);
  }
  async halt(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (signal === 'SIGTERM') return this.stop();
    this.kill(signal);
    await this.exited;
  }
}

/** A master as its own process: env as given (FFRTMP_RUN_WORKFLOWS defaults to true here). */
export async function spawnMaster(extra: Record<string, string> = {}, opts: { waitReady?: boolean } = {}): Promise<MasterProcess> {
  const env = await masterEnv({ FFRTMP_RUN_WORKFLOWS: 'true', LOG_FORMAT: 'json', ...extra });
  const m = new MasterProcess(launchNode('master', 'api/server.js', env).proc, `http://127.0.0.1:${env.FFRTMP_API_PORT}`);
  if (opts.waitReady !== false) {
    await waitForHttp(`${m.url}/health`, 30_000, () => m.alive).catch((err: Error) => {
      throw new Error(`${err.message}: ${m.logs.join('\n')}`);
    });
  }
  return m;
}

/** Answers the master has given to `method route` (route as its template, e.g. /jobs/:id), any status. */
export async function answersOf(metricsUrl: string, method: string, route: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let n = 0;
  for (const m of text.matchAll(/^ffrtmp_http_request_duration_seconds_count\{([^}]*)\} (\d+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.method === method && labels.route === route) n += Number(m[2]);
  }
  return n;
}
