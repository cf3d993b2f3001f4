/**
 * POST /jobs/batch on a real master and Temporal: all or nothing validation (every error names its
 * index and field), consecutive sequence numbers, 201 with the jobs; an Idempotency-Key makes a
 * retried batch answer with the jobs it created.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { JobView } from '../../domain/job';
import { jobWorkflowId } from '../../domain/job';
import { cluster } from '../helpers/cluster';
import { startTestMaster, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';

const job = (duration = 1) => ({ scenario: '240p30-h264', queue: 'batch', priority: 'low', parameters: { duration } });

describe('POST /jobs/batch', function () {
  this.timeout(120_000);
  let master: TestMaster;
  const created: string[] = [];
  before(async () => {
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
  });
  after(async () => {
    // nothing of these should run in later test files
    const { client } = await cluster();
    await Promise.all(created.map((id) => client.workflow.getHandle(jobWorkflowId(id)).terminate('test cleanup').catch(() => undefined)));
    await master?.stop();
  });
  const post = (body: unknown, headers: Record<string, string> = {}) => master.api.post<{ jobs: JobView[]; count: number; error?: string }>('/jobs/batch', body, { headers });

  it('creates every job, in order, with consecutive sequence numbers', async () => {
    const r = await post({ jobs: Array.from({ length: 25 }, (_, i) => job(1 + (i % 3))) });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.count, 25);
    created.push(...r.body.jobs.map((j) => j.id));
    const seqs = r.body.jobs.map((j) => j.sequence_number);
    assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i), 'consecutive');
    assert.deepEqual(r.body.jobs.map((j) => j.parameters.duration), Array.from({ length: 25 }, (_, i) => 1 + (i % 3)), 'in the order asked');
    for (const j of r.body.jobs.slice(0, 5)) assert.equal((await master.api.get<JobView>(`/jobs/${j.id}`)).status, 200);
    assert.equal((await master.api.get<JobView>(`/jobs/${seqs[10]}`)).body.id, r.body.jobs[10]!.id);
  });

  it('GET /jobs lists jobs created in the same instant newest first by sequence number, across pages (a batch and concurrent POSTs)', async () => {
    const batch = await post({ jobs: Array.from({ length: 12 }, () => job()) });
    assert.equal(batch.status, 201, batch.text);
    const singles = await Promise.all(Array.from({ length: 8 }, () => master.api.post<JobView>('/jobs', job())));
    for (const r of singles) assert.equal(r.status, 201, r.text);
    const mine = [...batch.body.jobs, ...singles.map((r) => r.body)];
    created.push(...mine.map((j) => j.id));
    // the newest jobs, all open (no worker takes them): the first two pages of 10 are exactly these 20
    const expected = [...mine].sort((a, b) => b.sequence_number - a.sequence_number).map((j) => j.sequence_number);
    type Page = { jobs: { id: string; sequence_number: number }[]; next_page_token: string | null };
    const listed = await waitFor('every new job in the first two pages (visibility is eventually consistent)', async () => {
      const first = (await master.api.get<Page>('/jobs?limit=10')).body;
      if (!first.next_page_token) return undefined;
      const second = (await master.api.get<Page>(`/jobs?limit=10&page_token=${encodeURIComponent(first.next_page_token)}`)).body;
      const seqs = [...first.jobs, ...second.jobs].map((j) => j.sequence_number);
      return expected.every((s) => seqs.includes(s)) ? seqs : undefined;
    });
    assert.deepEqual(listed, expected, 'newest first by sequence number, one page after the other');
  });

  it('refuses the whole batch when one request is bad, naming each by index and field; creates nothing', async () => {
    const before = (await master.api.post<JobView>('/jobs', job())).body;
    created.push(before.id);
    const r = await post({ jobs: [job(), { ...job(), colour: 'red' }, job(), { ...job(), parameters: { duration: -1 } }, { ...job(), scenario: '9000p-h264' }] });
    assert.equal(r.status, 400, r.text);
    assert.match(r.body.error!, /jobs\.1/);
    assert.match(r.body.error!, /colour/);
    assert.match(r.body.error!, /jobs\.3\.parameters\.duration/);
    const after = (await master.api.post<JobView>('/jobs', job())).body;
    created.push(after.id);
    assert.equal(after.sequence_number, before.sequence_number + 1, 'no sequence number was taken: nothing was created');
    // a request that passes the schema but not resolution is named too
    const r2 = await post({ jobs: [job(), { ...job(), scenario: '9000p-h264' }] });
    assert.equal(r2.status, 400, r2.text);
    assert.match(r2.body.error!, /jobs\.1\.scenario/);
  });

  it('bounds: 1 to 1,000 requests', async () => {
    assert.equal((await post({ jobs: [] })).status, 400);
    const big = await post({ jobs: Array.from({ length: 1001 }, () => job()) });
    assert.equal(big.status, 400, big.text);
    assert.match(big.body.error!, /jobs/);
  });

  it('an Idempotency-Key: the same batch again answers with the same jobs; another body is refused', async () => {
    const key = randomUUID();
    const body = { jobs: Array.from({ length: 10 }, () => job(2)) };
    const first = await post(body, { 'Idempotency-Key': key });
    assert.equal(first.status, 201, first.text);
    created.push(...first.body.jobs.map((j) => j.id));
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await post(body, { 'Idempotency-Key': key });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body.jobs.map((j) => j.id), first.body.jobs.map((j) => j.id));
    assert.deepEqual(again.body.jobs.map((j) => j.sequence_number), first.body.jobs.map((j) => j.sequence_number));
    const other = await post({ jobs: Array.from({ length: 10 }, () => job(3)) }, { 'Idempotency-Key': key });
    assert.equal(other.status, 422, other.text);
  });
});
