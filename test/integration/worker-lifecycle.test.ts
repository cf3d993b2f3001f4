import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { JobView } from '../../domain/job';
import type { NodeView } from '../../domain/nodes';
import { nodeWorkflowId } from '../../domain/nodes';
import { freePort } from '../../lib/dev-server';
import { cluster, restartTemporal, startWorker, type WorkerAgent } from '../helpers/cluster';
import { TEST_KEY, startTestMaster, type ApiClient, type TestMaster } from '../helpers/master';
import { encodersOfJob } from '../helpers/processes';
import { jobStatus } from '../helpers/jobs';
import { waitFor } from '../helpers/wait';

interface PromMetric {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }[];
}

async function scrape(port: number): Promise<Map<string, PromMetric>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return new Map((parsePrometheusTextFormat(text) as PromMetric[]).map((m) => [m.name, m]));
}


describe('worker agents: registration, drain, metrics and power, losing the master or Temporal', function () {
  this.timeout(240_000);
  let master: TestMaster;
  let api: ApiClient;
  let apiPort: number;
  const workers: WorkerAgent[] = [];
  const linked = async (name: string, extra: Record<string, string> = {}) => {
    const w = await startWorker({
      name,
      env: { FFRTMP_MASTER_URL: master.url, FFMPEG_RTMP_API_KEY: TEST_KEY, FFRTMP_HEARTBEAT_INTERVAL_SECONDS: '1', FFRTMP_CAPABILITIES: 'cpu', ...extra },
    });
    workers.push(w);
    return w;
  };

  before(async () => {
    apiPort = await freePort();
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true', FFRTMP_NODE_HEARTBEAT_SECONDS: '1', FFRTMP_API_PORT: String(apiPort) });
    api = master.api;
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await master?.stop();
  });

  it('registers with the spec payload and heartbeats load figures; metrics use the spec names; the job view carries energy', async () => {
    const w = await linked('metrics-node');
    const node = await waitFor<NodeView>('registered', async () => {
      const r = await api.get<NodeView>(`/nodes/${w.nodeId}`);
      return r.status === 200 ? r.body : undefined;
    });
    assert.equal(node.name, 'metrics-node');
    assert.equal(node.address, `http://127.0.0.1:${w.metricsPort}`);
    assert.ok(node.cpu_threads >= 1 && node.ram_total_bytes > 0 && node.cpu_model.length > 0);
    assert.equal(node.has_gpu, false);
    assert.deepEqual(node.gpu_capabilities, []);
    assert.deepEqual(node.capabilities, ['cpu']);

    const job = (await api.post<JobView>('/jobs', { scenario: '720p30-h264', parameters: { duration: 4, preset: 'medium', hardware: 'cpu' } })).body;
    await jobStatus(api, job.id, ['running']);
    const during = await waitFor('heartbeat with a running job', async () => {
      const n = (await api.get<NodeView>(`/nodes/${w.nodeId}`)).body;
      return n.load?.running_jobs === 1 ? n : undefined;
    });
    assert.equal(during.status, 'busy');
    const live = await waitFor('the fps gauge of the running job', async () => {
      const m = await scrape(w.metricsPort);
      return m.get('ffmpeg_encode_fps')!.metrics.some((x) => x.labels?.job_id === job.id) ? m : undefined;
    });
    assert.equal(live.get('ffmpeg_running_jobs')!.metrics[0]!.value, '1');

    const done = await jobStatus(api, job.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed');
    assert.equal(done.power_source, 'estimate', 'no sensor on this machine: an estimate, labelled so');
    assert.ok(done.energy_joules! > 0 && done.avg_power_watts! > 0 && done.cpu_seconds! > 0, JSON.stringify(done));

    const m = await scrape(w.metricsPort);
    const jobsTotal = m.get('ffmpeg_jobs_total')!;
    assert.equal(jobsTotal.type, 'COUNTER');
    assert.ok(jobsTotal.metrics.some((x) => x.labels?.status === 'completed' && x.labels.engine === 'ffmpeg' && x.labels.codec === 'h264' && Number(x.value) >= 1));
    assert.equal(m.get('ffmpeg_job_duration_seconds')!.type, 'HISTOGRAM');
    const power = m.get('ffmpeg_power_watts')!;
    assert.equal(power.type, 'GAUGE');
    assert.ok(power.metrics.length > 0);
    for (const p of power.metrics) {
      assert.ok(p.labels?.domain && ['rapl', 'nvidia-smi', 'estimate'].includes(p.labels.source!), JSON.stringify(p));
    }
    assert.ok(m.get('ffmpeg_cpu_usage_percent'));
    assert.ok(m.get('ffmpeg_memory_bytes')!.metrics.some((x) => x.labels?.process === 'worker' && Number(x.value) > 0));
    const energy = m.get('ffmpeg_job_energy_joules')!.metrics.find((x) => x.labels?.job_id === job.id)!;
    assert.deepEqual([energy.labels!.source, Number(energy.value)], ['estimate', done.energy_joules]);
    assert.ok(m.get('ffmpeg_energy_joules_total')!.metrics.every((x) => x.labels?.source === 'estimate'));
    assert.ok(!m.get('ffmpeg_encode_fps')!.metrics.some((x) => x.labels?.job_id === job.id), 'fps gauge removed when the job ends');
    await w.stop();
  });

  it('drain: running work finishes, no new work is taken, and the worker exits 0 when asked to', async () => {
    const w = await linked('drain-node', { FFRTMP_EXIT_ON_DRAIN: 'true' });
    await waitFor('registered', async () => (await api.get(`/nodes/${w.nodeId}`)).status === 200);
    const running = (await api.post<JobView>('/jobs', { scenario: '720p30-h264', parameters: { duration: 6, preset: 'medium', hardware: 'cpu' } })).body;
    const r = await jobStatus(api, running.id, ['running']);
    assert.equal(r.node_id, w.nodeId);

    const del = await api.delete<NodeView>(`/nodes/${w.nodeId}`);
    assert.equal(del.body.status, 'draining');
    await waitFor('the worker heard it', () => w.logs.some((l) => l.includes('draining: no new work')), { timeoutMs: 10_000 });
    const later = (await api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1, hardware: 'cpu' } })).body;

    const done = await jobStatus(api, running.id, ['completed', 'failed', 'canceled']);
    assert.equal(done.status, 'completed', 'the running job finished on the draining node');
    assert.equal(done.attempts.length, 1);
    assert.equal(await w.exited, 0);
    assert.equal((await api.get<JobView>(`/jobs/${later.id}`)).body.status, 'queued', 'the drained node took no new work');

    const other = await linked('after-drain');
    const laterDone = await jobStatus(api, later.id, ['completed']);
    assert.equal(laterDone.node_id, other.nodeId);
    await other.stop();
  });

  it('a master forgetting the node gets a new registration; losing the master keeps jobs running', async () => {
    const w = await linked('resilient-node');
    await waitFor('registered', async () => (await api.get(`/nodes/${w.nodeId}`)).status === 200);
    const { client } = await cluster();
    await client.workflow.getHandle(nodeWorkflowId(w.nodeId)).terminate('the master forgets this node');
    await waitFor('registered again', async () => (await api.get(`/nodes/${w.nodeId}`)).status === 200, { timeoutMs: 10_000 });
    assert.ok(w.logs.some((l) => l.includes('registered again with the master') || l.includes('registered with the master')));

    const job = (await api.post<JobView>('/jobs', { scenario: '720p30-h264', parameters: { duration: 8, preset: 'medium', hardware: 'cpu' } })).body;
    await jobStatus(api, job.id, ['running']);
    await master.stop(); // the master goes away mid-job
    await waitFor('the worker noticed', () => w.logs.some((l) => l.includes('master unreachable')), { timeoutMs: 10_000 });
    assert.equal(encodersOfJob(job.id).length, 1, 'the encode keeps running');
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true', FFRTMP_NODE_HEARTBEAT_SECONDS: '1', FFRTMP_API_PORT: String(apiPort) });
    api = master.api;
    const done = await jobStatus(api, job.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed');
    assert.equal(done.attempts.length, 1);
    const before = (await api.get<NodeView>(`/nodes/${w.nodeId}`)).body.last_heartbeat;
    await waitFor('heartbeats again', async () => (await api.get<NodeView>(`/nodes/${w.nodeId}`)).body.last_heartbeat !== before, { timeoutMs: 10_000 });
    await w.stop();
  });

  it('a worker that loses Temporal reconnects and takes work again', async () => {
    const w = await linked('temporal-outage-node');
    await restartTemporal(async () => {
      await waitFor('the worker still alive', () => w.alive);
    });
    const job = await waitFor<JobView>('a job accepted after the restart', async () => {
      const r = await api.post<JobView>('/jobs', { scenario: '240p30-h264', parameters: { duration: 1, hardware: 'cpu' } });
      return r.status === 201 ? r.body : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    const done = await jobStatus(api, job.id, ['completed', 'failed'], 90_000);
    assert.equal(done.status, 'completed');
    assert.ok(w.alive);
  });
});
