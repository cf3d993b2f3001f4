/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas that validate
 * requests (z.toJSONSchema), so the document and the server cannot disagree.
 */
import { z } from 'zod';
import { errorSchema } from '../domain/api-schemas';
import { COMMON_RESPONSES, ROUTES, type RouteSpec } from './routes';

const json = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { io, unrepresentable: 'any' });

/** /jobs/:id → /jobs/{id} */
export function openapiPath(expressPath: string): string {
  return expressPath.replace(/:(\w+)/g, '{$1}');
}

function operation(route: RouteSpec): Record<string, unknown> {
  const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: m[1] === 'id' && route.tag === 'jobs' ? 'job uuid or sequence number' : 'node id',
  }));
  if (route.query) {
    const qs = json(route.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(qs.properties ?? {})) {
      params.push({ name, in: 'query', required: qs.required?.includes(name) ?? false, schema: schema as { type: string }, description: '' });
    }
  }
  for (const [name, h] of Object.entries(route.headers ?? {})) {
    params.push({ name, in: 'header', required: false, schema: json(h.schema, 'input') as { type: string }, description: h.description });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([name, h]) => [name, { description: h.description, schema: json(h.schema, 'output') }]));
    responses[status] = {
      description: r.description,
      ...(r.contentType ? { content: { [r.contentType]: { schema: { type: 'string', description: 'event: <type>\\nid: <id>\\ndata: <JSON>\\n\\n, repeated' } } } } : {}),
      ...(r.schema ? { content: { 'application/json': { schema: json(r.schema, 'output') } } } : {}),
      ...(r.headers ? { headers } : {}),
    };
  }
  const common = route.auth ? COMMON_RESPONSES : { 400: COMMON_RESPONSES[400]!, 429: COMMON_RESPONSES[429]!, 500: COMMON_RESPONSES[500]! };
  for (const [status, description] of Object.entries(common)) {
    if (!responses[status]) responses[status] = { description, content: { 'application/json': { schema: json(errorSchema, 'output') } } };
  }
  return {
    summary: route.summary,
    tags: [route.tag],
    operationId: `${route.method}${route.path.replace(/[/:](\w)/g, (_, c: string) => c.toUpperCase()).replace(/[^A-Za-z]/g, '')}`,
    ...(params.length ? { parameters: params } : {}),
    ...(route.body
      ? { requestBody: { required: !route.bodyOptional, content: { 'application/json': { schema: json(route.body, 'input') } } } }
      : {}),
    ...(route.auth ? {} : { security: [] }),
    responses,
  };
}

export function buildOpenApi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const p = (paths[openapiPath(route.path)] ??= {});
    p[route.method] = operation(route);
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
