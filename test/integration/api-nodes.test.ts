import assert from 'node:assert/strict';
import type { NodeView } from '../../domain/nodes';
import { startTestMaster, type ApiClient, type TestMaster } from '../helpers/master';
import { waitFor } from '../helpers/wait';

const registration = (port: number, extra: Record<string, unknown> = {}) => ({
  address: `http://10.0.0.${port % 250}:${port}`,
  type: 'worker',
  cpu_threads: 8,
  cpu_model: 'Intel Xeon',
  has_gpu: true,
  gpu_type: 'NVIDIA RTX 4090',
  gpu_capabilities: 'nvenc,cuda',
  ram_total_bytes: 17179869184,
  ...extra,
});

describe('master API: nodes', function () {
  this.timeout(60_000);
  let master: TestMaster;
  let api: ApiClient;

  before(async () => {
    // heartbeats every 1 s: a node is offline after 3 s of silence
    master = await startTestMaster({ FFRTMP_RUN_WORKFLOWS: 'true', FFRTMP_NODE_HEARTBEAT_SECONDS: '1' });
    api = master.api;
  });
  after(async () => master?.stop());

  it('registers a node (201), and the same address again gives 200, the same id and updated details', async () => {
    const first = await api.post<NodeView>('/nodes/register', registration(19101));
    assert.equal(first.status, 201, first.text);
    assert.equal(first.body.id, '10.0.0.101-19101');
    assert.equal(first.body.status, 'online');
    // sent as the spec's comma-separated string, answered as an array (issue 13: the spec's CLI parses one)
    assert.deepEqual(first.body.gpu_capabilities, ['nvenc', 'cuda']);
    const again = await api.post<NodeView>('/nodes/register', registration(19101, { cpu_threads: 16, cpu_model: 'AMD EPYC' }));
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.cpu_threads, 16);
    assert.equal(again.body.registered_at, first.body.registered_at);

    const got = await api.get<NodeView>(`/nodes/${first.body.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.cpu_model, 'AMD EPYC');
    const list = await waitFor('node listed', async () => {
      const l = await api.get<{ nodes: NodeView[]; count: number }>('/nodes');
      return l.body.nodes.some((n) => n.id === first.body.id) ? l.body : undefined;
    });
    assert.equal(list.count, list.nodes.length);
  });

  it('heartbeats carry load and answer continue; a silent node goes offline and comes back', async () => {
    const { body: node } = await api.post<NodeView>('/nodes/register', registration(19102));
    const hb = await api.post(`/nodes/${node.id}/heartbeat`, { running_jobs: 2, cpu_percent: 180.5, memory_bytes: 1e9, power_watts: 95 });
    assert.equal(hb.status, 200, hb.text);
    assert.deepEqual(hb.body, { action: 'continue', status: 'busy' });
    const busy = (await api.get<NodeView>(`/nodes/${node.id}`)).body;
    // no power source sent (an older worker): unknown, not guessed; a source sent is kept with the watts
    assert.deepEqual(busy.load, { running_jobs: 2, cpu_percent: 180.5, memory_bytes: 1e9, power_watts: 95, power_source: null });
    assert.equal((await api.post(`/nodes/${node.id}/heartbeat`, { running_jobs: 2, power_watts: 80, power_source: 'nvidia-smi+rapl' })).status, 200);
    assert.deepEqual((await api.get<NodeView>(`/nodes/${node.id}`)).body.load, { running_jobs: 2, cpu_percent: null, memory_bytes: null, power_watts: 80, power_source: 'nvidia-smi+rapl' });
    const bad = await api.post<{ error: string }>(`/nodes/${node.id}/heartbeat`, { power_source: 'solar; rm -rf' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^power_source: must be rapl, nvidia-smi or estimate/);
    assert.equal((await api.post(`/nodes/${node.id}/heartbeat`)).status, 200, 'the body is optional');

    await waitFor('offline after three missed heartbeats', async () => (await api.get<NodeView>(`/nodes/${node.id}`)).body.status === 'offline', { timeoutMs: 10_000, intervalMs: 250 });
    const back = await api.post(`/nodes/${node.id}/heartbeat`, { running_jobs: 0 });
    assert.deepEqual(back.body, { action: 'continue', status: 'online' });
  });

  it('DELETE drains: heartbeats answer drain, the node drains, and once silent it is removed', async () => {
    const { body: node } = await api.post<NodeView>('/nodes/register', registration(19103));
    await api.post(`/nodes/${node.id}/heartbeat`, { running_jobs: 1 });
    const del = await api.delete<NodeView>(`/nodes/${node.id}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(del.body.status, 'draining');
    assert.equal(del.body.drain_requested, true);
    assert.deepEqual((await api.post(`/nodes/${node.id}/heartbeat`, { running_jobs: 1 })).body, { action: 'drain', status: 'draining' });
    assert.deepEqual((await api.post(`/nodes/${node.id}/heartbeat`, { running_jobs: 0 })).body, { action: 'drain', status: 'drained' });
    await waitFor('removed', async () => (await api.get(`/nodes/${node.id}`)).status === 404, { timeoutMs: 10_000, intervalMs: 250 });
    const hb = await api.post(`/nodes/${node.id}/heartbeat`, { running_jobs: 0 });
    assert.equal(hb.status, 404, 'a removed node is told to register again');
    assert.equal((await api.post('/nodes/register', registration(19103))).status, 201);
  });

  it('unknown nodes: 404 on get, heartbeat and delete; bad registrations: 400', async () => {
    for (const r of [await api.get('/nodes/nope'), await api.post('/nodes/nope/heartbeat', {}), await api.delete('/nodes/nope')]) {
      assert.equal(r.status, 404);
      assert.equal(r.body.status, 404);
    }
    const bad = await api.post('/nodes/register', { ...registration(19104), cpu_threads: -1 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /cpu_threads/);
    assert.equal((await api.post('/nodes/register', { ...registration(19104), address: 'not a url' })).status, 400);
    assert.equal((await api.post('/nodes/x/heartbeat', { running_jobs: 'many' })).status, 400);
  });
});
