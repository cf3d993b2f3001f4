import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { JobView } from '../../domain/job';
import { jobWorkflowId } from '../../domain/job';
import { freePort } from '../../lib/dev-server';
import { DIST, cluster, startWorker, type WorkerAgent } from '../helpers/cluster';
import { masterEnv, spawnMaster, startTestMaster, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';

describe('master API: paging, metrics, restarts, replicas, Temporal outages, configuration', function () {
  this.timeout(240_000);

  describe('with no worker running (jobs stay queued)', () => {
    let master: TestMaster;
    const created: JobView[] = [];
    before(async () => {
      master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
    });
    after(async () => {
      const { client } = await cluster();
      await Promise.all(created.map((j) => client.workflow.getHandle(jobWorkflowId(j.id)).terminate('test cleanup').catch(() => undefined)));
      await master?.stop();
    });

    it('pages through 150 jobs with a limit and page tokens: each exactly once', async () => {
      for (let i = 0; i < 150; i++) {
        const r = await master.api.post<JobView>('/jobs', { scenario: '360p25-h264', queue: 'batch', priority: 'low', parameters: { duration: 1 } });
        assert.equal(r.status, 201);
        created.push(r.body);
      }
      const seqs = created.map((j) => j.sequence_number);
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, 'sequence numbers increase in creation order');

      const want = new Set(created.map((j) => j.id));
      await waitFor('all 150 visible', async () => {
        const r = await master.api.get<{ count: number }>('/jobs?scenario=360p25-h264&limit=500');
        return r.body.count === 150;
      });
      const seen: string[] = [];
      let token: string | null = null;
      let pages = 0;
      do {
        const url: string = `/jobs?scenario=360p25-h264&status=queued&limit=40${token ? `&page_token=${token}` : ''}`;
        const r = await master.api.get<{ jobs: { id: string; status: string; queue: string }[]; count: number; next_page_token: string | null }>(url);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.count, r.body.jobs.length);
        assert.ok(r.body.count <= 40);
        for (const j of r.body.jobs) {
          assert.equal(j.status, 'queued');
          assert.equal(j.queue, 'batch');
        }
        seen.push(...r.body.jobs.map((j) => j.id));
        token = r.body.next_page_token;
        pages++;
      } while (token);
      assert.ok(pages >= 4, `${pages} pages`);
      assert.equal(seen.length, 150, 'no job twice');
      assert.deepEqual(new Set(seen), want);
      const other = await master.api.get<{ count: number }>('/jobs?scenario=360p25-h264&priority=high');
      assert.equal(other.body.count, 0);
    });

    it('master metrics: jobs by status, queue backlog from Temporal, durations by route template', async () => {
      await master.api.get(`/jobs/${created[0]!.id}`);
      const text = await waitFor('backlog visible', async () => {
        const t = await (await fetch(master.metricsUrl)).text();
        return /ffrtmp_task_queue_backlog\{task_queue="encode\.cpu"\} ([1-9]\d*)/.test(t) ? t : undefined;
      });
      const queued = Number(/ffrtmp_jobs\{status="queued"\} (\d+)/.exec(text)?.[1]);
      assert.ok(queued >= 150, `queued ${queued}`);
      assert.match(text, /ffrtmp_jobs_created_total \d+/);
      assert.match(text, /ffrtmp_jobs_finished_total\{status="completed"\} \d+/);
      assert.match(text, /ffrtmp_nodes\{status="online"\} \d+/);
      assert.match(text, /ffrtmp_http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/jobs\/:id",status="200"\}/);
      assert.doesNotMatch(text, /route="\/jobs\/[0-9a-f]{8}-/, 'raw paths never become labels');
    });
  });

  it('a master killed mid-job: the job completes and sequence numbers continue after a restart', async () => {
    const worker: WorkerAgent = await startWorker({ name: 'restart-worker' });
    const env = { FFRTMP_API_PORT: String(await freePort()) };
    try {
      const a = await spawnMaster(env);
      const job = (await a.api.post<JobView>('/jobs', { scenario: '720p30-h264', parameters: { duration: 8, preset: 'medium' } })).body;
      await waitFor('running', async () => (await a.api.get<JobView>(`/jobs/${job.id}`)).body.status === 'running');
      await a.halt('SIGKILL');

      const b = await spawnMaster(env);
      try {
        const done = await waitFor<JobView>('completed after the restart', async () => {
          const v = (await b.api.get<JobView>(`/jobs/${job.sequence_number}`)).body;
          return v.status === 'completed' ? v : undefined;
        }, { timeoutMs: 60_000 });
        assert.equal(done.id, job.id);
        const next = (await b.api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1 } })).body;
        assert.equal(next.sequence_number, job.sequence_number + 1);
      } finally {
        await b.stop();
      }
    } finally {
      await worker.stop();
    }
  });

  it('two replicas at once: sequence numbers are unique, and increase in creation order', async () => {
    const worker = await startWorker({ name: 'replica-worker' });
    const a = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
    const b = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
    try {
      const body = { scenario: '240p30-h264', parameters: { duration: 1, preset: 'ultrafast' } };
      const sequential: number[] = [];
      for (let i = 0; i < 6; i++) sequential.push((await (i % 2 ? b : a).api.post<JobView>('/jobs', body)).body.sequence_number);
      for (let i = 1; i < sequential.length; i++) assert.ok(sequential[i]! > sequential[i - 1]!);
      const concurrent = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? b : a).api.post<JobView>('/jobs', body)));
      const numbers = concurrent.map((r) => r.body.sequence_number);
      assert.equal(new Set(numbers).size, 16, 'no duplicates');
      // every job is found, once, through either replica
      for (const r of concurrent.slice(0, 4)) {
        assert.equal((await b.api.get<JobView>(`/jobs/${r.body.sequence_number}`)).body.id, r.body.id);
        assert.equal((await a.api.get<JobView>(`/jobs/${r.body.id}`)).body.sequence_number, r.body.sequence_number);
      }
      for (const r of concurrent) {
        await waitFor('done', async () => (await a.api.get<JobView>(`/jobs/${r.body.id}`)).body.status === 'completed', { timeoutMs: 90_000, intervalMs: 200 });
      }
    } finally {
      await a.stop();
      await b.stop();
      await worker.stop();
    }
  });

  it('Temporal unreachable: 503 in the error format, and /health says so', async () => {
    const m = await startTestMaster({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    try {
      const r = await m.api.post('/jobs', { scenario: '720p30-h264' });
      assert.equal(r.status, 503, r.text);
      assert.deepEqual(r.body, { error: 'Temporal is unreachable; try again shortly', status: 503 });
      assert.equal((await m.api.get('/jobs/1')).status, 503);
      const h = await m.api.get('/health', { key: null });
      assert.equal(h.status, 503);
      assert.deepEqual(h.body, { status: 'degraded', temporal: 'unreachable' });
    } finally {
      await m.stop();
    }
  });

  it('refuses to start with no API key and no explicit no-auth, saying how to fix it', async () => {
    const env = await masterEnv({ FFMPEG_RTMP_API_KEY: '' });
    const r = spawnSync(process.execPath, [path.join(DIST, 'api', 'server.js')], { env: { ...process.env, ...env, LOG_FORMAT: 'json' }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    assert.match(r.stdout + r.stderr, /no API key configured\. Set FFMPEG_RTMP_API_KEY=<key>.*FFRTMP_NO_AUTH=true/);
    const ok = await spawnMaster({ FFMPEG_RTMP_API_KEY: '', FFRTMP_NO_AUTH: 'true' });
    try {
      assert.equal((await ok.api.get('/jobs?limit=1', { key: null })).status, 200);
    } finally {
      await ok.stop();
    }
  });
});
