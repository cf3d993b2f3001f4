import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { Counter, Histogram, Registry } from 'prom-client';
import { createApp } from '../../api/app';
import type { RouteContext } from '../../api/routes';
import { dispatch } from '../../cli/temporal-transport';
import { notFound } from '../../lib/errors';
import { createLogger } from '../../lib/logger';
import { fakeJob } from './cli-fakes';

/** The express app and `--via temporal` run the same route table: a request gets the same answer from both. */
describe('route runner: one answer whichever front door', () => {
  const ctx = {
    jobs: {
      get: async (id: string) => {
        if (id === '404') throw notFound('job 404 not found');
        return fakeJob({ id });
      },
      list: async () => ({ jobs: [], next_page_token: null }),
      control: async () => fakeJob({ status: 'paused' }),
    },
    nodes: {},
    health: async () => ({ status: 'ok', temporal: 'ok' }),
    openapi: () => ({}),
  } as unknown as RouteContext;

  let server: http.Server;
  let base: string;
  before(async () => {
    const registry = new Registry();
    const app = createApp({
      ctx,
      logger: createLogger('t', { level: 'silent', format: 'json' }),
      apiKeys: [],
      noAuth: true,
      rateLimiter: null,
      bodyLimit: '1kb',
      metrics: {
        registry,
        httpDuration: new Histogram({ name: 'd', help: 'd', labelNames: ['method', 'route', 'status'], registers: [registry] }),
        rateLimited: new Counter({ name: 'r', help: 'r', labelNames: ['principal'], registers: [registry] }),
      },
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function overHttp(method: string, target: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(base + target, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  const cases: [string, string, unknown?][] = [
    // the two used to differ here ("unknown query parameters: x" in process)
    ['GET', '/jobs/1?x=1'],
    ['GET', '/jobs/1?x=1&y=2'],
    ['GET', '/jobs?status=sleeping'],
    ['GET', '/jobs?status=running&status=queued'],
    ['GET', '/jobs?limit=0'],
    ['GET', '/jobs/404'],
    ['GET', '/nope'],
    ['POST', '/jobs'],
    ['POST', '/jobs', [1, 2]],
    ['POST', '/jobs', { scenario: '720p30-h264', parameters: { duration: -1 } }],
    ['POST', '/jobs/1/pause', { colour: 'red' }],
    ['POST', '/jobs/1/pause', { reason: 'x'.repeat(501) }],
  ];
  for (const [method, target, body] of cases) {
    it(`${method} ${target}${body === undefined ? '' : ` ${JSON.stringify(body).slice(0, 40)}`}`, async () => {
      const viaHttp = await overHttp(method, target, body);
      const inProcess = await dispatch(ctx, method, target, body);
      assert.ok(viaHttp.status >= 400, `a refusal (got ${viaHttp.status})`);
      assert.deepEqual({ status: inProcess.status, body: inProcess.body }, viaHttp);
    });
  }
});
