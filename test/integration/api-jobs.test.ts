import assert from 'node:assert/strict';
import type { JobView } from '../../domain/job';
import { startWorker, type WorkerAgent } from '../helpers/cluster';
import { startTestMaster, type ApiClient, type TestMaster } from '../helpers/master';
import { encodersOfJob, processState } from '../helpers/processes';
import { jobStatus } from '../helpers/jobs';
import { waitFor } from '../helpers/wait';


describe('master API: jobs', function () {
  this.timeout(180_000);
  let master: TestMaster;
  let api: ApiClient;
  let worker: WorkerAgent;

  before(async () => {
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true' });
    api = master.api;
    worker = await startWorker({ name: 'api-worker' });
  });
  after(async () => {
    await worker?.stop();
    await master?.stop();
  });

  it('POST /jobs answers 201 with the spec fields and the documented defaults', async () => {
    const r = await api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1 } });
    assert.equal(r.status, 201, r.text);
    const j = r.body;
    assert.match(j.id, /^[0-9a-f-]{36}$/);
    assert.ok(Number.isInteger(j.sequence_number) && j.sequence_number > 0);
    assert.equal(j.scenario, '240p30-h264');
    assert.equal(j.status, 'queued');
    assert.ok(!Number.isNaN(Date.parse(j.created_at)));
    assert.deepEqual([j.confidence, j.engine, j.queue, j.priority], ['auto', 'auto', 'default', 'medium']);
    await jobStatus(api, j.id, ['completed']);
  });

  it('a whole job life through the API alone: create, status by uuid and by number, pause, resume, logs, completion', async () => {
    const created = await api.post<JobView>('/jobs', { scenario: '720p30-h264', queue: 'live', priority: 'high', engine: 'ffmpeg', parameters: { duration: 10, preset: 'medium', bitrate: '2500k' } });
    assert.equal(created.status, 201);
    const id = created.body.id;
    const seq = created.body.sequence_number;

    const running = await jobStatus(api, seq, ['running']);
    assert.equal(running.id, id);
    assert.equal(running.node_id, worker.nodeId);
    assert.equal(running.node_name, 'api-worker');
    assert.ok(running.started_at);
    // live figures from the encoder's heartbeat
    const live = await waitFor<JobView>('live fps', async () => {
      const v = (await api.get<JobView>(`/jobs/${id}`)).body;
      return v.fps !== null && v.progress > 0 ? v : undefined;
    });
    assert.ok(live.speed !== null && live.eta_seconds !== null);

    const t0 = Date.now();
    const paused = await api.post<JobView>(`/jobs/${id}/pause`);
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.body.status, 'paused');
    const seen = (await api.get<JobView>(`/jobs/${seq}`)).body;
    assert.equal(seen.status, 'paused');
    assert.ok(Date.now() - t0 < 1_500, 'the status change is visible at once');

    assert.equal((await api.post(`/jobs/${id}/resume`, { reason: 'carry on' })).status, 200);
    const logsWhileRunning = await api.get<{ job_id: string; logs: string }>(`/jobs/${seq}/logs`);
    assert.equal(logsWhileRunning.status, 200);
    assert.equal(logsWhileRunning.body.job_id, id);

    const done = await jobStatus(api, id, ['completed', 'failed']);
    assert.equal(done.status, 'completed');
    assert.ok(done.completed_at);
    assert.equal(done.progress, 100);
    assert.deepEqual(done.parameters, { duration: 10, preset: 'medium', bitrate: '2500k' });
    assert.deepEqual(done.state_transitions.map((t) => t.to), ['queued', 'assigned', 'running', 'paused', 'running', 'completed']);
    assert.match(done.state_transitions[4]!.reason, /encoder continued on api-worker: carry on/, 'the reason given is recorded');
    for (const field of ['id', 'sequence_number', 'scenario', 'confidence', 'engine', 'queue', 'priority', 'parameters', 'status', 'progress', 'node_id', 'node_name', 'created_at', 'started_at', 'completed_at', 'retry_count', 'max_retries', 'error', 'state_transitions', 'output', 'fps', 'speed', 'eta_seconds']) {
      assert.ok(field in done, `job view lacks ${field}`);
    }
    const logs = await api.get<{ job_id: string; logs: string }>(`/jobs/${id}/logs`);
    assert.match(logs.body.logs, /=== Command Execution ===\nCommand: ffmpeg .*-c:v libx264 -preset medium -b:v 2500k/);
    assert.match(logs.body.logs, /=== STDERR ===/);
  });

  it('a paused job keeps the progress it reached: every read from the pause on shows at least the last figure before it', async () => {
    const j = (await api.post<JobView>('/jobs', { scenario: '720p30-h264', parameters: { duration: 20, preset: 'medium' } })).body;
    let before = await waitFor<JobView>('progress under way', async () => {
      const v = (await api.get<JobView>(`/jobs/${j.id}`)).body;
      return v.status === 'running' && v.progress > 0 && v.fps !== null ? v : undefined;
    });
    // the freshest figure before the pause
    before = (await api.get<JobView>(`/jobs/${j.id}`)).body;
    const paused = await api.post<JobView>(`/jobs/${j.id}/pause`);
    assert.equal(paused.status, 200, paused.text);
    const answers: JobView[] = [paused.body];
    // reads right after the pause, through the shared read cache and past its expiry (an observation window)
    const until = Date.now() + 1_000;
    while (Date.now() < until) answers.push((await api.get<JobView>(`/jobs/${j.id}`)).body);
    for (const [i, v] of answers.entries()) {
      assert.equal(v.status, 'paused', `answer ${i}`);
      assert.ok(v.progress >= before.progress, `answer ${i} after the pause shows progress ${v.progress}, below the ${before.progress} seen before it`);
      assert.ok(v.fps !== null, `answer ${i} after the pause lost the fps`);
    }
    assert.ok(answers.length > 3, `only ${answers.length} reads in the window`);
    assert.equal((await api.post(`/jobs/${j.id}/cancel`)).status, 200);
  });

  it('409 for transitions the state machine forbids; 404 for unknown jobs', async () => {
    const j = (await api.post<JobView>('/jobs', { scenario: '720p30-h264', parameters: { duration: 30, preset: 'medium' } })).body;
    await jobStatus(api, j.id, ['running']);
    const resume = await api.post(`/jobs/${j.id}/resume`);
    assert.equal(resume.status, 409);
    assert.deepEqual(resume.body, { error: 'cannot resume a job that is running (allowed from: paused)', status: 409 });
    assert.equal((await api.post(`/jobs/${j.id}/retry`)).status, 409);

    const pid = await waitFor('encoder', () => encodersOfJob(j.id)[0]?.pid);
    const canceled = await api.post<JobView>(`/jobs/${j.id}/cancel`);
    assert.equal(canceled.status, 200);
    assert.equal(canceled.body.status, 'canceled');
    assert.equal(processState(pid), null, 'the encoder is gone when cancel answers');
    const again = await api.post(`/jobs/${j.id}/cancel`);
    assert.equal(again.status, 409);
    assert.match(again.body.error, /cannot cancel a job that is canceled/);

    for (const path of ['/jobs/00000000-0000-4000-8000-000000000000', '/jobs/999999999', '/jobs/not-a-job', '/jobs/999999999/logs']) {
      const r = await api.get(path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.status, 404);
    }
    assert.equal((await api.post('/jobs/00000000-0000-4000-8000-000000000000/pause')).status, 404);

    // a canceled job can be retried: same id, earlier transitions kept
    const retried = await api.post<JobView>(`/jobs/${j.sequence_number}/retry`);
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.body.id, j.id);
    assert.deepEqual(retried.body.state_transitions.slice(0, 6).map((t) => t.to), ['queued', 'assigned', 'running', 'canceled', 'retrying', 'queued']);
    await api.post(`/jobs/${j.id}/cancel`);
    // both runs are in Temporal's visibility; the list shows the job once
    const listed = await waitFor('the list to show the new run', async () => {
      const l = await api.get<{ jobs: { id: string; retry_count: number }[] }>('/jobs?limit=500');
      const mine = l.body.jobs.filter((x) => x.id === j.id);
      return mine.length === 1 && mine[0]!.retry_count === 1 ? mine : undefined;
    });
    assert.equal(listed.length, 1);
  });
});
