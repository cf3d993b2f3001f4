/**
 * `--via temporal`: the master's route table (api/routes.ts), run in this process over a
 * JobService and a NodeService connected straight to Temporal. Validation, handlers and answers
 * are the master's own, so a command behaves the same with the master down — jobs are workflows,
 * and the master keeps no state of its own.
 */
import path from 'node:path';
import querystring from 'node:querystring';
import { noSuchRoute, pathPattern, routesOfPath, runRoute } from '../api/route-runner';
import { ROUTES, type RouteContext } from '../api/routes';
import { DEFAULT_RESOLVE_CONTEXT, type ResolveContext } from '../domain/resolve';
import { notFound } from '../lib/errors';
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

const COMPILED = ROUTES.map((spec) => ({ spec, method: spec.method.toUpperCase(), ...pathPattern(spec.path) }));

/** Runs one request through the route table, as api/app.ts does (api/route-runner.ts). */
export async function dispatch(ctx: RouteContext, method: string, target: string, body?: unknown): Promise<TransportResponse> {
  const url = new URL(target, 'http://in-process');
  const named = routesOfPath(ROUTES, url.pathname);
  const route = COMPILED.find((r) => r.method === method && named.includes(r.spec));
  if (!route) return noSuchRoute(method, url.pathname);
  const m = route.re.exec(url.pathname)!;
  const params = Object.fromEntries(route.params.map((name, i) => [name, decodeURIComponent(m[i + 1]!)]));
  // the query as express's "simple" parser reads it, repeated names included
  const answer = await runRoute(route.spec, ctx, { params, query: querystring.parse(url.search.slice(1)), body, headers: {} });
  // header names as an HTTP answer carries them
  return { ...answer, headers: Object.fromEntries(Object.entries(answer.headers).map(([k, v]) => [k.toLowerCase(), v])) };
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
