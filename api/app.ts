/**
 * The master's express app: logging, metrics, authentication, rate limiting, JSON bodies with a
 * size limit, the route table (run by api/route-runner.ts, as the CLI's --via temporal runs it),
 * and one error format for everything — `{"error": "...", "status": N}` with no stack trace or
 * internal name.
 */
import type { TLSSocket } from 'node:tls';
import express, { type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import { z } from 'zod';
import { isJobUuid } from '../domain/ids';
import { describeZodError } from '../domain/schemas';
import { ApiError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { ApiKeyAuth, type Principal } from './auth';
import type { MasterMetrics } from './metrics';
import type { RateLimiter } from './rate-limit';
import { errorAnswer, noSuchRoute, pathPattern, runRoute, type RouteAnswer } from './route-runner';
import { ROUTES, type RouteContext } from './routes';

export interface AppOptions {
  ctx: RouteContext;
  logger: Logger;
  apiKeys: readonly string[];
  noAuth: boolean;
  rateLimiter: RateLimiter | null;
  bodyLimit: string;
  metrics: MasterMetrics;
  /** observes every answer (the OpenAPI coverage test records them) */
  onResponse?: (method: string, route: string, status: number) => void;
}

/** What the request line of an answer about one job carries (null where the answer does not say). */
interface JobLogFields {
  job_id: string;
  attempt: number | null;
  node: string | null;
}

declare module 'express-serve-static-core' {
  interface Locals {
    route?: string;
    principal?: Principal;
    job?: JobLogFields;
  }
}

/** The job an answer is about: a job view names its attempt and node, a logs answer its id. */
function jobOfAnswer(body: unknown): JobLogFields | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { id?: unknown; attempt?: unknown; node_id?: unknown; job_id?: unknown };
  if (typeof b.id === 'string' && typeof b.attempt === 'number' && 'node_id' in b) {
    return { job_id: b.id, attempt: b.attempt, node: typeof b.node_id === 'string' ? b.node_id : null };
  }
  if (typeof b.job_id === 'string') return { job_id: b.job_id, attempt: null, node: null };
  return undefined;
}

function send(res: Response, answer: RouteAnswer): void {
  if (res.headersSent) return;
  if (answer.stream) return streamEvents(res, answer);
  res.status(answer.status).set(answer.headers).json(answer.body);
}

/** Server-sent events: one `event/id/data` block per event, a comment every 15 s to keep proxies open. */
function streamEvents(res: Response, answer: RouteAnswer): void {
  res.status(answer.status).set({ ...answer.headers, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  const iterator = answer.stream![Symbol.asyncIterator]();
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const stop = () => {
    clearInterval(keepAlive);
    void iterator.return?.();
  };
  res.on('close', stop);
  void (async () => {
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        const e = next.value;
        res.write(`event: ${e.event}\n${e.id !== undefined ? `id: ${e.id}\n` : ''}data: ${JSON.stringify(e.data)}\n\n`);
      }
    } finally {
      clearInterval(keepAlive);
      res.end();
    }
  })();
}

function sendError(res: Response, status: number, message: string, headers: Record<string, string> = {}): void {
  send(res, errorAnswer(status, message, headers));
}

/** A client certificate the TLS layer verified against the client CA (mTLS). */
function certificatePrincipal(req: Request): Principal | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  return { id: `cert:${cert.subject.CN ?? cert.fingerprint256.slice(0, 23)}`, via: 'client-certificate' };
}

export function createApp(opts: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('etag', false);
  const auth = new ApiKeyAuth(opts.apiKeys);

  app.use(
    pinoHttp({
      logger: opts.logger,
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug'),
      // a line about one job carries job_id, attempt and node, like the workers' lines
      customSuccessObject: (_req, res, val: object) => ({ ...val, route: (res as Response).locals.route ?? 'unmatched', ...(res as Response).locals.job }),
      customErrorObject: (_req, res, _err, val: object) => ({ ...val, route: (res as Response).locals.route ?? 'unmatched', ...(res as Response).locals.job }),
      serializers: { req: (r: { method: string; url: string }) => ({ method: r.method, url: r.url }), res: (r: { statusCode: number }) => ({ status: r.statusCode }) },
    }),
  );

  // request durations by route template (never the raw path)
  app.use((req, res, next) => {
    const end = opts.metrics.httpDuration.startTimer();
    res.once('finish', () => {
      const route = res.locals.route ?? 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
      opts.onResponse?.(req.method, route, res.statusCode);
    });
    next();
  });

  const guard = async (req: Request, res: Response, next: NextFunction) => {
    const principal = opts.noAuth ? { id: 'anonymous', via: 'none' as const } : (certificatePrincipal(req) ?? auth.check(ApiKeyAuth.presented(req)));
    if (opts.rateLimiter) {
      const key = principal && principal.via !== 'none' ? principal.id : `ip:${req.ip}`;
      const decision = await opts.rateLimiter.take(key);
      res.set('RateLimit-Limit', String(decision.limit)).set('RateLimit-Remaining', String(decision.remaining));
      if (!decision.allowed) {
        opts.metrics.rateLimited.inc({ principal: principal && principal.via !== 'none' ? principal.via : 'address' });
        sendError(res, 429, `rate limit exceeded: ${opts.rateLimiter.burst} requests per ${opts.rateLimiter.windowSeconds} s; retry after ${decision.retryAfterSeconds} s`, {
          'Retry-After': String(decision.retryAfterSeconds),
        });
        return;
      }
    }
    if (!principal) {
      sendError(res, 401, 'missing or invalid API key: send it in X-API-Key (or Authorization: Bearer <key>), or use a client certificate', {
        'WWW-Authenticate': 'Bearer',
      });
      return;
    }
    res.locals.principal = principal;
    next();
  };

  const jsonBody = express.json({ limit: opts.bodyLimit, strict: false, type: 'application/json' });

  for (const route of ROUTES) {
    const handlers: express.RequestHandler[] = [
      (req, res, next) => {
        res.locals.route = route.path;
        // a job named by its uuid: every answer's line carries it, refusals (401, 409, 429…) too
        const ref = req.params.id;
        if (route.path.startsWith('/jobs/:id') && typeof ref === 'string' && isJobUuid(ref)) res.locals.job = { job_id: ref, attempt: null, node: null };
        next();
      },
    ];
    if (route.auth) handlers.push((req, res, next) => void guard(req, res, next).catch(next));
    if (route.body) handlers.push(requireJson(), route.bodyLimit ? express.json({ limit: route.bodyLimit, strict: false, type: 'application/json' }) : jsonBody);
    handlers.push((req, res, next) => {
      const raw = {
        params: req.params as Record<string, string>,
        query: req.query as Record<string, string | string[]>,
        body: req.body as unknown,
        headers: req.headersDistinct,
        principal: res.locals.principal?.id,
      };
      runRoute(route, opts.ctx, raw).then((answer) => {
        const job = jobOfAnswer(answer.body);
        if (job) res.locals.job = job;
        send(res, answer);
      }, next);
    });
    app[route.method](route.path, ...handlers);
  }

  // unknown route: 404; a known path with another method: 405 with Allow
  const patterns = ROUTES.map((r) => ({ re: pathPattern(r.path).re, method: r.method.toUpperCase() }));
  app.use((req, res) => {
    const allowed = [...new Set(patterns.filter((p) => p.re.test(req.path)).map((p) => p.method))].sort();
    if (allowed.length > 0) {
      res.locals.route = 'method-not-allowed';
      sendError(res, 405, `method ${req.method} not allowed on ${req.path}; allowed: ${allowed.join(', ')}`, { Allow: allowed.join(', ') });
    } else {
      send(res, noSuchRoute(req.method, req.path));
    }
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ApiError) return sendError(res, err.status, err.message, err.headers);
    if (err instanceof z.ZodError) return sendError(res, 400, describeZodError(err));
    const e = err as { type?: string; status?: number; message?: string };
    switch (e.type) {
      case 'entity.parse.failed':
        return sendError(res, 400, `malformed JSON body: ${e.message ?? 'parse error'}`);
      case 'entity.too.large':
        return sendError(res, 413, `request body too large (limit ${opts.bodyLimit})`);
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return sendError(res, 415, e.message ?? 'unsupported body encoding');
      case 'request.aborted':
        return sendError(res, 400, 'request aborted');
    }
    req.log?.error({ err }, 'unexpected error');
    return sendError(res, 500, 'internal error');
  });

  return app;
}

/** A body, when sent, is application/json (whether one is required the route runner says). */
function requireJson(): express.RequestHandler {
  return (req, res, next) => {
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if (!hasBody) return next();
    if (!req.is('application/json')) {
      return sendError(res, 415, `request body must be application/json (got ${req.get('content-type') ?? 'no content type'})`);
    }
    next();
  };
}
