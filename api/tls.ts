/**
 * HTTPS for the master. Given a certificate and key it serves TLS; given a client CA too, it asks
 * every client for a certificate and verifies it against that CA. A verified certificate OR a valid
 * API key authenticates (the spec's two ways), so the handshake does not reject clients without a
 * certificate — the request is judged in api/app.ts. Misconfiguration refuses to start.
 */
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import tls from 'node:tls';
import { ConfigError } from './config';

export function tlsServerOptions(cfg: { cert?: string; key?: string; clientCa?: string }): https.ServerOptions | null {
  if (!cfg.cert && !cfg.key) {
    if (cfg.clientCa) {
      throw new ConfigError('FFRTMP_TLS_CLIENT_CA is set but TLS is not: set FFRTMP_TLS_CERT and FFRTMP_TLS_KEY too (client certificates need HTTPS)');
    }
    return null;
  }
  if (!cfg.cert || !cfg.key) throw new ConfigError('TLS needs both FFRTMP_TLS_CERT and FFRTMP_TLS_KEY');
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const options: https.ServerOptions = { cert: read('FFRTMP_TLS_CERT', cfg.cert), key: read('FFRTMP_TLS_KEY', cfg.key), minVersion: 'TLSv1.2' };
  if (cfg.clientCa) {
    options.ca = read('FFRTMP_TLS_CLIENT_CA', cfg.clientCa);
    options.requestCert = true;
    options.rejectUnauthorized = false;
  }
  try {
    tls.createSecureContext({ cert: options.cert, key: options.key, ca: options.ca });
  } catch (err) {
    throw new ConfigError(`TLS files do not work together (${(err as Error).message}): check that FFRTMP_TLS_KEY belongs to FFRTMP_TLS_CERT`);
  }
  return options;
}
