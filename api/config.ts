/**
 * Master settings: one schema, read from the environment. A bad value, or no API key without an
 * explicit "no auth", stops the start with a message that says how to fix it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_RESOLVE_CONTEXT, type ResolveContext } from '../domain/resolve';
import { envBool, envPort, envSeconds, parseEnv } from '../lib/env-config';
import { temporalEnvShape, temporalSettings, type TemporalSettings } from '../lib/temporal';
import { DEFAULT_WORKFLOW_CACHE } from '../workers/orchestration-worker';
import type { WebhookSettings } from '../lib/webhook-send';

const bool = envBool;
const port = envPort;
const positive = envSeconds;

export const masterEnvSchema = z.object({
  ...temporalEnvShape,
  FFRTMP_DATA_DIR: z.string().default(path.resolve('data')),
  FFRTMP_API_HOST: z.string().default('0.0.0.0'),
  FFRTMP_API_PORT: port.default(8080),
  FFRTMP_MASTER_METRICS_PORT: port.default(9090),
  FFRTMP_MASTER_METRICS_HOST: z.string().default('0.0.0.0'),
  /** one key, or several separated by commas (rotation) */
  FFMPEG_RTMP_API_KEY: z.string().optional(),
  /** a file with one key per line (comments with #), read at start */
  FFRTMP_API_KEYS_FILE: z.string().optional(),
  FFRTMP_NO_AUTH: bool.default(false),
  /** the embedded default (scripts/up.sh): create a key in the data folder when none is given */
  FFRTMP_EMBEDDED: bool.default(false),
  FFRTMP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(100),
  FFRTMP_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(20),
  FFRTMP_RATE_LIMIT_DISABLED: bool.default(false),
  FFRTMP_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i).default('64kb'),
  FFRTMP_MEDIA_ROOT: z.string().optional(),
  FFRTMP_ALLOW_URL_INPUTS: bool.default(false),
  FFRTMP_DEFAULT_DURATION_SECONDS: positive.default(10),
  FFRTMP_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  FFRTMP_RETRY_BACKOFF_SECONDS: positive.default(5),
  FFRTMP_RETRY_BACKOFF_MAX_SECONDS: positive.default(300),
  FFRTMP_STALL_TIMEOUT_SECONDS: positive.default(60),
  FFRTMP_WORKER_HEARTBEAT_TIMEOUT_SECONDS: positive.default(15),
  FFRTMP_GPU_WAIT_SECONDS: positive.default(30),
  FFRTMP_NODE_HEARTBEAT_SECONDS: positive.default(10),
  /** run workflow tasks (jobs, nodes, sequence) in the master too */
  FFRTMP_RUN_WORKFLOWS: bool.default(true),
  FFRTMP_WORKFLOW_CACHE_SIZE: z.coerce.number().int().min(0).max(100_000).default(DEFAULT_WORKFLOW_CACHE),
  FFRTMP_TLS_CERT: z.string().optional(),
  FFRTMP_TLS_KEY: z.string().optional(),
  FFRTMP_TLS_CLIENT_CA: z.string().optional(),
  /** the key webhook secrets are derived from (every master the same); default: a key file in the data folder */
  FFRTMP_WEBHOOK_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** hosts webhooks may reach although they resolve to loopback or private addresses, comma-separated */
  FFRTMP_WEBHOOK_ALLOW_HOSTS: z.string().default(''),
  FFRTMP_WEBHOOK_TIMEOUT_SECONDS: positive.max(300).default(10),
  FFRTMP_WEBHOOK_RETRY_BACKOFF_SECONDS: positive.default(5),
  FFRTMP_WEBHOOK_RETRY_BACKOFF_MAX_SECONDS: positive.default(3600),
  FFRTMP_WEBHOOK_GIVE_UP_SECONDS: positive.default(86_400),
  FFRTMP_WEBHOOK_ROTATION_GRACE_SECONDS: positive.default(86_400),
  /** this master delivers webhooks (polls their queue) */
  FFRTMP_WEBHOOK_DELIVERY: bool.default(true),
});

export interface MasterConfig {
  temporal: TemporalSettings;
  dataDir: string;
  host: string;
  port: number;
  metricsHost: string;
  metricsPort: number;
  apiKeys: string[];
  noAuth: boolean;
  /** where the embedded default keeps its generated key (printed at start) */
  generatedKeyFile: string | null;
  rateLimit: { perMinute: number; burst: number; disabled: boolean };
  bodyLimit: string;
  resolve: ResolveContext;
  nodeHeartbeatMs: number;
  runWorkflows: boolean;
  /** workflows the orchestration worker keeps in memory between tasks */
  workflowCacheSize: number;
  tls: { cert?: string; key?: string; clientCa?: string };
  webhooks: WebhookSettings;
}

export class ConfigError extends Error {}

export function loadMasterConfig(env: NodeJS.ProcessEnv = process.env): MasterConfig {
  const e = parseEnv(masterEnvSchema, env, 'master', (m) => new ConfigError(m));
  const dataDir = path.resolve(e.FFRTMP_DATA_DIR);

  const keys = (e.FFMPEG_RTMP_API_KEY ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  if (e.FFRTMP_API_KEYS_FILE) {
    let text: string;
    try {
      text = readFileSync(e.FFRTMP_API_KEYS_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(`FFRTMP_API_KEYS_FILE: cannot read ${e.FFRTMP_API_KEYS_FILE}: ${(err as Error).message}`);
    }
    keys.push(...text.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));
  }
  for (const k of keys) {
    if (k.length < 16) throw new ConfigError('API keys must be at least 16 characters long');
  }
  let generatedKeyFile: string | null = null;
  if (keys.length === 0 && !e.FFRTMP_NO_AUTH) {
    if (!e.FFRTMP_EMBEDDED) {
      throw new ConfigError(
        'no API key configured. Set FFMPEG_RTMP_API_KEY=<key> (several, comma-separated, to rotate), ' +
          'or FFRTMP_API_KEYS_FILE=<file with one key per line>, or FFRTMP_NO_AUTH=true to run without authentication.',
      );
    }
    generatedKeyFile = path.join(dataDir, 'api-key');
    keys.push(embeddedKey(generatedKeyFile));
  }

  const s = (n: number) => Math.round(n * 1000);
  return {
    temporal: configured(() => temporalSettings(e)),
    dataDir,
    host: e.FFRTMP_API_HOST,
    port: e.FFRTMP_API_PORT,
    metricsHost: e.FFRTMP_MASTER_METRICS_HOST,
    metricsPort: e.FFRTMP_MASTER_METRICS_PORT,
    apiKeys: keys,
    noAuth: e.FFRTMP_NO_AUTH && keys.length === 0,
    generatedKeyFile,
    rateLimit: { perMinute: e.FFRTMP_RATE_LIMIT_PER_MINUTE, burst: e.FFRTMP_RATE_LIMIT_BURST, disabled: e.FFRTMP_RATE_LIMIT_DISABLED },
    bodyLimit: e.FFRTMP_BODY_LIMIT,
    resolve: {
      ...DEFAULT_RESOLVE_CONTEXT,
      mediaRoot: path.resolve(e.FFRTMP_MEDIA_ROOT ?? path.join(dataDir, 'media')),
      allowUrlInputs: e.FFRTMP_ALLOW_URL_INPUTS,
      defaultDurationSec: e.FFRTMP_DEFAULT_DURATION_SECONDS,
      policy: {
        maxRetries: e.FFRTMP_MAX_RETRIES,
        retryBackoffMs: s(e.FFRTMP_RETRY_BACKOFF_SECONDS),
        retryBackoffMaxMs: s(e.FFRTMP_RETRY_BACKOFF_MAX_SECONDS),
        stallTimeoutMs: s(e.FFRTMP_STALL_TIMEOUT_SECONDS),
        heartbeatTimeoutMs: s(e.FFRTMP_WORKER_HEARTBEAT_TIMEOUT_SECONDS),
        gpuWaitMs: s(e.FFRTMP_GPU_WAIT_SECONDS),
      },
    },
    nodeHeartbeatMs: s(e.FFRTMP_NODE_HEARTBEAT_SECONDS),
    runWorkflows: e.FFRTMP_RUN_WORKFLOWS,
    workflowCacheSize: e.FFRTMP_WORKFLOW_CACHE_SIZE,
    tls: { cert: e.FFRTMP_TLS_CERT, key: e.FFRTMP_TLS_KEY, clientCa: e.FFRTMP_TLS_CLIENT_CA },
    webhooks: {
      secretKey: lazily(() => e.FFRTMP_WEBHOOK_SECRET_KEY ?? keyFile(path.join(dataDir, 'webhook-key'), 'whkey_')),
      allowHosts: e.FFRTMP_WEBHOOK_ALLOW_HOSTS.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
      policy: {
        backoffMs: s(e.FFRTMP_WEBHOOK_RETRY_BACKOFF_SECONDS),
        backoffMaxMs: s(e.FFRTMP_WEBHOOK_RETRY_BACKOFF_MAX_SECONDS),
        giveUpMs: s(e.FFRTMP_WEBHOOK_GIVE_UP_SECONDS),
        attemptTimeoutMs: s(e.FFRTMP_WEBHOOK_TIMEOUT_SECONDS),
      },
      rotationGraceMs: s(e.FFRTMP_WEBHOOK_ROTATION_GRACE_SECONDS),
      deliver: e.FFRTMP_WEBHOOK_DELIVERY,
    },
  };
}

function configured<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** The embedded default's key: created once (mode 600) in the data folder, then reused. */
function embeddedKey(file: string): string {
  return keyFile(file, 'ffrtmp_');
}

/** A value computed on first use (a key file is written only by a master that needs it). */
function lazily<T>(make: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: make() }).v;
}

/** A random key kept in a file (mode 600), created on first use, then reused. */
function keyFile(file: string, prefix: string): string {
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 16) return key;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const key = `${prefix}${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
