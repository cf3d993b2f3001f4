import assert from 'node:assert/strict';
import { ApiClient, OTHER_KEY, TEST_KEY, startTestMaster, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';

describe('master API: auth, rate limits and errors', function () {
  this.timeout(60_000);
  let master: TestMaster;
  let api: ApiClient;

  before(async () => {
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true', FFRTMP_BODY_LIMIT: '16kb' });
    api = master.api;
  });
  after(async () => master?.stop());

  describe('authentication', () => {
    it('GET /health needs no key', async () => {
      const r = await api.get('/health', { key: null });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { status: 'ok', temporal: 'ok' });
    });

    it('every other endpoint refuses a missing or wrong key with 401 in the error format', async () => {
      for (const [method, path] of [['GET', '/jobs'], ['POST', '/jobs'], ['GET', '/nodes'], ['GET', '/openapi.json'], ['GET', '/scenarios'], ['DELETE', '/nodes/x']] as const) {
        const missing = await api.request(method, path, { key: null });
        assert.equal(missing.status, 401, `${method} ${path}`);
        assert.equal(missing.body.status, 401);
        assert.match(missing.body.error, /missing or invalid API key/);
        const wrong = await api.request(method, path, { key: 'wrong-key-0123456789abcdef' });
        assert.equal(wrong.status, 401);
      }
    });

    it('accepts X-API-Key, Authorization: Bearer, and either of two configured keys (rotation)', async () => {
      assert.equal((await api.get('/jobs?limit=1', { key: TEST_KEY })).status, 200);
      assert.equal((await api.get('/jobs?limit=1', { key: OTHER_KEY })).status, 200);
      assert.equal((await api.get('/jobs?limit=1', { key: null, headers: { Authorization: `Bearer ${OTHER_KEY}` } })).status, 200);
      assert.equal((await api.get('/jobs?limit=1', { key: null, headers: { Authorization: `Basic ${OTHER_KEY}` } })).status, 401);
    });
  });

  describe('errors', () => {
    const expectError = async (p: Promise<{ status: number; body: any; text: string }>, status: number, pattern: RegExp) => {
      const r = await p;
      assert.equal(r.status, status, r.text);
      assert.deepEqual(Object.keys(r.body).sort(), ['error', 'status']);
      assert.equal(r.body.status, status);
      assert.match(r.body.error, pattern);
      assert.doesNotMatch(r.text, /at \w+ \(|node_modules|\.ts:\d+|Error:/, 'no stack trace or internal name');
    };

    it('malformed JSON → 400', () => expectError(api.request('POST', '/jobs', { raw: '{"scenario": "4K60-h264",', headers: { 'Content-Type': 'application/json' } }), 400, /malformed JSON body/));
    it('wrong content type → 415', () => expectError(api.request('POST', '/jobs', { raw: 'scenario=4K60-h264', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415, /must be application\/json/));
    it('no body → 400', () => expectError(api.request('POST', '/jobs'), 400, /a JSON body is required/));
    it('a JSON array or string body → 400', async () => {
      await expectError(api.post('/jobs', [1, 2]), 400, /must be an object/);
      await expectError(api.post('/jobs', 'scenario'), 400, /must be an object/);
    });
    it('oversized body → 413', () => expectError(api.post('/jobs', { scenario: '4K60-h264', parameters: { input: 'x'.repeat(20_000) } }), 413, /too large \(limit 16kb\)/));
    it('unknown field → 400 naming it', async () => {
      await expectError(api.post('/jobs', { scenario: '4K60-h264', colour: 'red' }), 400, /unknown field: colour/);
      await expectError(api.post('/jobs', { scenario: '4K60-h264', parameters: { duration: 3, loudness: 11 } }), 400, /unknown field: parameters\.loudness/);
    });
    it('values out of range → 400 naming the field', async () => {
      await expectError(api.post('/jobs', { scenario: '4K60-h264', parameters: { duration: 1e9 } }), 400, /parameters\.duration: /);
      await expectError(api.post('/jobs', { scenario: '4K60-h264', priority: 'urgent' }), 400, /priority: /);
      await expectError(api.post('/jobs', { scenario: '4K60-h264', parameters: { max_retries: 99 } }), 400, /parameters\.max_retries: /);
      await expectError(api.post('/jobs', { scenario: '9K90-h266' }), 400, /scenario: unknown scenario "9K90-h266": expected <resolution>\[<fps>\]-<codec>/);
      await expectError(api.post('/jobs', { parameters: {} }), 400, /scenario: /);
    });
    it('hostile bodies: prototype keys and deep nesting are refused without harm', async () => {
      await expectError(api.request('POST', '/jobs', { raw: '{"scenario":"720p30-h264","__proto__":{"admin":true}}', headers: { 'Content-Type': 'application/json' } }), 400, /unknown field: __proto__/);
      const deep = '{"scenario":"720p30-h264","parameters":' + '{"a":'.repeat(2000) + '1' + '}'.repeat(2000) + '}';
      await expectError(api.request('POST', '/jobs', { raw: deep, headers: { 'Content-Type': 'application/json' } }), 400, /unknown field: parameters\.a/);
      assert.equal(({} as Record<string, unknown>).admin, undefined);
    });
    it('unknown query parameter or bad filter → 400', async () => {
      await expectError(api.get('/jobs?colour=red'), 400, /unknown field: colour/);
      await expectError(api.get('/jobs?status=sleeping'), 400, /status: /);
      await expectError(api.get('/jobs?limit=0'), 400, /limit: /);
      await expectError(api.get('/jobs/1?x=1'), 400, /unknown query parameter: x/);
      await expectError(api.get('/jobs?page_token=%%%'), 400, /page_token/);
    });
    it('unknown route → 404; wrong method → 405 with Allow', async () => {
      await expectError(api.get('/nope'), 404, /no such route: GET \/nope/);
      const r = await api.request('PUT', '/jobs');
      await expectError(Promise.resolve(r), 405, /method PUT not allowed on \/jobs; allowed: GET, POST/);
      assert.equal(r.headers.get('allow'), 'GET, POST');
      await expectError(api.request('DELETE', '/jobs/1'), 405, /allowed: GET/);
    });
  });

  describe('rate limiting', () => {
    let limited: TestMaster;
    before(async () => {
      // 600 a minute with bursts of 20: a 2 s window, so recovery is quick to observe
      limited = await startTestMaster({ FFRTMP_RATE_LIMIT_DISABLED: 'false', FFRTMP_RATE_LIMIT_PER_MINUTE: '600', FFRTMP_RATE_LIMIT_BURST: '20' });
    });
    after(async () => limited?.stop());

    it('allows a burst of 20, answers 429 with Retry-After, recovers, and limits each key on its own', async () => {
      const a = limited.api;
      const b = new ApiClient(limited.url, OTHER_KEY);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await a.get('/scenarios')).status);
      assert.deepEqual(statuses, Array(20).fill(200));
      const refused = await a.get('/scenarios');
      assert.equal(refused.status, 429);
      assert.deepEqual(Object.keys(refused.body).sort(), ['error', 'status']);
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
      assert.equal((await b.get('/scenarios')).status, 200, 'another key has its own budget');
      await waitFor('recovery', async () => (await a.get('/scenarios')).status === 200, { timeoutMs: (retryAfter + 2) * 1000, intervalMs: 250 });
      const metrics = await (await fetch(limited.metricsUrl)).text();
      assert.match(metrics, /ffrtmp_rate_limited_total\{principal="api-key"\} [1-9]/);
    });

    it('unauthenticated clients are limited by address', async () => {
      const anon = new ApiClient(limited.url, undefined);
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++) statuses.push((await anon.get('/jobs', { key: null })).status);
      assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
      assert.deepEqual(statuses.slice(20), [429, 429]);
    });
  });
});
