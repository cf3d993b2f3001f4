/**
 * One request through one route of the table (api/routes.ts), for both front doors: the express
 * app and the CLI's `--via temporal`. It validates the query and the body with the route's zod
 * schemas, runs the handler, and answers what it refuses in the API's error format
 * (`{"error": "...", "status": N}`), so both answer a request alike. What belongs to HTTP —
 * authentication, rate limits, body size and content type, 405 with Allow — stays in api/app.ts.
 * No express here: the CLI loads this without it.
 */
import { z } from 'zod';
import { describeZodError } from '../domain/schemas';
import { ApiError } from '../lib/errors';
import type { RouteContext, RouteRequest, RouteResult, RouteSpec } from './routes';

/** A request as it arrived, before validation. */
export interface RawRequest {
  /** path parameters, decoded */
  params: Record<string, string>;
  /** the query string as `querystring.parse` reads it (express's "simple" parser) */
  query: Record<string, string | string[] | undefined>;
  /** the parsed JSON body; undefined when none was sent */
  body: unknown;
  /** request headers by lower-case name, each with every value sent */
  headers: RouteRequest['headers'];
  /** who asked, as authentication found; anonymous where nothing authenticates */
  principal?: string;
}

export interface RouteAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** server-sent events instead of a JSON body */
  stream?: RouteResult['stream'];
}

export const errorAnswer = (status: number, message: string, headers: Record<string, string> = {}): RouteAnswer => ({
  status,
  body: { error: message, status },
  headers,
});

/** The answer for a method and path no route has. */
export const noSuchRoute = (method: string, path: string): RouteAnswer => errorAnswer(404, `no such route: ${method} ${path.slice(0, 200)}`);

/** A route's path as a pattern (`:name` matches one segment; a trailing slash is allowed, as in express). */
export function pathPattern(path: string): { re: RegExp; params: string[] } {
  const params: string[] = [];
  const source = path.replace(/:(\w+)/g, (_m, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { re: new RegExp(`^${source}/?$`), params };
}

const compiled = new Map<string, RegExp>();
const compiledPattern = (routePath: string): RegExp => {
  let re = compiled.get(routePath);
  if (!re) compiled.set(routePath, (re = pathPattern(routePath).re));
  return re;
};

/** A path's segments as a route names them: literal (2) or parameter (1). */
const shapeOf = (routePath: string): number[] => routePath.split('/').filter(Boolean).map((seg) => (seg.startsWith(':') ? 1 : 2));

/**
 * The routes a request path names: of those whose pattern matches it, the most specific — a
 * literal segment outranks a parameter, so /nodes/register is not a node called "register" and
 * /jobs/batch not a job called "batch". Their methods are the path's methods (405's Allow).
 */
export function routesOfPath<T extends { path: string }>(routes: readonly T[], requestPath: string): T[] {
  const matching = routes.filter((r) => compiledPattern(r.path).test(requestPath));
  const rank = (r: T) => shapeOf(r.path);
  const best = matching.reduce<number[] | undefined>((acc, r) => {
    const shape = rank(r);
    if (!acc) return shape;
    for (let i = 0; i < Math.max(acc.length, shape.length); i++) {
      if ((shape[i] ?? 0) !== (acc[i] ?? 0)) return (shape[i] ?? 0) > (acc[i] ?? 0) ? shape : acc;
    }
    return acc;
  }, undefined);
  return best ? matching.filter((r) => rank(r).join() === best.join()) : [];
}

/** Validates the request against the route's schemas and runs its handler. Errors other than refusals propagate. */
export async function runRoute(route: RouteSpec, ctx: RouteContext, raw: RawRequest): Promise<RouteAnswer> {
  let result: RouteResult;
  try {
    result = await route.handler({ params: raw.params, headers: raw.headers, principal: raw.principal ?? 'anonymous', ...validate(route, raw) }, ctx);
  } catch (err) {
    if (err instanceof ApiError) return errorAnswer(err.status, err.message, err.headers);
    if (err instanceof z.ZodError) return errorAnswer(400, describeZodError(err));
    throw err;
  }
  return { status: result.status, body: result.body, headers: result.headers ?? {}, ...(result.stream ? { stream: result.stream } : {}) };
}

function validate(route: RouteSpec, raw: RawRequest): { body: unknown; query: unknown } {
  let body: unknown;
  if (route.body && raw.body === undefined) {
    if (!route.bodyOptional) throw new ApiError(400, 'a JSON body is required');
  } else if (route.body) {
    if (raw.body === null || typeof raw.body !== 'object' || Array.isArray(raw.body)) throw new ApiError(400, 'the JSON body must be an object');
    body = route.body.parse(raw.body);
  }
  const names = Object.keys(raw.query);
  if (route.query) return { body, query: route.query.parse(raw.query) };
  if (names.length > 0) throw new ApiError(400, `unknown query parameter${names.length > 1 ? 's' : ''}: ${names.join(', ')}`);
  return { body, query: undefined };
}
