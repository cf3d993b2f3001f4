/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas that validate
 * requests (z.toJSONSchema), so the document and the server cannot disagree.
 */
import { z } from 'zod';
import { errorSchema } from '../domain/api-schemas';
import { inputPattern, type ResolveContext } from '../domain/resolve';
import { INPUT_PATTERN_MARK } from '../domain/schemas';
import { COMMON_RESPONSES, ROUTES, type RouteSpec } from './routes';

/** What the document says that depends on the master's configuration. */
export interface DocumentOptions {
  /** where job inputs may point (the media root; URLs or not): published as the input's pattern */
  inputs?: Pick<ResolveContext, 'mediaRoot' | 'allowUrlInputs'>;
}

const json = (schema: z.ZodType, io: 'input' | 'output', options: DocumentOptions = {}) =>
  z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: (c) => {
      const js = c.jsonSchema as Record<string, unknown>;
      flattenTuple(js);
      if (!js[INPUT_PATTERN_MARK]) return;
      delete js[INPUT_PATTERN_MARK];
      if (options.inputs) js.pattern = inputPattern(options.inputs);
    },
  });

/**
 * A tuple (prefixItems + items: false, valid JSON Schema 2020-12) published as an array of fixed
 * length whose items are any of the positions' schemas: schemathesis (and other OpenAPI tools)
 * still reject prefixItems in response schemas (schemathesis issues #3842, #4099), and a document
 * its tools cannot read helps nobody. The description says what each position holds.
 */
function flattenTuple(js: Record<string, unknown>): void {
  const positions = js.prefixItems as Record<string, unknown>[] | undefined;
  if (!Array.isArray(positions)) return;
  delete js.prefixItems;
  const distinct = [...new Map(positions.map((p) => [JSON.stringify(p), p])).values()];
  js.items = distinct.length === 1 ? distinct[0] : { anyOf: distinct };
  js.minItems = positions.length;
  js.maxItems = positions.length;
}

/** /jobs/:id → /jobs/{id} */
export function openapiPath(expressPath: string): string {
  return expressPath.replace(/:(\w+)/g, '{$1}');
}

function operation(route: RouteSpec, opts: DocumentOptions): Record<string, unknown> {
  const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: m[1] === 'event_id' ? 'event id (the webhook-id header): msg_<job id>_<n>' : m[1] === 'id' && route.tag === 'jobs' ? 'job uuid or sequence number' : route.tag === 'webhooks' ? 'webhook id' : 'node id',
  }));
  if (route.query) {
    const qs = json(route.query, 'input', opts) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(qs.properties ?? {})) {
      params.push({ name, in: 'query', required: qs.required?.includes(name) ?? false, schema: schema as { type: string }, description: '' });
    }
  }
  for (const [name, h] of Object.entries(route.headers ?? {})) {
    params.push({ name, in: 'header', required: false, schema: json(h.schema, 'input', opts) as { type: string }, description: h.description });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([name, h]) => [name, { description: h.description, schema: json(h.schema, 'output') }]));
    const links = r.linksTo ? linksTo(r.linksTo) : undefined;
    responses[status] = {
      description: r.description,
      ...(r.contentType ? { content: { [r.contentType]: { schema: SERVER_EVENT_SCHEMA } } } : {}),
      ...(r.schema ? { content: { 'application/json': { schema: json(r.schema, 'output') } } } : {}),
      ...(r.headers ? { headers } : {}),
      ...(links ? { links } : {}),
    };
  }
  const common = route.auth ? COMMON_RESPONSES : { 400: COMMON_RESPONSES[400]!, 429: COMMON_RESPONSES[429]!, 500: COMMON_RESPONSES[500]! };
  for (const [status, description] of Object.entries(common)) {
    if (!responses[status]) responses[status] = { description, content: { 'application/json': { schema: json(errorSchema, 'output') } } };
  }
  return {
    summary: route.summary,
    tags: [route.tag],
    operationId: operationId(route),
    ...(params.length ? { parameters: params } : {}),
    ...(route.body
      ? { requestBody: { required: !route.bodyOptional, content: { 'application/json': { schema: json(route.body, 'input', opts) } } } }
      : {}),
    ...(route.auth ? {} : { security: [] }),
    responses,
  };
}

const operationId = (route: RouteSpec): string => `${route.method}${route.path.replace(/[/:](\w)/g, (_, c: string) => c.toUpperCase()).replace(/[^A-Za-z]/g, '')}`;

/**
 * OpenAPI links from an answer that names a resource (its `id`) to every JSON route under that
 * resource's path: a client (or a fuzzer's stateful phase) reaches them with a real id.
 */
function linksTo(resourcePath: string): Record<string, unknown> {
  const targets = ROUTES.filter((r) => (r.path === resourcePath || r.path.startsWith(`${resourcePath}/`)) && !Object.values(r.responses).some((x) => x.contentType));
  return Object.fromEntries(
    targets.map((r) => [
      operationId(r).replace(/^./, (c) => c.toUpperCase()),
      { operationId: operationId(r), parameters: { id: '$response.body#/id' }, description: `${r.method.toUpperCase()} ${openapiPath(r.path)} of the answered ${r.tag === 'jobs' ? 'job' : r.tag === 'webhooks' ? 'webhook' : 'node'}` },
    ]),
  );
}

export function buildOpenApi(version: string, opts: DocumentOptions = {}): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const p = (paths[openapiPath(route.path)] ??= {});
    p[route.method] = operation(route, opts);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ffrtmp master API',
      version,
      description:
        'Jobs and nodes of the ffrtmp transcoding cluster. Every error answers {"error": "...", "status": N}. ' +
        'Unknown routes answer 404, a wrong method on a known path 405 (with Allow).',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearer: { type: 'http', scheme: 'bearer' },
        mutualTLS: { type: 'mutualTLS' },
      },
    },
    security: [{ apiKey: [] }, { bearer: [] }, { mutualTLS: [] }],
    paths,
  };
}

/** One server-sent event as a client reads it (api/events.ts): its type, its id, its JSON data. */
const SERVER_EVENT_SCHEMA = {
  type: 'object',
  description: 'each event of the stream: `event: <type>`, `id: <id>`, `data: <JSON>`',
  required: ['event', 'data'],
  properties: {
    event: { type: 'string', enum: ['snapshot', 'state', 'progress', 'end', 'reset'] },
    id: { type: 'string' },
    data: { type: 'string', contentMediaType: 'application/json', description: 'the event as JSON: a job view (snapshot), a transition with the job (state), progress figures, or the end' },
  },
} as const;
