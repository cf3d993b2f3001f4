/**
 * What every request to the master passes, whichever way it is served (the express app, or the
 * lean path for the hottest reads, api/fast-reads.ts): authentication (an API key, or a verified
 * client certificate), the rate limit, and afterwards the metrics and the log line of its answer.
 * Plain node:http types, so both paths share one implementation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../lib/logger';
import { ApiKeyAuth, type Principal } from './auth';
import type { MasterMetrics } from './metrics';
import type { RateLimiter } from './rate-limit';
import { errorAnswer, type RouteAnswer } from './route-runner';

/** What the log line of an answer about one job carries (null where the answer does not say). */
export interface JobLogFields {
  job_id: string;
  attempt: number | null;
  node: string | null;
}

export interface GateOptions {
  logger: Logger;
  apiKeys: readonly string[];
  noAuth: boolean;
  rateLimiter: RateLimiter | null;
  metrics: MasterMetrics;
  /** observes every answer (the OpenAPI coverage test records them) */
  onResponse?: (method: string, route: string, status: number) => void;
}

/** A client certificate the TLS layer verified against the client CA (mTLS). */
function certificatePrincipal(req: IncomingMessage): Principal | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  return { id: `cert:${cert.subject.CN ?? cert.fingerprint256.slice(0, 23)}`, via: 'client-certificate' };
}

/** The key a request presents, if any: X-API-Key, or `Authorization: Bearer <key>`. */
function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header) return header.trim();
  const auth = req.headers.authorization;
  const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return m?.[1];
}

export type Admission = { principal: Principal; headers: Record<string, string> } | { refused: RouteAnswer };

export class Gate {
  private readonly auth: ApiKeyAuth;

  constructor(private readonly opts: GateOptions) {
    this.auth = new ApiKeyAuth(opts.apiKeys);
  }

  /** Who asks, within the rate limit; or the answer that refuses them (401, 429). */
  async admit(req: IncomingMessage): Promise<Admission> {
    const { opts } = this;
    const principal = opts.noAuth ? { id: 'anonymous', via: 'none' as const } : (certificatePrincipal(req) ?? this.auth.check(presentedKey(req)));
    const headers: Record<string, string> = {};
    if (opts.rateLimiter) {
      const key = principal && principal.via !== 'none' ? principal.id : `ip:${req.socket.remoteAddress ?? 'unknown'}`;
      const decision = await opts.rateLimiter.take(key);
      headers['RateLimit-Limit'] = String(decision.limit);
      headers['RateLimit-Remaining'] = String(decision.remaining);
      if (!decision.allowed) {
        opts.metrics.rateLimited.inc({ principal: principal && principal.via !== 'none' ? principal.via : 'address' });
        const message = `rate limit exceeded: ${opts.rateLimiter.burst} requests per ${opts.rateLimiter.windowSeconds} s; retry after ${decision.retryAfterSeconds} s`;
        return { refused: errorAnswer(429, message, { ...headers, 'Retry-After': String(decision.retryAfterSeconds) }) };
      }
    }
    if (!principal) {
      return { refused: errorAnswer(401, 'missing or invalid API key: send it in X-API-Key (or Authorization: Bearer <key>), or use a client certificate', { 'WWW-Authenticate': 'Bearer' }) };
    }
    return { principal, headers };
  }

  /**
   * Once the answer is out: its duration by route template (never the raw path), and one log line
   * where one is worth it (4xx warn, 5xx error, the rest debug), with the job it was about.
   * Hand-rolled rather than pino-http, which built a child logger and serialized every request
   * even when nothing was logged: a seventh of the master's time under read load.
   */
  observe(req: IncomingMessage, res: ServerResponse, what: () => { route: string; job?: JobLogFields }): void {
    const started = process.hrtime.bigint();
    // 'close' rather than 'finish': it comes for every answer, also an event stream the client ended
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const { route, job } = what();
      this.opts.metrics.httpDuration.observe({ method: req.method ?? 'GET', route, status: String(res.statusCode) }, seconds);
      this.opts.onResponse?.(req.method ?? 'GET', route, res.statusCode);
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug';
      if (!this.opts.logger.isLevelEnabled(level)) return;
      this.opts.logger[level](
        { req: { method: req.method, url: req.url }, res: { status: res.statusCode }, responseTime: Math.round(seconds * 1000), route, ...job },
        res.statusCode >= 500 ? 'request errored' : 'request completed',
      );
    });
  }
}

/**
 * Bodies serialized once per object: a cached job view is the same object for everyone who reads
 * it within the cache's lifetime, so it is stringified once, not once per reader.
 */
const serialized = new WeakMap<object, string>();

export function toJson(body: unknown): string {
  if (body === null || typeof body !== 'object') return JSON.stringify(body ?? null);
  let text = serialized.get(body);
  if (text === undefined) {
    text = JSON.stringify(body);
    serialized.set(body, text);
  }
  return text;
}

/** The job an answer is about: a job view names its attempt and node, a logs answer its id. */
export function jobOfAnswer(body: unknown): JobLogFields | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { id?: unknown; attempt?: unknown; node_id?: unknown; job_id?: unknown };
  if (typeof b.id === 'string' && typeof b.attempt === 'number' && 'node_id' in b) {
    return { job_id: b.id, attempt: b.attempt, node: typeof b.node_id === 'string' ? b.node_id : null };
  }
  if (typeof b.job_id === 'string') return { job_id: b.job_id, attempt: null, node: null };
  return undefined;
}
