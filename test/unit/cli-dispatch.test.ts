import assert from 'node:assert/strict';
import type { RouteContext } from '../../api/routes';
import { notFound } from '../../lib/errors';
import { cliResolveContext, dispatch } from '../../cli/temporal-transport';
import { fakeJob } from './cli-fakes';

/** --via temporal runs the master's route table in process: the same validation and answers. */
describe('cli --via temporal: the route table in process', () => {
  const seen: unknown[] = [];
  const ctx = {
    jobs: {
      get: async (id: string) => {
        if (id === '404') throw notFound('job 404 not found');
        return fakeJob({ id });
      },
      list: async (filters: unknown, limit: number, token?: string) => {
        seen.push({ filters, limit, token });
        return { jobs: [], next_page_token: null };
      },
      control: async (id: string, action: string, reason?: string) => {
        seen.push({ id, action, reason });
        return fakeJob({ status: 'paused' });
      },
    },
    nodes: {},
    health: async () => ({ status: 'ok', temporal: 'ok' }),
    openapi: () => ({}),
  } as unknown as RouteContext;

  it('routes by method and path, decoding path parameters', async () => {
    const r = await dispatch(ctx, 'GET', '/jobs/abc%2Fdef');
    assert.equal(r.status, 200);
    assert.equal((r.body as { id: string }).id, 'abc/def');
    assert.deepEqual(await dispatch(ctx, 'GET', '/nope'), { status: 404, body: { error: 'no such route: GET /nope', status: 404 }, headers: {} });
  });

  it('errors come back in the API format with their status', async () => {
    assert.deepEqual((await dispatch(ctx, 'GET', '/jobs/404')).body, { error: 'job 404 not found', status: 404 });
    const bad = await dispatch(ctx, 'GET', '/jobs?status=sleeping');
    assert.equal(bad.status, 400);
    assert.match((bad.body as { error: string }).error, /^status: /);
    const unknownField = await dispatch(ctx, 'POST', '/jobs/1/pause', { colour: 'red' });
    assert.equal(unknownField.status, 400);
    assert.match((unknownField.body as { error: string }).error, /unknown field: colour/);
  });

  it('validates and coerces the query like the master, and passes bodies to the handler', async () => {
    await dispatch(ctx, 'GET', '/jobs?status=running&limit=5&page_token=t');
    assert.deepEqual(seen.at(-1), { filters: { status: 'running', limit: 5, page_token: 't' }, limit: 5, token: 't' });
    const r = await dispatch(ctx, 'POST', '/jobs/9/pause', { reason: 'why' });
    assert.equal(r.status, 200);
    assert.deepEqual(seen.at(-1), { id: '9', action: 'pause', reason: 'why' });
    const scenarios = await dispatch(ctx, 'GET', '/scenarios');
    assert.ok((scenarios.body as { presets: { name: string }[] }).presets.some((p) => p.name === '4K60-h264'));
  });

  it('resolves inputs under the media root the master and workers use', () => {
    assert.equal(cliResolveContext({ FFRTMP_MEDIA_ROOT: '/srv/m' }).mediaRoot, '/srv/m');
    assert.equal(cliResolveContext({ FFRTMP_DATA_DIR: '/var/ffrtmp' }).mediaRoot, '/var/ffrtmp/media');
  });
});
