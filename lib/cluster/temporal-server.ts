/**
 * The Temporal server itself (not `start-dev`) for the topology: built from the Go module
 * go.temporal.io/server at the version pinned in deploy/temporal/versions.env (scripts/lib/setup.sh
 * builds it once into .tools/), on PostgreSQL, with mutual TLS on its frontend and between its
 * own services. Its schema and namespace come from deploy/temporal/setup-schema.sh and
 * setup-namespace.sh — the scripts the compose stack runs — and its dynamic config from
 * deploy/temporal/dynamicconfig.yaml.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import YAML from 'yaml';
import { searchAttributeDefinitions } from '../../domain/search-attributes';
import { connectionOptions, type TemporalSettings } from '../temporal';
import { PG_PORT } from './postgres';
import type { ServiceSpec } from './service';

export const FRONTEND_PORT = 7233;

/** The pinned server version (one place: deploy/temporal/versions.env; the compose images name it too). */
export function pinnedServerVersion(repoRoot: string): string {
  const text = readFileSync(path.join(repoRoot, 'deploy', 'temporal', 'versions.env'), 'utf8');
  const m = /^TEMPORAL_SERVER_VERSION=(\S+)$/m.exec(text);
  if (!m) throw new Error('deploy/temporal/versions.env has no TEMPORAL_SERVER_VERSION');
  return m[1]!;
}

export interface ServerTools {
  dir: string;
  server: string;
  sqlTool: string;
  /** the module's schema/postgresql folder */
  schemaDir: string;
}

/** Where setup.sh put the build (FFRTMP_TEMPORAL_SERVER_DIR overrides). */
export function serverTools(repoRoot: string, env: NodeJS.ProcessEnv = process.env): ServerTools {
  const dir = env.FFRTMP_TEMPORAL_SERVER_DIR ?? path.join(repoRoot, '.tools', `temporal-server-${pinnedServerVersion(repoRoot)}`);
  const tools = { dir, server: path.join(dir, 'temporal-server'), sqlTool: path.join(dir, 'temporal-sql-tool'), schemaDir: path.join(dir, 'schema-postgresql') };
  for (const p of [tools.server, tools.sqlTool, tools.schemaDir]) {
    if (!existsSync(p)) throw new Error(`${p} is missing: build the Temporal server first (scripts/cluster.sh builds it into .tools/)`);
  }
  return tools;
}

export interface ServerTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface TemporalServerLayout {
  /** --root of the server: config/ goes below it */
  root: string;
  address: string;
  database: { address: string; user: string; password: string };
  tls: ServerTlsFiles;
  /** deploy/temporal/dynamicconfig.yaml */
  dynamicConfig: string;
  numHistoryShards?: number;
}

/** The server's static config, in the shape of the module's config/development-postgres12.yaml. */
export function serverConfig(l: TemporalServerLayout): Record<string, unknown> {
  const sql = (databaseName: string, conns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${l.database.address}:${PG_PORT}`,
      connectProtocol: 'tcp',
      user: l.database.user,
      password: l.database.password,
      maxConns: conns,
      maxIdleConns: conns,
      maxConnLifetime: '1h',
    },
  });
  // one certificate for the frontend and for internode traffic; the internal worker presents it
  // as its client certificate, so every connection into the server is mutually authenticated
  const server = { requireClientAuth: true, certFile: l.tls.cert, keyFile: l.tls.key, clientCaFiles: [l.tls.ca] };
  const client = { serverName: 'temporal', rootCaFiles: [l.tls.ca] };
  const rpc = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: l.address, ...(httpPort ? { httpPort } : {}) },
  });
  return {
    log: { stdout: true, level: 'warn', format: 'json' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: l.numHistoryShards ?? 4,
      datastores: { 'postgres-default': sql('temporal', 20), 'postgres-visibility': sql('temporal_visibility', 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: l.address },
      tls: { internode: { server, client }, frontend: { server, client } },
    },
    services: {
      frontend: rpc(FRONTEND_PORT, 6933, 7243),
      matching: rpc(7235, 6935),
      history: rpc(7234, 6934),
      worker: rpc(7239, 6939),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${l.address}:${FRONTEND_PORT}`, httpAddress: `${l.address}:7243` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: l.dynamicConfig, pollInterval: '10s' },
  };
}

export function writeServerConfig(l: TemporalServerLayout): void {
  mkdirSync(path.join(l.root, 'config'), { recursive: true });
  writeFileSync(path.join(l.root, 'config', 'production.yaml'), YAML.stringify(serverConfig(l)), { mode: 0o600 });
}

export function serverService(tools: ServerTools, l: TemporalServerLayout, netns: string, logFile: string, pidFile: string): ServiceSpec {
  return {
    name: 'temporal',
    netns,
    logFile,
    pidFile,
    argv: [tools.server, '--root', l.root, '--config', 'config', '--env', 'production', '--allow-no-auth', 'start'],
  };
}

/** Runs one of deploy/temporal's setup scripts inside a host, as the compose stack's one-shots do. */
export function runSetupScript(script: string, netns: string, env: Record<string, string>, timeoutMs = 240_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', netns, '/bin/sh', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err) reject(new Error(`${path.basename(script)} failed: ${output.trim().split('\n').slice(-8).join('\n') || err.message}`));
      else resolve(output);
    });
  });
}

/** The SEARCH_ATTRIBUTES value setup-namespace.sh takes (from the one list in domain/). */
export function searchAttributesArg(): string {
  return searchAttributeDefinitions()
    .map((sa) => `${sa.name}=${sa.type}`)
    .join(' ');
}

/** Waits until the frontend answers over mutual TLS. */
export async function waitServerReady(settings: TemporalSettings, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!alive()) throw new Error('the Temporal server exited at start');
    try {
      const conn = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '2s' });
      try {
        await conn.workflowService.getSystemInfo({});
      } finally {
        await conn.close();
      }
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`the Temporal server did not answer at ${settings.address} within ${timeoutMs / 1000} s: ${last}`);
    await sleep(300);
  }
}
