/**
 * The one table of master and worker settings in docs/DEPLOYMENT.md, generated from the zod schemas
 * (masterEnvSchema, workerEnvSchema: names, who reads them, defaults) and a meaning per variable.
 *   node dist/scripts/settings-table.js          prints the table
 *   node dist/scripts/settings-table.js --write  puts it into docs/DEPLOYMENT.md between the markers
 * test/integration/deploy-docs.test.ts fails when the doc's table differs from what this prints, or
 * when a schema key has no meaning here (or a meaning has no key), so the table cannot drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { masterEnvSchema } from '../api/config';
import { TEMPORAL_SETTING_MEANINGS } from '../lib/temporal';
import { workerEnvSchema } from '../workers/config';

type Role = 'master' | 'worker';

/**
 * Read straight from process.env, outside the two schemas: logging is set up before the
 * configuration is parsed, and the bundle path is resolved where the bundle is loaded.
 */
export const DIRECT_SETTINGS: Readonly<Record<string, { roles: Role[]; default: string | undefined }>> = {
  LOG_LEVEL: { roles: ['master', 'worker'], default: 'info' },
  LOG_FORMAT: { roles: ['master', 'worker'], default: 'auto' },
  FFRTMP_WORKFLOW_BUNDLE: { roles: ['master', 'worker'], default: undefined },
  // read by the embedded start (lib/dev-server.ts), which runs the dev server beside the master
  TEMPORAL_CLI: { roles: ['master'], default: undefined },
};

/** Defaults computed where the process starts: shown as what they mean, not as this machine's value. */
const COMPUTED_DEFAULTS: Readonly<Record<string, { actual: () => unknown; text: string }>> = {
  FFRTMP_DATA_DIR: { actual: () => path.resolve('data'), text: '`./data` (under the working directory)' },
  FFRTMP_NODE_NAME: { actual: () => os.hostname(), text: 'the host name' },
};

export const MEANINGS: Readonly<Record<string, string>> = {
  ...TEMPORAL_SETTING_MEANINGS,
  TEMPORAL_CLI: 'the embedded start: the `temporal` CLI that runs the dev server (default: the one setup put under `.tools/`, else `temporal` on the PATH)',
  FFRTMP_DATA_DIR: 'data folder: media, outputs, hardware cache, the embedded key',
  FFRTMP_API_HOST: 'address the REST API listens on',
  FFRTMP_API_PORT: 'port of the REST API',
  FFRTMP_MASTER_METRICS_PORT: 'port of the master\'s Prometheus metrics (`/metrics`)',
  FFRTMP_MASTER_METRICS_HOST: 'address the master\'s metrics listen on',
  FFMPEG_RTMP_API_KEY: 'master: accepted API keys (16+ characters; comma-separated to rotate); worker: the key it registers with (the first)',
  FFRTMP_API_KEYS_FILE: 'file with one accepted API key per line (`#` comments), read at start',
  FFRTMP_NO_AUTH: 'run the API without authentication (only when no key is set)',
  FFRTMP_EMBEDDED: 'the embedded start (`scripts/up.sh`): create a key in the data folder when none is given',
  FFRTMP_RATE_LIMIT_PER_MINUTE: 'sustained requests per minute per API key or client certificate (per address without one)',
  FFRTMP_RATE_LIMIT_BURST: 'requests allowed in one window of burst × 60 / rate seconds; more answer 429',
  FFRTMP_RATE_LIMIT_DISABLED: 'turn rate limiting off',
  FFRTMP_BODY_LIMIT: 'largest JSON body accepted (`64kb`, `1mb`)',
  FFRTMP_MEDIA_ROOT: 'folder that file inputs must lie under (default `<data>/media`); master and workers must see the same files',
  FFRTMP_ALLOW_URL_INPUTS: 'accept http(s) URLs as job inputs',
  FFRTMP_DEFAULT_DURATION_SECONDS: 'clip length of a job that gives none',
  FFRTMP_MAX_RETRIES: 'automatic retries of a failed or timed-out job',
  FFRTMP_RETRY_BACKOFF_SECONDS: 'first retry delay; doubles with each retry',
  FFRTMP_RETRY_BACKOFF_MAX_SECONDS: 'longest retry delay',
  FFRTMP_STALL_TIMEOUT_SECONDS: 'an encoder without progress this long (paused time excluded) is killed and the attempt times out',
  FFRTMP_WORKER_HEARTBEAT_TIMEOUT_SECONDS: 'an attempt whose worker stops heartbeating this long fails and runs again elsewhere',
  FFRTMP_GPU_WAIT_SECONDS: 'how long a GPU attempt that may fall back waits for a GPU worker to take it before the job moves to the CPU (and engine=gstreamer waits for a GStreamer worker)',
  FFRTMP_NODE_HEARTBEAT_SECONDS: 'node heartbeat interval the master expects; a node silent for 3 intervals is offline',
  FFRTMP_RUN_WORKFLOWS: 'also run workflow tasks (jobs, nodes, sequence) on the orchestration queue in this process',
  FFRTMP_WORKFLOW_CACHE_SIZE: 'workflows the orchestration worker keeps in memory between their tasks (its sticky cache; replayed when evicted)',
  FFRTMP_TLS_CERT: 'master: certificate to serve HTTPS with; worker: client certificate for the master (mTLS)',
  FFRTMP_TLS_KEY: 'private key of FFRTMP_TLS_CERT',
  FFRTMP_TLS_CLIENT_CA: 'CA that signs client certificates; set, clients may authenticate with one (mTLS)',
  FFRTMP_WEBHOOK_SECRET_KEY: 'the key webhook signing secrets are derived from (32+ characters; every master the same); default: `<data>/webhook-key`, created on first use',
  FFRTMP_WEBHOOK_ALLOW_HOSTS: 'hosts webhooks may reach although they resolve to loopback, private or link-local addresses (comma-separated, e.g. `hooks.internal,127.0.0.1`)',
  FFRTMP_WEBHOOK_TIMEOUT_SECONDS: 'one webhook attempt\'s limit: connect, send, answer',
  FFRTMP_WEBHOOK_RETRY_BACKOFF_SECONDS: 'wait before a webhook\'s second attempt; doubles with each failed one',
  FFRTMP_WEBHOOK_RETRY_BACKOFF_MAX_SECONDS: 'longest wait between webhook attempts',
  FFRTMP_WEBHOOK_GIVE_UP_SECONDS: 'a webhook delivery not made this long after its first attempt is marked failed',
  FFRTMP_WEBHOOK_ROTATION_GRACE_SECONDS: 'after a secret rotation, how long deliveries carry the old secret\'s signature too (default of `grace_seconds`)',
  FFRTMP_WEBHOOK_DELIVERY: 'this master makes webhook deliveries (polls the webhook queue)',
  FFRTMP_OUTPUT_ROOT: 'where outputs are written, `<root>/<job id>/` (default `<data>/outputs`)',
  FFRTMP_NODE_NAME: 'the node\'s display name',
  FFRTMP_NODE_ADDRESS: 'how the master and scrapers reach this node (default `http://<host name>:<metrics port>`); the node id derives from it',
  FFRTMP_METRICS_PORT: 'port of the worker\'s Prometheus metrics (`/metrics`, `/health`)',
  FFRTMP_METRICS_HOST: 'address the worker\'s metrics listen on',
  FFRTMP_CPU_SLOTS: 'concurrent CPU (and GStreamer) encodes (default: one per 4 threads)',
  FFRTMP_ENCODER_CPUS: 'pin every encoder of this node to these CPUs (`taskset -c` list: `0`, `0-3`, `0,2,4-7`; checked against the CPUs the machine has)',
  FFRTMP_ENCODER_THREADS: "the encoder's thread count (FFmpeg `-threads`; default: the encoder's own choice)",
  FFRTMP_GPU_SLOTS: 'concurrent GPU encodes (default: 3 per NVIDIA GPU, 2 per QSV/VAAPI device)',
  FFRTMP_REDETECT: 'detect the hardware again instead of reading the cached profile',
  FFRTMP_SIMULATE_CAPABILITIES: 'capabilities declared without hardware, for routing tests (comma-separated; shown as simulated)',
  FFRTMP_CAPABILITIES: 'poll only these encode queues (comma-separated; default: every capability the node has)',
  FFRTMP_MASTER_URL: 'the master\'s URL; set, the node registers, heartbeats and obeys drain',
  FFRTMP_API_KEY_FILE: 'file holding the API key (first line), instead of FFMPEG_RTMP_API_KEY',
  FFRTMP_EXIT_ON_DRAIN: 'exit once drained (for supervisors that then stop the machine)',
  FFRTMP_TLS_CA: 'CA to verify the master\'s HTTPS certificate with',
  FFRTMP_HEARTBEAT_INTERVAL_SECONDS: 'how often the node heartbeats to the master',
  FFRTMP_SHUTDOWN_GRACE_SECONDS: 'on SIGTERM, how long running encodes may finish before they are killed (and retried elsewhere)',
  FFRTMP_PROGRESS_INTERVAL_MS: 'progress heartbeat interval of a running encode; also bounds cancel latency',
  FFMPEG_PATH: 'ffmpeg binary',
  FFPROBE_PATH: 'ffprobe binary',
  GST_LAUNCH_PATH: 'gst-launch-1.0 binary',
  LOG_LEVEL: 'log level: trace, debug, info, warn, error, fatal',
  LOG_FORMAT: '`json` (one JSON object a line), `pretty` (human-readable), or `auto`: pretty on a terminal, JSON otherwise',
  FFRTMP_WORKFLOW_BUNDLE: 'prebuilt workflow bundle to load (default `dist/workflow-bundle.js`)',
};

export interface Setting {
  name: string;
  roles: Role[];
  /** markdown text of the default ("—" when unset) */
  default: string;
  meaning: string;
}

function defaultOf(name: string, schema: z.ZodType): string | undefined {
  const def = (schema as unknown as { _zod: { def: { type: string; defaultValue?: unknown } } })._zod.def;
  if (def.type !== 'default') return undefined;
  const value = def.defaultValue;
  const computed = COMPUTED_DEFAULTS[name];
  if (computed) {
    if (JSON.stringify(value) !== JSON.stringify(computed.actual())) throw new Error(`${name}: the default is no longer what COMPUTED_DEFAULTS says`);
    return computed.text;
  }
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : `\`${value.join(',')}\``;
  return `\`${String(value)}\``;
}

/** Every setting of the master and the worker, in schema order (master first), direct reads last. */
export function settings(): Setting[] {
  const rows = new Map<string, { roles: Role[]; defaults: Map<Role, string | undefined> }>();
  const add = (role: Role, name: string, dflt: string | undefined) => {
    const row = rows.get(name) ?? { roles: [] as Role[], defaults: new Map<Role, string | undefined>() };
    row.roles.push(role);
    row.defaults.set(role, dflt);
    rows.set(name, row);
  };
  for (const [name, s] of Object.entries(masterEnvSchema.shape)) add('master', name, defaultOf(name, s as z.ZodType));
  for (const [name, s] of Object.entries(workerEnvSchema.shape)) add('worker', name, defaultOf(name, s as z.ZodType));
  for (const [name, d] of Object.entries(DIRECT_SETTINGS)) for (const role of d.roles) add(role, name, d.default === undefined ? undefined : `\`${d.default}\``);

  const missing = [...rows.keys()].filter((n) => !MEANINGS[n]);
  const stale = Object.keys(MEANINGS).filter((n) => !rows.has(n));
  if (missing.length || stale.length) {
    throw new Error(`settings-table: ${missing.length ? `no meaning for ${missing.join(', ')}` : ''}${missing.length && stale.length ? '; ' : ''}${stale.length ? `meanings of settings that no longer exist: ${stale.join(', ')}` : ''}`);
  }
  return [...rows].map(([name, row]) => {
    const distinct = [...new Set(row.defaults.values())];
    const text = (d: string | undefined) => d ?? '—';
    const dflt = distinct.length === 1 ? text(distinct[0]) : row.roles.map((r) => `${r}: ${text(row.defaults.get(r))}`).join('; ');
    return { name, roles: row.roles, default: dflt, meaning: MEANINGS[name]! };
  });
}

export function settingsTable(): string {
  const lines = ['| Variable | Read by | Default | Meaning |', '| --- | --- | --- | --- |'];
  for (const s of settings()) lines.push(`| \`${s.name}\` | ${s.roles.join(', ')} | ${s.default} | ${s.meaning.replace(/\|/g, '\\|')} |`);
  return `${lines.join('\n')}\n`;
}

export const TABLE_START = '<!-- settings-table:start (generated by scripts/settings-table.ts; do not edit by hand) -->';
export const TABLE_END = '<!-- settings-table:end -->';

/** The doc with its table replaced by the generated one. */
export function withTable(doc: string): string {
  const a = doc.indexOf(TABLE_START);
  const b = doc.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error('the settings-table markers are missing');
  return `${doc.slice(0, a + TABLE_START.length)}\n${settingsTable()}${doc.slice(b)}`;
}

if (require.main === module) {
  if (process.argv.includes('--write')) {
    const file = path.resolve(__dirname, '..', '..', 'docs', 'DEPLOYMENT.md');
    writeFileSync(file, withTable(readFileSync(file, 'utf8')));
    console.log(`wrote the settings table into ${file}`);
  } else {
    process.stdout.write(settingsTable());
  }
}
