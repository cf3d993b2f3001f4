import assert from 'node:assert/strict';
import express from 'express';
import { createApp } from '../../api/app';
import { createMasterMetrics } from '../../api/metrics';
import { openapiPath } from '../../api/openapi';
import { ROUTES } from '../../api/routes';
import { createLogger } from '../../lib/logger';
import { cluster, jobService } from '../helpers/cluster';
import { observedResponses, startTestMaster, type TestMaster } from '../helpers/master';
import { undocumented } from '../helpers/openapi-coverage';

type Doc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>> };

/** Routes express really registered, read from its router. */
function registeredRoutes(app: express.Express): string[] {
  const stack = (app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router.stack;
  return stack.flatMap((l) => (l.route ? Object.keys(l.route.methods).map((m) => `${m.toUpperCase()} ${l.route!.path}`) : []));
}

describe('master API: OpenAPI document', function () {
  this.timeout(60_000);
  let master: TestMaster;
  let doc: Doc;

  before(async () => {
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
    const r = await master.api.get<Doc>('/openapi.json');
    assert.equal(r.status, 200);
    doc = r.body;
  });
  after(async () => master?.stop());

  it('is OpenAPI 3 and describes every route express registered, and nothing else', async () => {
    assert.match(doc.openapi, /^3\./);
    const { client } = await cluster();
    const jobs = await jobService();
    const app = createApp({
      ctx: { jobs, nodes: {} as never, health: async () => ({ status: 'ok', temporal: 'ok' }), openapi: () => doc },
      logger: createLogger('t', { level: 'silent', format: 'json' }),
      apiKeys: ['x'.repeat(16)],
      noAuth: false,
      rateLimiter: null,
      bodyLimit: '1kb',
      metrics: createMasterMetrics(client),
    });
    const registered = registeredRoutes(app).map((r) => r.replace(/:(\w+)/g, '{$1}')).sort();
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    assert.deepEqual(registered, documented);
    assert.equal(registered.length, ROUTES.length);
  });

  it('documents request bodies from the validating schemas (unknown fields refused)', () => {
    const create = doc.paths['/jobs']!.post! as { requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown>; additionalProperties: boolean; required: string[] } } } } };
    const schema = create.requestBody.content['application/json'].schema;
    assert.deepEqual(Object.keys(schema.properties).sort(), ['confidence', 'engine', 'parameters', 'priority', 'queue', 'scenario']);
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required, ['scenario']);
  });

  it('every status each route answered so far is documented for that route', async () => {
    // a sweep of this file's own, so the check has something to chew on even when run alone
    await master.api.get('/jobs/999999999');
    await master.api.get('/nodes', { key: null });
    await master.api.post('/jobs', { nope: 1 });
    await master.api.get('/scenarios');
    const missing = undocumented(observedResponses);
    assert.deepEqual(missing, [], `answers not in the OpenAPI document: ${missing.join(', ')}`);
    assert.ok(observedResponses.size >= 5);
    for (const entry of observedResponses) {
      const route = entry.split(' ')[1]!;
      if (route !== 'unmatched' && route !== 'method-not-allowed') assert.ok(doc.paths[openapiPath(route)], route);
    }
  });
});
