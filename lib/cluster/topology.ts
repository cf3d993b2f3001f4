/**
 * ffrtmp's production topology on one machine, as real processes on hosts of their own:
 *   db        PostgreSQL (Debian's), a cluster of its own
 *   temporal  the Temporal server (built from go.temporal.io/server), mutual TLS
 *   m1..mM    masters (REST API + orchestration worker: all workflow tasks run here)
 *   w1..wN    worker agents (encode and control queues only)
 * Each host is a network namespace on the topology's bridge (lib/cluster/netns.ts). Used by
 * scripts/cluster.sh (detached processes that outlive it), the fault tests and the soak benchmark
 * (bound processes that die with them). Media and outputs live in one folder every host sees,
 * as a shared volume would be on real machines.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TemporalSettings } from '../temporal';
import { nodeCommand } from '../launch';
import { MASTER_PROCESS_ENV } from '../master-memory';
import { TestNetwork, type Host, type NetworkPlan } from './netns';
import { ensureTemporalRole, postgresService, preparePostgres, waitPostgresReady, type PostgresLayout } from './postgres';
import { Service, type RunMode, type ServiceSpec } from './service';
import { FRONTEND_PORT, runSetupScript, searchAttributesArg, serverService, serverTools, waitServerReady, writeServerConfig, type TemporalServerLayout } from './temporal-server';

export const API_PORT = 8080;
export const MASTER_METRICS_PORT = 9090;
export const WORKER_METRICS_PORT = 9091;

export interface TopologyOptions {
  /** state folder: databases, logs, pid files, certificates, media */
  root: string;
  network: NetworkPlan;
  masters: number;
  workers: number;
  mode: RunMode;
  repoRoot: string;
  /** the `temporal` CLI (setup-namespace.sh runs it) */
  temporalCli: string;
  /** extra environment for every master / worker (test timings) */
  masterEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  say?: (line: string) => void;
}

/** What `up` wrote down, so `down` and `status` (other processes) find everything again. */
interface TopologyState {
  network: NetworkPlan;
  hosts: Host[];
  masters: string[];
  workers: string[];
}

const DB_OCTET = 10;
const TEMPORAL_OCTET = 11;
const MASTER_OCTET = 21;
const WORKER_OCTET = 31;

export class Topology {
  readonly net: TestNetwork;
  readonly services = new Map<string, Service>();
  readonly masters: string[];
  readonly workers: string[];
  private readonly say: (line: string) => void;

  constructor(readonly opts: TopologyOptions) {
    if (opts.masters < 1 || opts.masters > 9) throw new Error('masters: 1..9');
    if (opts.workers < 1 || opts.workers > 29) throw new Error('workers: 1..29');
    this.net = new TestNetwork(opts.network);
    this.masters = Array.from({ length: opts.masters }, (_, i) => `m${i + 1}`);
    this.workers = Array.from({ length: opts.workers }, (_, i) => `w${i + 1}`);
    this.say = opts.say ?? (() => undefined);
  }

  // ------------------------------------------------------------------ layout

  private dir(...parts: string[]): string {
    return path.join(this.opts.root, ...parts);
  }

  get certsDir(): string {
    return this.dir('certs');
  }
  get apiKeyFile(): string {
    return this.dir('api-key');
  }
  get mediaRoot(): string {
    return this.dir('media');
  }
  get outputRoot(): string {
    return this.dir('outputs');
  }
  get apiKey(): string {
    return readFileSync(this.apiKeyFile, 'utf8').trim();
  }

  address(host: string): string {
    return this.net.host(host).address;
  }
  masterUrl(name: string): string {
    return `http://${this.address(name)}:${API_PORT}`;
  }
  workerMetricsUrl(name: string): string {
    return `http://${this.address(name)}:${WORKER_METRICS_PORT}`;
  }
  get temporalAddress(): string {
    return `${this.address('temporal')}:${FRONTEND_PORT}`;
  }

  /** How a client (a test, the CLI, a master) reaches Temporal: mutual TLS with a certificate of ours. */
  temporalSettings(role: 'master' | 'worker' | 'client' = 'client'): TemporalSettings {
    return {
      address: this.temporalAddress,
      namespace: 'default',
      tls: { certPath: path.join(this.certsDir, `${role}.crt`), keyPath: path.join(this.certsDir, `${role}.key`), caPath: path.join(this.certsDir, 'ca.crt'), serverName: 'temporal' },
    };
  }

  temporalEnv(role: 'master' | 'worker' | 'client'): Record<string, string> {
    const s = this.temporalSettings(role);
    return {
      TEMPORAL_ADDRESS: s.address,
      TEMPORAL_NAMESPACE: s.namespace,
      TEMPORAL_TLS_CLIENT_CERT_PATH: s.tls!.certPath!,
      TEMPORAL_TLS_CLIENT_KEY_PATH: s.tls!.keyPath!,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: s.tls!.caPath!,
      TEMPORAL_TLS_SERVER_NAME: s.tls!.serverName!,
    };
  }

  private get pg(): PostgresLayout {
    return { dataDir: this.dir('postgres'), socketDir: this.dir('run', 'pg'), address: this.address('db'), allowedNetwork: `${this.opts.network.subnet}.0/24` };
  }

  private get dbPassword(): string {
    const file = this.dir('secrets', 'db-password');
    if (!existsSync(file)) {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, `${randomBytes(18).toString('hex')}\n`, { mode: 0o600 });
    }
    return readFileSync(file, 'utf8').trim();
  }

  private get server(): TemporalServerLayout {
    return {
      root: this.dir('temporal'),
      address: this.address('temporal'),
      database: { address: this.address('db'), user: 'temporal', password: this.dbPassword },
      tls: { ca: path.join(this.certsDir, 'ca.crt'), cert: path.join(this.certsDir, 'temporal.crt'), key: path.join(this.certsDir, 'temporal.key') },
      dynamicConfig: path.join(this.opts.repoRoot, 'deploy', 'temporal', 'dynamicconfig.yaml'),
    };
  }

  private spec(name: string, netns: string, argv: string[], extra: Partial<ServiceSpec> = {}): ServiceSpec {
    return { name, netns, argv, logFile: this.dir('logs', `${name}.log`), pidFile: this.dir('run', `${name}.pid`), cwd: this.opts.repoRoot, ...extra };
  }

  private nodeEntry(script: string): string[] {
    return nodeCommand(script, path.join(this.opts.repoRoot, 'dist'));
  }

  masterSpec(name: string): ServiceSpec {
    const env: Record<string, string> = {
      ...this.temporalEnv('master'),
      ...MASTER_PROCESS_ENV,
      FFRTMP_DATA_DIR: this.dir('hosts', name),
      FFRTMP_MEDIA_ROOT: this.mediaRoot,
      FFRTMP_API_KEYS_FILE: this.apiKeyFile,
      FFRTMP_API_HOST: this.address(name),
      FFRTMP_API_PORT: String(API_PORT),
      FFRTMP_MASTER_METRICS_HOST: this.address(name),
      FFRTMP_MASTER_METRICS_PORT: String(MASTER_METRICS_PORT),
      FFRTMP_RUN_WORKFLOWS: 'true',
      LOG_FORMAT: 'json',
      ...this.opts.masterEnv,
    };
    return this.spec(name, this.net.host(name).netns, this.nodeEntry('api/server.js'), { env });
  }

  workerSpec(name: string, index: number): ServiceSpec {
    const master = this.masters[index % this.masters.length]!;
    const env: Record<string, string> = {
      ...this.temporalEnv('worker'),
      FFRTMP_DATA_DIR: this.dir('hosts', name),
      FFRTMP_MEDIA_ROOT: this.mediaRoot,
      FFRTMP_OUTPUT_ROOT: this.outputRoot,
      FFRTMP_NODE_NAME: name,
      FFRTMP_NODE_ADDRESS: this.workerMetricsUrl(name),
      FFRTMP_METRICS_HOST: this.address(name),
      FFRTMP_METRICS_PORT: String(WORKER_METRICS_PORT),
      FFRTMP_MASTER_URL: this.masterUrl(master),
      FFRTMP_API_KEY_FILE: this.apiKeyFile,
      FFRTMP_RUN_WORKFLOWS: 'false',
      LOG_FORMAT: 'json',
      ...this.opts.workerEnv,
    };
    return this.spec(name, this.net.host(name).netns, this.nodeEntry('workers/agent.js'), { env });
  }

  service(name: string): Service {
    const s = this.services.get(name);
    if (!s) throw new Error(`no service ${name}`);
    return s;
  }

  // ------------------------------------------------------------------ up / down

  private writeState(): void {
    const hosts = ['db', 'temporal', ...this.masters, ...this.workers].map((h) => this.net.host(h));
    const state: TopologyState = { network: this.opts.network, hosts, masters: this.masters, workers: this.workers };
    writeFileSync(this.dir('state.json'), `${JSON.stringify(state, null, 2)}\n`);
  }

  /** A topology that `up` left running (from its state file), or undefined. */
  static attach(opts: TopologyOptions): Topology | undefined {
    const file = path.join(opts.root, 'state.json');
    if (!existsSync(file)) return undefined;
    const state = JSON.parse(readFileSync(file, 'utf8')) as TopologyState;
    const t = new Topology({ ...opts, network: state.network, masters: state.masters.length, workers: state.workers.length });
    for (const h of state.hosts) t.net.remember(h);
    t.registerServices();
    return t;
  }

  private registerServices(): void {
    this.services.set('postgres', new Service(postgresService(this.pg, this.net.host('db').netns, this.dir('logs', 'postgres.log'), this.dir('run', 'postgres.pid'))));
    const tools = serverTools(this.opts.repoRoot);
    this.services.set('temporal', new Service(serverService(tools, this.server, this.net.host('temporal').netns, this.dir('logs', 'temporal.log'), this.dir('run', 'temporal.pid'))));
    for (const m of this.masters) this.services.set(m, new Service(this.masterSpec(m)));
    this.workers.forEach((w, i) => this.services.set(w, new Service(this.workerSpec(w, i))));
  }

  /** Is any process of it running? */
  get running(): boolean {
    return [...this.services.values()].some((s) => s.alive);
  }

  async up(): Promise<void> {
    const tools = serverTools(this.opts.repoRoot);
    mkdirSync(this.opts.root, { recursive: true });
    // PostgreSQL runs as its own user: it must be able to pass through the state folder
    chmodSync(this.opts.root, statSync(this.opts.root).mode | 0o011);
    for (const d of ['logs', 'run', 'hosts', 'media', 'outputs']) mkdirSync(this.dir(d), { recursive: true });

    this.say(`network: bridge ${this.net.bridge} ${this.opts.network.subnet}.0/24, a namespace per host`);
    await this.net.create();
    await this.net.addHost('db', DB_OCTET);
    await this.net.addHost('temporal', TEMPORAL_OCTET);
    for (const [i, m] of this.masters.entries()) await this.net.addHost(m, MASTER_OCTET + i);
    for (const [i, w] of this.workers.entries()) await this.net.addHost(w, WORKER_OCTET + i);
    this.registerServices();
    this.writeState();

    this.say('certificates: a CA, the Temporal server, masters, workers and the CLI (scripts/generate-certs.sh)');
    await this.generateCerts();
    if (!existsSync(this.apiKeyFile)) writeFileSync(this.apiKeyFile, `ffrtmp_${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });

    this.say(`PostgreSQL on ${this.address('db')}:5432 (data in ${this.pg.dataDir})`);
    await preparePostgres(this.pg);
    await this.startService('postgres');
    await ensureTemporalRole(this.pg, this.dbPassword);

    this.say('Temporal schema: deploy/temporal/setup-schema.sh');
    await runSetupScript(path.join(this.opts.repoRoot, 'deploy', 'temporal', 'setup-schema.sh'), this.net.host('temporal').netns, {
      PATH: `${tools.dir}:${process.env.PATH}`,
      POSTGRES_SEEDS: this.address('db'),
      POSTGRES_USER: 'temporal',
      SQL_PASSWORD: this.dbPassword,
      SCHEMA_DIR: path.join(tools.schemaDir, 'v12'),
    });

    this.say(`Temporal server ${path.basename(tools.dir)} on ${this.temporalAddress} (mutual TLS)`);
    writeServerConfig(this.server);
    await this.startService('temporal');

    this.say('namespace and search attributes: deploy/temporal/setup-namespace.sh');
    await this.setupNamespace();

    for (const m of this.masters) {
      this.say(`master ${m} on ${this.masterUrl(m)}`);
      await this.startService(m);
    }
    for (const w of this.workers) {
      this.say(`worker ${w} on ${this.address(w)}`);
      await this.startService(w);
    }
    await this.waitNodesOnline(this.workers, 120_000);
  }

  private generateCerts(): Promise<void> {
    const script = path.join(this.opts.repoRoot, 'scripts', 'generate-certs.sh');
    const args = [
      script, '--out', this.certsDir,
      '--names', 'ffrtmp-master,localhost', '--ips', this.masters.map((m) => this.address(m)).join(','),
      '--temporal-names', 'temporal', '--temporal-ips', this.address('temporal'),
    ];
    return new Promise((resolve, reject) => {
      execFile('bash', args, { timeout: 60_000 }, (err, _o, stderr) => (err ? reject(new Error(`generate-certs.sh: ${String(stderr).trim()}`)) : resolve()));
    });
  }

  async setupNamespace(): Promise<string> {
    return runSetupScript(path.join(this.opts.repoRoot, 'deploy', 'temporal', 'setup-namespace.sh'), this.net.host('temporal').netns, {
      PATH: `${path.dirname(this.opts.temporalCli)}:${process.env.PATH}`,
      ...this.cliTlsEnv(),
      TEMPORAL_ADDRESS: this.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      NAMESPACE_RETENTION: '3d',
      SEARCH_ATTRIBUTES: searchAttributesArg(),
    });
  }

  /** The `temporal` CLI's TLS variables (the same names ffrtmp reads). */
  cliTlsEnv(): Record<string, string> {
    const { TEMPORAL_ADDRESS: _a, TEMPORAL_NAMESPACE: _n, ...tls } = this.temporalEnv('client');
    return tls;
  }

  /** Starts one service and waits until it is ready for what depends on it. */
  async startService(name: string): Promise<void> {
    const s = this.service(name);
    s.start(this.opts.mode);
    const alive = () => s.alive;
    try {
      if (name === 'postgres') await waitPostgresReady(this.pg, 60_000, alive);
      else if (name === 'temporal') await waitServerReady(this.temporalSettings(), 90_000, alive);
      else if (this.masters.includes(name)) await waitHttp(`${this.masterUrl(name)}/health`, 60_000, alive);
      else await waitHttp(`${this.workerMetricsUrl(name)}/metrics`, 90_000, alive);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ${name} log ---\n${s.logTail()}`);
    }
  }

  /** Waits until the masters list these workers as online. */
  async waitNodesOnline(workers: string[], timeoutMs: number): Promise<void> {
    const want = new Set(workers.map((w) => this.address(w)));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const online = await this.onlineNodeAddresses().catch(() => new Set<string>());
      if ([...want].every((a) => online.has(a))) return;
      if (Date.now() > deadline) throw new Error(`workers not online after ${timeoutMs / 1000} s: ${[...want].filter((a) => !online.has(a)).join(', ')}`);
      await sleep(300);
    }
  }

  async onlineNodeAddresses(): Promise<Set<string>> {
    const res = await fetch(`${this.masterUrl(this.masters[0]!)}/nodes`, { headers: { 'X-API-Key': this.apiKey }, signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { nodes: { address: string; status: string }[] };
    return new Set(body.nodes.filter((n) => n.status === 'online').map((n) => new URL(n.address).hostname));
  }

  /** Stops every process (workers first, PostgreSQL last) and removes the network. */
  async down(): Promise<void> {
    const order = [...this.workers, ...this.masters, 'temporal', 'postgres'];
    for (const name of order) {
      const s = this.services.get(name);
      if (!s) continue;
      if (s.alive) this.say(`stopping ${name} (pid ${s.pid})`);
      await s.stop(name === 'postgres' ? 30_000 : 15_000, name === 'postgres' ? 'SIGINT' : 'SIGTERM');
    }
    this.say(`removing the namespaces and the bridge ${this.net.bridge}`);
    await this.net.destroy();
    rmSync(this.dir('state.json'), { force: true });
  }

  /** Human summary: URLs, key file, hosts, how to run a command on one. */
  summary(): string {
    const lines = [
      'ffrtmp topology is up:',
      ...this.masters.map((m) => `  master ${m}:   ${this.masterUrl(m)}   (metrics http://${this.address(m)}:${MASTER_METRICS_PORT}/metrics)`),
      `  API key:     ${this.apiKeyFile}   (export FFMPEG_RTMP_API_KEY=$(cat ${this.apiKeyFile}))`,
      `  Temporal:    ${this.temporalAddress} (mutual TLS; certificates in ${this.certsDir})`,
      `  PostgreSQL:  ${this.address('db')}:5432`,
      '  hosts:',
      ...['db', 'temporal', ...this.masters, ...this.workers].map((h) => `    ${h.padEnd(9)} ${this.address(h).padEnd(14)} ip netns exec ${this.net.host(h).netns} <command>`),
      `  logs:        ${this.dir('logs')}/<host>.log`,
      `  e.g.:        FFMPEG_RTMP_API_KEY=$(cat ${this.apiKeyFile}) ./bin/ffrtmp --master ${this.masterUrl(this.masters[0]!)} jobs submit --scenario 720p30-h264 --duration 5 --wait`,
      `  temporal:    ${Object.entries(this.cliTlsEnv()).map(([k, v]) => `${k}=${v}`).join(' ')} temporal --address ${this.temporalAddress} workflow list`,
      '  stop:        scripts/cluster.sh down',
    ];
    return lines.join('\n');
  }
}

async function waitHttp(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`the process behind ${url} exited`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status === 200, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}
