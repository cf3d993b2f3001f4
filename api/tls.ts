/**
 * HTTPS for the master. Given a certificate and key it serves TLS; given a client CA too, it asks
 * every client for a certificate and verifies it against that CA. A verified certificate OR a valid
 * API key authenticates (the spec's two ways), so the handshake does not reject clients without a
 * certificate — the request is judged in api/app.ts. Misconfiguration refuses to start, with a
 * message that names the variable and the file.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import tls from 'node:tls';
import { ConfigError } from './config';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM file; none is an error (a CA file holding a key, or nothing, would silently fail every client). */
function parseCertificates(what: string, file: string, pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('utf8').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new ConfigError(`${what}: ${file} holds no PEM certificate`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new ConfigError(`${what}: ${file} holds a certificate that cannot be read (${(err as Error).message})`);
    }
  });
}

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

  const [leaf] = parseCertificates('FFRTMP_TLS_CERT', cfg.cert, options.cert as Buffer);
  let key;
  try {
    key = createPrivateKey(options.key as Buffer);
  } catch (err) {
    throw new ConfigError(`FFRTMP_TLS_KEY: ${cfg.key} is not a readable unencrypted PEM private key (${(err as Error).message})`);
  }
  if (!leaf!.checkPrivateKey(key)) {
    throw new ConfigError(`FFRTMP_TLS_KEY (${cfg.key}) does not belong to FFRTMP_TLS_CERT (${cfg.cert}): give the key the certificate was made for`);
  }
  if (Date.parse(leaf!.validTo) < Date.now()) {
    throw new ConfigError(`FFRTMP_TLS_CERT: ${cfg.cert} expired on ${new Date(leaf!.validTo).toISOString()}; make a new one (scripts/generate-certs.sh --force)`);
  }

  if (cfg.clientCa) {
    options.ca = read('FFRTMP_TLS_CLIENT_CA', cfg.clientCa);
    parseCertificates('FFRTMP_TLS_CLIENT_CA', cfg.clientCa, options.ca as Buffer);
    options.requestCert = true;
    options.rejectUnauthorized = false;
  }
  try {
    tls.createSecureContext({ cert: options.cert, key: options.key, ca: options.ca });
  } catch (err) {
    throw new ConfigError(`TLS files do not work together: ${(err as Error).message}`);
  }
  return options;
}
