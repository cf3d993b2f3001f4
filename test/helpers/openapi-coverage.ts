/** Checks answers seen against the OpenAPI document: every (route, status) must be documented. */
import { buildOpenApi, openapiPath } from '../../api/openapi';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

/** "GET /jobs/:id 200" entries that the document does not describe (global 404/405 are documented in info). */
export function undocumented(observed: Iterable<string>): string[] {
  const doc = buildOpenApi('test') as unknown as Doc;
  const missing: string[] = [];
  for (const entry of observed) {
    const [method, route, status] = entry.split(' ') as [string, string, string];
    if (route === 'unmatched' && status === '404') continue; // unknown route: documented globally
    if (route === 'method-not-allowed' && status === '405') continue;
    if (route === 'dashboard') continue; // the web dashboard's files, not API routes (api/dashboard.ts)
    const op = doc.paths[openapiPath(route)]?.[method.toLowerCase()];
    if (!op || !op.responses[status]) missing.push(entry);
  }
  return missing;
}
