/**
 * `--via temporal`: the master's route table (api/routes.ts), run in this process over a
 * JobService and a NodeService connected straight to Temporal. Validation, handlers and answers
 * are the master's own, so a command behaves the same with the master down — jobs are workflows,
 * and the master keeps no state of its own.
 */
import path from 'node:path';
import type { Request } from 'express';
import { z } from 'zod';
import { ROUTES, type RouteContext, type RouteSpec } from '../api/routes';
import { DEFAULT_RESOLVE_CONTEXT, type ResolveContext } from '../domain/resolve';
import { describeZodError } from '../domain/schemas';
import { ApiError, notFound } from '../lib/errors';
import { JobService } from '../lib/job-service';
import { NodeService } from '../lib/node-service';
import { connectClient, type TemporalSettings } from '../lib/temporal';
import type { Transport, TransportResponse } from './client';
import { CliError, EXIT } from './exit-codes';

/** Node heartbeat interval handed to NodeService; it matters only for registration, which the CLI never does. */
const NODE_HEARTBEAT_MS = 10_000;

/**
 * How a job submitted here is resolved: the built-in defaults, with the media root where the
 * master and the workers look by default (FFRTMP_MEDIA_ROOT, else <FFRTMP_DATA_DIR or ./data>/media).
 */
export function cliResolveContext(env: NodeJS.ProcessEnv): ResolveContext {
  const dataDir = path.resolve(env.FFRTMP_DATA_DIR ?? 'data');
  return { ...DEFAULT_RESOLVE_CONTEXT, mediaRoot: path.resolve(env.FFRTMP_MEDIA_ROOT ?? path.join(dataDir, 'media')) };
}

interface CompiledRoute {
  spec: RouteSpec;
  method: string;
  pattern: RegExp;
  params: string[];
}

const COMPILED: CompiledRoute[] = ROUTES.map((spec) => {
  const params: string[] = [];
  const source = spec.path.replace(/:(\w+)/g, (_m, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { spec, method: spec.method.toUpperCase(), pattern: new RegExp(`^${source}/?$`), params };
});

/** Runs one request through the route table: the same validation and handlers as api/app.ts. */
export async function dispatch(ctx: RouteContext, method: string, target: string, body?: unknown): Promise<TransportResponse> {
  const url = new URL(target, 'http://in-process');
  const answer = (status: number, b: unknown): TransportResponse => ({ status, body: b, headers: {} });
  const route = COMPILED.find((r) => r.method === method && r.pattern.test(url.pathname));
  if (!route) return answer(404, { error: `no such route: ${method} ${url.pathname}`, status: 404 });
  const m = route.pattern.exec(url.pathname)!;
  const params = Object.fromEntries(route.params.map((name, i) => [name, decodeURIComponent(m[i + 1]!)]));
  try {
    const input: { body: unknown; query: unknown } = { body: undefined, query: undefined };
    if (route.spec.body && body !== undefined) input.body = route.spec.body.parse(body);
    else if (route.spec.body && !route.spec.bodyOptional) throw new ApiError(400, 'a JSON body is required');
    const query = Object.fromEntries(url.searchParams);
    if (route.spec.query) input.query = route.spec.query.parse(query);
    else if (Object.keys(query).length > 0) throw new ApiError(400, `unknown query parameters: ${Object.keys(query).join(', ')}`);
    // handlers read nothing from the request but its path parameters
    const result = await route.spec.handler({ params } as unknown as Request, ctx, input);
    return answer(result.status, result.body);
  } catch (err) {
    if (err instanceof ApiError) return answer(err.status, { error: err.message, status: err.status });
    if (err instanceof z.ZodError) return answer(400, { error: describeZodError(err), status: 400 });
    throw err;
  }
}

export async function openTemporalTransport(settings: TemporalSettings, env: NodeJS.ProcessEnv): Promise<Transport> {
  const target = `Temporal at ${settings.address} (namespace ${settings.namespace})`;
  let client;
  try {
    client = await connectClient(settings);
  } catch (err) {
    throw new CliError(`cannot reach ${target}: ${(err as Error).message.split('\n')[0]}`, EXIT.unavailable);
  }
  const ctx: RouteContext = {
    jobs: new JobService(client, cliResolveContext(env)),
    nodes: new NodeService(client, NODE_HEARTBEAT_MS),
    health: async () =>
      client.workflowService.getSystemInfo({}).then(
        () => ({ status: 'ok' as const, temporal: 'ok' as const }),
        () => ({ status: 'degraded' as const, temporal: 'unreachable' as const }),
      ),
    openapi: () => {
      throw notFound('the OpenAPI document is served by the master only');
    },
  };
  return {
    target,
    async send(method, p, body) {
      try {
        return await dispatch(ctx, method, p, body);
      } catch (err) {
        throw new CliError(`${target}: ${(err as Error).message}`, EXIT.unavailable);
      }
    },
    close: () => client.connection.close(),
  };
}
