import assert from 'node:assert/strict';
import http from 'node:http';
import { ApiKeyAuth } from '../../api/auth';
import { jobWorkflowId, type JobView, type JobWorkflowInput } from '../../domain/job';
import { resolveJob } from '../../domain/resolve';
import type { CreateJobBody } from '../../domain/schemas';
import { initialJobView } from '../../domain/view';
import { freePort } from '../../lib/dev-server';
import { FINGERPRINT_MEMO, IdempotencyKeyReused, idempotentJobId, requestFingerprint, type JobService } from '../../lib/job-service';
import { cluster, jobService, startWorker, testResolveContext } from '../helpers/cluster';
import { jobStatus } from '../helpers/jobs';
import { OTHER_KEY, TEST_KEY, spawnMaster, startTestMaster, type ApiResponse, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';

const BODY = { scenario: '240p30-h264', queue: 'batch', priority: 'low', parameters: { duration: 1, preset: 'ultrafast' } };
const REPLAYED = 'idempotent-replayed';

let keyCounter = 0;
/** A key no earlier run of this file used (the dev server's data outlives one test, not the run). */
const freshKey = (label: string) => `${label}-${process.pid}-${Date.now()}-${++keyCounter}`;

/** Job runs (executions) visibility lists with the query; polled until it shows at least `atLeast`. */
async function runsWhere(query: string, atLeast: number): Promise<number> {
  const { client } = await cluster();
  let seen = 0;
  await waitFor(`${atLeast} run(s) visible for ${query}`, async () => {
    seen = (await client.workflow.count(`WorkflowType = 'transcodeJob' AND ${query}`)).count;
    return seen >= atLeast;
  }, { timeoutMs: 10_000 }).catch(() => undefined);
  return seen;
}

/** Every job run created after sequence number `seq` (a second job for one key would be among them). */
const runsSince = (seq: number, atLeast: number) => runsWhere(`JobSeq > ${seq}`, atLeast);
const runsOf = (id: string, atLeast: number) => runsWhere(`WorkflowId = '${jobWorkflowId(id)}'`, atLeast);

function principalOf(apiKey: string): string {
  return new ApiKeyAuth([apiKey]).check(apiKey)!.id;
}

describe('JobService.createIdempotent: a replay before the job ran its first workflow task', function () {
  this.timeout(60_000);

  it("answers the view its create answered, built from the run's start", async () => {
    const jobs = await jobService();
    const { client, root } = await cluster();
    const idem = { principal: 'key:test', key: freshKey('first-task') };
    const body: CreateJobBody = { scenario: '240p30-h264', confidence: 'auto', engine: 'auto', queue: 'batch', priority: 'low', parameters: { duration: 1 } };
    const request = { ...body, parameters: { ...body.parameters } };
    const input: JobWorkflowInput = { id: idempotentJobId(idem), sequenceNumber: 424_242, createdAt: new Date().toISOString(), request, ...resolveJob(request, testResolveContext(root)) };
    // the job as a create starts it, on a queue nothing polls: its first workflow task never runs
    const handle = await client.workflow.start('transcodeJob', {
      workflowId: jobWorkflowId(input.id),
      taskQueue: `nobody-polls-${process.pid}`,
      args: [input],
      memo: { [FINGERPRINT_MEMO]: requestFingerprint(request) },
    });
    try {
      const again = await jobs.createIdempotent({ ...body, parameters: { duration: 1 } }, idem);
      assert.equal(again.replayed, true);
      assert.deepEqual(again.job, initialJobView(input));
      await assert.rejects(jobs.createIdempotent({ ...body, priority: 'high' }, idem), (err: Error) => err instanceof IdempotencyKeyReused && err.status === 422);
    } finally {
      await handle.terminate('test cleanup');
    }
  });
});

describe('master API: Idempotency-Key on POST /jobs', function () {
  this.timeout(180_000);
  let master: TestMaster;
  let jobs: JobService;
  const created = new Set<string>();

  const post = (key: string | undefined, body: unknown = BODY, apiKey = TEST_KEY): Promise<ApiResponse<JobView>> =>
    master.api.post<JobView>('/jobs', body, { key: apiKey, headers: key === undefined ? {} : { 'Idempotency-Key': key } }).then((r) => {
      if (r.status === 201) created.add(r.body.id);
      return r;
    });

  before(async () => {
    // an orchestration worker publishes job views; with no encode worker the jobs stay queued
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
    jobs = await jobService();
  });
  after(async () => {
    const { client } = await cluster();
    await Promise.all([...created].map((id) => client.workflow.getHandle(jobWorkflowId(id)).terminate('test cleanup').catch(() => undefined)));
    await master?.stop();
  });

  it('the same key twice: one job, the second answer replays it (Idempotent-Replayed: true) and takes no sequence number', async () => {
    const before = await jobs.currentSequenceNumber();
    const key = freshKey('twice');
    const first = await post(key);
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers.get(REPLAYED), null);
    assert.equal(first.body.status, 'queued');
    assert.equal(first.body.id, idempotentJobId({ principal: principalOf(TEST_KEY), key }), 'the id is derived from the caller and the key');
    // the same request, keys in another order and a default spelled out: the same job
    const again = await post(key, { parameters: { preset: 'ultrafast', duration: 1 }, priority: 'low', scenario: '240p30-h264', queue: 'batch', engine: 'auto' });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers.get(REPLAYED), 'true');
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.sequence_number, first.body.sequence_number);
    assert.equal(again.body.created_at, first.body.created_at);
    assert.equal(await jobs.currentSequenceNumber(), before + 1, 'the replay took no sequence number');
    assert.equal(await runsOf(first.body.id, 1), 1);
    assert.equal(await runsSince(before, 1), 1);
    // a create without a key is unaffected: a new job each time
    const plain = await post(undefined);
    assert.equal(plain.status, 201);
    assert.notEqual(plain.body.id, first.body.id);
    assert.equal(plain.headers.get(REPLAYED), null);
    assert.equal(await runsSince(before, 2), 2);
  });

  it('the same key with a different body: 422 naming the header, and no second job', async () => {
    const before = await jobs.currentSequenceNumber();
    const key = freshKey('other-body');
    const first = await post(key);
    assert.equal(first.status, 201, first.text);
    const other = await post(key, { ...BODY, parameters: { ...BODY.parameters, duration: 2 } });
    assert.equal(other.status, 422, other.text);
    assert.equal(other.body.status as unknown, 422);
    assert.match((other.body as unknown as { error: string }).error, new RegExp(`^Idempotency-Key "${key}" was used with a different request \\(job ${first.body.id}\\)`));
    assert.deepEqual(Object.keys(other.body).sort(), ['error', 'status']);
    // the first job is untouched and still answers its own request
    const again = await post(key);
    assert.equal(again.status, 201);
    assert.equal(again.body.id, first.body.id);
    assert.equal(await runsSince(before, 1), 1);
  });

  it('two API keys with the same Idempotency-Key: two jobs, and neither API key is stored in Temporal', async () => {
    const before = await jobs.currentSequenceNumber();
    const key = freshKey('two-callers');
    const a = await post(key, BODY, TEST_KEY);
    const b = await post(key, BODY, OTHER_KEY);
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.notEqual(a.body.id, b.body.id);
    assert.equal(a.headers.get(REPLAYED), null);
    assert.equal(b.headers.get(REPLAYED), null);
    // each caller replays its own
    assert.equal((await post(key, BODY, OTHER_KEY)).body.id, b.body.id);
    assert.equal((await post(key, BODY, TEST_KEY)).body.id, a.body.id);
    assert.equal(await runsSince(before, 2), 2);

    const { client } = await cluster();
    for (const id of [a.body.id, b.body.id]) {
      const handle = client.workflow.getHandle(jobWorkflowId(id));
      const stored = JSON.stringify(await handle.fetchHistory()) + JSON.stringify((await handle.describe()).memo);
      for (const apiKey of [TEST_KEY, OTHER_KEY]) assert.ok(!stored.includes(apiKey), `job ${id} stores an API key`);
      assert.ok(!stored.includes(key), `job ${id} stores the Idempotency-Key itself`);
    }
  });

  it('20 concurrent requests with one key: exactly one job, every answer names it, exactly one created it', async () => {
    const before = await jobs.currentSequenceNumber();
    const key = freshKey('concurrent');
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(key)));
    assert.deepEqual(answers.map((r) => r.status), Array(20).fill(201), answers.map((r) => r.text).join('\n'));
    const ids = new Set(answers.map((r) => r.body.id));
    assert.equal(ids.size, 1, `ids: ${[...ids].join(', ')}`);
    const [id] = ids;
    assert.equal(answers.filter((r) => r.headers.get(REPLAYED) === null).length, 1, 'one answer created the job');
    assert.equal(answers.filter((r) => r.headers.get(REPLAYED) === 'true').length, 19);
    assert.equal(new Set(answers.map((r) => r.body.sequence_number)).size, 1, 'every answer names the same sequence number');
    assert.equal(await runsOf(id!, 1), 1);
    assert.equal(await runsSince(before, 1), 1);
  });

  it('a malformed Idempotency-Key: 400 in the error format naming the header, and no job', async () => {
    const before = await jobs.currentSequenceNumber();
    const bad: [string, RegExp][] = [
      ['', /must not be empty/],
      ['x'.repeat(256), /at most 255/],
      ['tab\there', /printable ASCII/],
      ['caf\u00e9', /printable ASCII/],
      ['"unterminated', /quoted string/],
      ['"bad \\x escape"', /quoted string/],
      ['""', /must not be empty/],
    ];
    for (const [value, why] of bad) {
      const r = await post(value);
      assert.equal(r.status, 400, `${JSON.stringify(value)}: ${r.text}`);
      const body = r.body as unknown as { error: string; status: number };
      assert.equal(body.status, 400);
      assert.match(body.error, /^Idempotency-Key header: /);
      assert.match(body.error, why, JSON.stringify(value));
    }
    // sent twice: refused rather than joined into one value
    const twice = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(`${master.url}/jobs`);
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'X-API-Key': TEST_KEY, 'Content-Type': 'application/json', 'Idempotency-Key': ['one', 'two'] } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(BODY));
    });
    assert.equal(twice.status, 400, twice.body);
    assert.deepEqual(JSON.parse(twice.body), { error: 'Idempotency-Key header: send it once (got 2)', status: 400 });
    assert.equal(await jobs.currentSequenceNumber(), before, 'a refused request takes no sequence number');
    assert.equal(await runsSince(before, 0), 0);

    // the draft's quoted form and the bare form are the same key
    const key = freshKey('quoted');
    const quoted = await post(`"${key}"`);
    assert.equal(quoted.status, 201, quoted.text);
    const bare = await post(key);
    assert.equal(bare.headers.get(REPLAYED), 'true');
    assert.equal(bare.body.id, quoted.body.id);
  });

  it('a keyed job canceled, retried by hand, then asked for again: the retry is a new run, the key answers the current one', async () => {
    const key = freshKey('retry');
    const first = await post(key);
    assert.equal(first.status, 201, first.text);
    const id = first.body.id;
    const canceled = await master.api.post<JobView>(`/jobs/${id}/cancel`);
    assert.equal(canceled.status, 200, canceled.text);
    assert.equal(canceled.body.status, 'canceled');
    // the key holds after the job ended (REJECT_DUPLICATE): no new job, the canceled one answers
    const afterCancel = await post(key);
    assert.equal(afterCancel.headers.get(REPLAYED), 'true');
    assert.equal(afterCancel.body.id, id);
    assert.equal(afterCancel.body.status, 'canceled');

    const retried = await master.api.post<JobView>(`/jobs/${id}/retry`);
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.body.id, id);
    assert.equal(retried.body.retry_count, 1);
    await jobStatus(master.api, id, ['queued']);
    assert.equal(await runsOf(id, 2), 2, 'two runs under the one workflow id');

    const afterRetry = await post(key);
    assert.equal(afterRetry.status, 201, afterRetry.text);
    assert.equal(afterRetry.headers.get(REPLAYED), 'true');
    assert.equal(afterRetry.body.id, id);
    assert.equal(afterRetry.body.status, 'queued');
    assert.equal(afterRetry.body.retry_count, 1);
    assert.equal(afterRetry.body.sequence_number, first.body.sequence_number);
    assert.equal(await runsOf(id, 2), 2);
    // the retried run still refuses another request under the key
    assert.equal((await post(key, { ...BODY, priority: 'high' })).status, 422);
  });

  it('documents the header, the replay header and the 422 in the OpenAPI document', async () => {
    const r = await master.api.get<{ paths: Record<string, Record<string, any>> }>('/openapi.json');
    const op = r.body.paths['/jobs']!.post!;
    const header = (op.parameters as { name: string; in: string; schema: { maxLength: number; minLength: number } }[]).find((p) => p.in === 'header');
    assert.equal(header?.name, 'Idempotency-Key');
    assert.equal(header?.schema.minLength, 1);
    assert.equal(header?.schema.maxLength, 255);
    assert.ok(op.responses['201'].headers['Idempotent-Replayed']);
    assert.match(op.responses['422'].description, /Idempotency-Key/);
    assert.match(op.responses['400'].description, /Idempotency-Key/);
  });
});

describe('master API: Idempotency-Key across a master killed with SIGKILL under POST load', function () {
  this.timeout(300_000);

  it('every key names one job, every 201 before the kill names the job the key has after it, and every job completes', async () => {
    const { client } = await cluster();
    const jobs = await jobService();
    const worker = await startWorker({ name: 'idempotency-worker', cpuSlots: 2 });
    const env = { FFRTMP_API_PORT: String(await freePort()) };
    const principal = principalOf(TEST_KEY);
    const keys = Array.from({ length: 12 }, (_, i) => freshKey(`kill-${i}`));
    const expected = new Map(keys.map((k) => [k, idempotentJobId({ principal, key: k })]));
    const body = { scenario: '240p30-h264', parameters: { duration: 1, preset: 'ultrafast' } };
    try {
      const before = await jobs.currentSequenceNumber();
      const a = await spawnMaster(env);
      // all requests at once; the master is killed once a few have been answered
      const firstAnswers = new Map<string, JobView>();
      let settled = 0;
      const inFlight = keys.map((k) =>
        a.api
          .post<JobView>('/jobs', body, { headers: { 'Idempotency-Key': k } })
          .then((r) => {
            assert.equal(r.status, 201, r.text);
            firstAnswers.set(k, r.body);
          })
          .catch((err: unknown) => {
            if (err instanceof assert.AssertionError) throw err;
          })
          .finally(() => settled++),
      );
      await waitFor('3 answers before the kill', () => firstAnswers.size >= 3, { intervalMs: 5 });
      await a.halt('SIGKILL');
      await Promise.all(inFlight);
      assert.equal(settled, keys.length);
      for (const [k, job] of firstAnswers) assert.equal(job.id, expected.get(k), 'a 201 names the job its key derives');

      // which jobs exist now (describe is consistent, unlike visibility): every answered one, maybe more
      const exists = new Set<string>();
      for (const k of keys) {
        const found = await client.workflow.getHandle(jobWorkflowId(expected.get(k)!)).describe().then(() => true, () => false);
        if (found) exists.add(k);
      }
      for (const k of firstAnswers.keys()) assert.ok(exists.has(k), `the job answered for ${k} exists`);

      const b = await spawnMaster(env);
      try {
        // every client retries with its key, answered or not
        const retries = await Promise.all(keys.map((k) => b.api.post<JobView>('/jobs', body, { headers: { 'Idempotency-Key': k } })));
        for (const [i, k] of keys.entries()) {
          const r = retries[i]!;
          assert.equal(r.status, 201, r.text);
          assert.equal(r.body.id, expected.get(k));
          assert.equal(r.headers.get(REPLAYED), exists.has(k) ? 'true' : null, `key ${k}: replayed exactly when its job existed`);
          if (firstAnswers.has(k)) assert.equal(r.body.sequence_number, firstAnswers.get(k)!.sequence_number);
        }
        assert.equal(new Set(retries.map((r) => r.body.id)).size, keys.length);
        assert.equal(await runsSince(before, keys.length), keys.length, 'one job per key, none twice');
        for (const id of expected.values()) await jobStatus(b.api, id, ['completed'], 120_000);
        assert.equal(await runsSince(before, keys.length), keys.length);
      } finally {
        await b.stop();
      }
    } finally {
      await worker.stop();
      await Promise.all([...expected.values()].map((id) => client.workflow.getHandle(jobWorkflowId(id)).terminate('test cleanup').catch(() => undefined)));
    }
  });
});
