/**
 * What the page builds its forms from: the master's own OpenAPI document, generated from the
 * schemas the API validates with (api/openapi.ts). A filter or a field the API learns appears here
 * without a change to the page. Read once per page load.
 */
import { api } from './api.js';
import type { OpenApi, Schema } from './types.js';

let doc: Promise<OpenApi> | undefined;

function openapi(): Promise<OpenApi> {
  doc ??= api<OpenApi>('GET', '/openapi.json').catch((err: unknown) => {
    doc = undefined; // a failed read is asked again next time
    throw err;
  });
  return doc;
}

/** The choices of GET /jobs's enumerated filters (status, queue, priority), by name. */
export async function listFilters(): Promise<Map<string, string[]>> {
  const params = (await openapi()).paths['/jobs']?.get?.parameters ?? [];
  return new Map(params.filter((p) => p.in === 'query' && p.schema.enum).map((p) => [p.name, p.schema.enum!]));
}

/** The body POST /jobs takes. */
export async function jobRequestSchema(): Promise<Schema> {
  const schema = (await openapi()).paths['/jobs']?.post?.requestBody?.content['application/json']?.schema;
  if (!schema?.properties) throw new Error('the master\'s document describes no job request');
  return schema;
}
