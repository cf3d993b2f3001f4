/**
 * Where a webhook may be sent, and one attempt at sending it. A destination is refused when any
 * address its host resolves to is loopback, private, link-local, shared, multicast or otherwise
 * not a public unicast address (server-side request forgery), unless the host is listed as
 * allowed. The check runs at creation and again at every attempt, and the attempt connects to the
 * very address that was checked (no second lookup a rebinding DNS server could answer otherwise).
 * No redirect is followed, the answer is read up to a bound, and the whole attempt has a deadline.
 */
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

const BLOCKED = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [['::', 128], ['::1', 128], ['fe80::', 10], ['fc00::', 7], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32]] as const) {
  BLOCKED.addSubnet(prefix, bits, 'ipv6');
}

/** Whether an address is one webhooks may not reach by default. */
export function isBlockedAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped ? BLOCKED.check(mapped[1]!, 'ipv4') : BLOCKED.check(address, 'ipv6');
  }
  return true;
}

export interface Destination {
  address: string;
  family: 4 | 6;
}

/** A destination webhooks may not go to; the message names the host, the address and the setting. */
export class DestinationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefused';
  }
}

/** The address to send to, checked; DestinationRefused when the host may not be reached. */
export async function checkDestination(url: URL, allowHosts: readonly string[]): Promise<Destination> {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  let found: { address: string; family: number }[];
  if (net.isIP(host)) found = [{ address: host, family: net.isIP(host) }];
  else {
    try {
      found = await lookup(host, { all: true, verbatim: true });
    } catch (err) {
      throw new DestinationRefused(`${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (found.length === 0) throw new DestinationRefused(`${host} does not resolve`);
  if (!allowHosts.includes(host)) {
    const bad = found.find((a) => isBlockedAddress(a.address));
    if (bad) {
      throw new DestinationRefused(`${host} resolves to ${bad.address}, a loopback, private or link-local address webhooks may not reach (FFRTMP_WEBHOOK_ALLOW_HOSTS lists hosts that may)`);
    }
  }
  return { address: found[0]!.address, family: found[0]!.family === 6 ? 6 : 4 };
}

export interface PostResult {
  status: number;
  latencyMs: number;
}

/** Bytes of an answer read before the connection is dropped: the body is not used. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs a body to the checked address (TLS still checks the certificate of the URL's host). The
 * answer's status once its head arrived and its body (up to the bound) was read; an error that
 * names the cause when the attempt could not be made or exceeded its deadline.
 */
export function postOnce(url: URL, to: Destination, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResult> {
  const started = performance.now();
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve, reject) => {
    const req = client.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      // the address checked above, never another lookup
      lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
        opts?.all ? cb(null, [{ address: to.address, family: to.family }]) : cb(null, to.address, to.family)) as unknown as net.LookupFunction,
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      let read = 0;
      const done = () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, latencyMs: Math.round(performance.now() - started) });
      };
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) {
          done();
          res.destroy();
        }
      });
      res.on('end', done);
      res.on('error', () => done());
    });
    req.end(body);
  });
}
