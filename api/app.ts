/**
 * The master's express app: logging, metrics, authentication, rate limiting, JSON bodies with a
 * size limit, the route table (run by api/route-runner.ts, as the CLI's --via temporal runs it),
 * the web dashboard's files (api/dashboard.ts), and one error format for everything —
 * `{"error": "...", "status": N}` with no stack trace or internal name.
 */
import type { ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { isJobUuid } from '../domain/ids';
import { describeZodError } from '../domain/schemas';
import { ApiError } from '../lib/errors';
import type { Principal } from './auth';
import { dashboardFiles } from './dashboard';
import { Gate, jobOfAnswer, toJson, type GateOptions, type JobLogFields } from './gate';
import { errorAnswer, noSuchRoute, routesOfPath, runRoute, type RouteAnswer } from './route-runner';
import { ROUTES, type RouteContext } from './routes';

export interface AppOptions extends GateOptions {
  ctx: RouteContext;
  bodyLimit: string;
  /** the gate the lean read path shares (one is made when none is given) */
  gate?: Gate;
}

/** The metrics' route label of the dashboard's files. */
export const DASHBOARD_ROUTE = 'dashboard';

declare module 'express-serve-static-core' {
  interface Locals {
    route?: string;
    principal?: Principal;
    job?: JobLogFields;
  }
}

/** An answer on node's own response object (the express app and the lean read path both send this way). */
export function send(res: ServerResponse, answer: RouteAnswer): void {
  if (res.headersSent) return;
  if (answer.stream) return streamEvents(res, answer);
  const body = toJson(answer.body);
  res.writeHead(answer.status, { ...answer.headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Server-sent events: one `event/id/data` block per event, a comment every 15 s to keep proxies open. */
function streamEvents(res: ServerResponse, answer: RouteAnswer): void {
  res.writeHead(answer.status, { ...answer.headers, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
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

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  send(res, errorAnswer(status, message, headers));
}

export function createApp(opts: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('etag', false);
  const gate = opts.gate ?? new Gate(opts);

  app.use((req, res, next) => {
    gate.observe(req, res, () => ({ route: res.locals.route ?? 'unmatched', job: res.locals.job }));
    next();
  });

  const guard = async (req: Request, res: Response, next: NextFunction) => {
    const admission = await gate.admit(req);
    if ('refused' in admission) return send(res, admission.refused);
    res.set(admission.headers);
    res.locals.principal = admission.principal;
    next();
  };

  const jsonBody = express.json({ limit: opts.bodyLimit, strict: false, type: 'application/json' });

  for (const route of ROUTES) {
    const handlers: express.RequestHandler[] = [
      (req, res, next) => {
        // a path a more specific route names is not this one's (GET /nodes/register: 405, not node "register")
        if (!routesOfPath(ROUTES, req.path).includes(route)) return next('route');
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

  // the dashboard's files: not API routes, so not in the table (nor the document), and unauthenticated
  const dashboard = dashboardFiles();
  app.use((req, res, next) => {
    if (!dashboard(req, res)) return next();
    res.locals.route = DASHBOARD_ROUTE;
  });

  // unknown route: 404; a known path with another method: 405 with Allow
  app.use((req, res) => {
    const allowed = [...new Set(routesOfPath(ROUTES, req.path).map((r) => r.method.toUpperCase()))].sort();
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
    opts.logger.error({ err, req: { method: req.method, url: req.originalUrl } }, 'unexpected error');
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
