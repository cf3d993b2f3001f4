/**
 * Connections to Temporal, shared by the master, the workers, the CLI and the tests: one set of
 * settings (address, namespace, mutual TLS) read from the same environment variables the
 * `temporal` CLI reads, so an operator sets them once for both.
 */
import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { z } from 'zod';
import { envBool } from './env-config';

export interface TemporalTls {
  /** client certificate and key (mutual TLS); both or neither */
  certPath?: string;
  keyPath?: string;
  /** CA that signed the server's certificate (default: the system's roots) */
  caPath?: string;
  /** name to verify the server certificate against, when it differs from the address's host */
  serverName?: string;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** absent: plain gRPC */
  tls?: TemporalTls;
}

/** The environment variables, in every role's settings schema (names as the `temporal` CLI has them). */
export const temporalEnvShape = {
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TLS: envBool.optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
};

export const TEMPORAL_SETTING_MEANINGS: Readonly<Record<keyof typeof temporalEnvShape, string>> = {
  TEMPORAL_ADDRESS: 'Temporal frontend, host:port (gRPC)',
  TEMPORAL_NAMESPACE: 'Temporal namespace of jobs and nodes',
  TEMPORAL_TLS: 'connect to Temporal over TLS (implied by any TEMPORAL_TLS_* path)',
  TEMPORAL_TLS_CLIENT_CERT_PATH: 'client certificate for Temporal (mutual TLS), PEM',
  TEMPORAL_TLS_CLIENT_KEY_PATH: 'private key of TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'CA that signed the Temporal server\'s certificate (default: the system\'s)',
  TEMPORAL_TLS_SERVER_NAME: 'name the Temporal server\'s certificate is checked against (default: the host of TEMPORAL_ADDRESS)',
};

const temporalEnvSchema = z.object(temporalEnvShape);
type TemporalEnv = z.infer<typeof temporalEnvSchema>;

/** Settings from already-parsed environment values; a half-given client pair is an error that says so. */
export function temporalSettings(e: TemporalEnv): TemporalSettings {
  const paths = { certPath: e.TEMPORAL_TLS_CLIENT_CERT_PATH, keyPath: e.TEMPORAL_TLS_CLIENT_KEY_PATH, caPath: e.TEMPORAL_TLS_SERVER_CA_CERT_PATH, serverName: e.TEMPORAL_TLS_SERVER_NAME };
  if (!paths.certPath !== !paths.keyPath) {
    throw new Error('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both, or neither');
  }
  const wantTls = e.TEMPORAL_TLS ?? Object.values(paths).some(Boolean);
  return { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, ...(wantTls ? { tls: paths } : {}) };
}

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const parsed = temporalEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid Temporal settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return temporalSettings(parsed.data);
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${what}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The SDK's TLS options (client and worker connections take the same shape); false without TLS. */
export function temporalTlsConfig(settings: TemporalSettings): TLSConfig | false {
  const tls = settings.tls;
  if (!tls) return false;
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.caPath ? { serverRootCACertificate: readPem(tls.caPath, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH') } : {}),
    ...(tls.certPath && tls.keyPath
      ? { clientCertPair: { crt: readPem(tls.certPath, 'TEMPORAL_TLS_CLIENT_CERT_PATH'), key: readPem(tls.keyPath, 'TEMPORAL_TLS_CLIENT_KEY_PATH') } }
      : {}),
  };
}

/** What NativeConnection.connect and Connection.connect/lazy both take. */
export function connectionOptions(settings: TemporalSettings): { address: string; tls: TLSConfig | false } {
  return { address: settings.address, tls: temporalTlsConfig(settings) };
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '5s' });
  return new Client({ connection, namespace: settings.namespace });
}
