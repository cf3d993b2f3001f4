/**
 * The entity workflows on a real dev server: a node through registration, heartbeats, offline,
 * drain and removal; the sequence counter across a continue-as-new. Each records its history for
 * the replay test.
 */
import assert from 'node:assert/strict';
import { WithStartWorkflowOperation } from '@temporalio/client';
import * as msg from '../../domain/messages';
import { nodeWorkflowId, type NodeRegistration } from '../../domain/nodes';
import { ORCHESTRATION_QUEUE } from '../../domain/queues';
import { waitFor } from '../helpers/wait';
import { harness, record, type Harness } from './harness';

const registration = (address: string): NodeRegistration => ({
  address,
  type: 'worker',
  name: 'entity-test',
  cpu_threads: 4,
  cpu_model: 'test cpu',
  has_gpu: false,
  gpu_type: null,
  gpu_capabilities: '',
  ram_total_bytes: 1 << 30,
  capabilities: ['cpu'],
  encoders: ['libx264'],
  simulated_capabilities: [],
  version: '0.1.0',
});

const load = (running_jobs: number) => ({ running_jobs, cpu_percent: null, memory_bytes: null, power_watts: null });

describe('entity workflows (real Temporal): nodes and the sequence counter', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async function () {
    this.timeout(90_000);
    h = await harness();
  });

  it('a node: registered, heartbeats, offline when silent, back, drained, removed when silent', async () => {
    const address = 'http://entity-node.test:9091';
    const { created, node } = await h.nodes.register(registration(address));
    assert.ok(created);
    assert.equal((await h.nodes.heartbeat(node.id, load(1))).status, 'busy');
    assert.equal((await h.nodes.heartbeat(node.id, load(0))).status, 'online');
    // three missed heartbeats (300 ms each here)
    await waitFor('offline', async () => ((await h.nodes.get(node.id)).status === 'offline' ? true : undefined), { timeoutMs: 10_000 });
    assert.equal((await h.nodes.heartbeat(node.id, load(0))).status, 'online');
    assert.equal((await h.nodes.register(registration(address))).created, false);
    assert.equal((await h.nodes.drain(node.id)).status, 'draining');
    const answer = await h.nodes.heartbeat(node.id, load(0));
    assert.equal(answer.action, 'drain');
    assert.equal(answer.status, 'drained');
    // silent once drained: the entity ends (the node is removed)
    const handle = h.client.workflow.getHandle(nodeWorkflowId(node.id));
    await waitFor('removed', async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined), { timeoutMs: 10_000 });
    await record(h, nodeWorkflowId(node.id), 'node-entity');
  });

  it('a node\'s power: its source with the figure, a point a minute kept in the entity; a heartbeat without them (an older worker) still works', async () => {
    const { node } = await h.nodes.register(registration('http://entity-power.test:9091'));
    // an older worker: no power figures at all, then no source
    assert.equal((await h.nodes.heartbeat(node.id, { running_jobs: 0 } as never)).status, 'online');
    let view = await h.nodes.get(node.id);
    assert.equal(view.load?.power_watts, null);
    assert.equal(view.power_history, undefined, 'no history without power');
    await h.nodes.heartbeat(node.id, { ...load(0), power_watts: 30 });
    view = await h.nodes.get(node.id);
    assert.equal(view.load?.power_source, null, 'a figure without a source: unknown, not guessed');
    await h.nodes.heartbeat(node.id, { ...load(1), power_watts: 50, power_source: 'estimate' });
    view = await h.nodes.get(node.id);
    assert.deepEqual([view.load?.power_watts, view.load?.power_source], [50, 'estimate']);
    const points = view.power_history ?? [];
    assert.ok(points.length >= 1 && points.length <= 2, `a point a minute: ${JSON.stringify(points)}`);
    assert.equal(points.reduce((n, p) => n + p.heartbeats, 0), 2, 'both heartbeats with power counted');
    const last = points.at(-1)!;
    assert.equal(Date.parse(last.at) % 60_000, 0, 'points sit on minutes');
    assert.ok(Date.now() - Date.parse(last.at) < 120_000, 'the current minute');
    // re-registration (a worker restart) keeps the history
    await h.nodes.register(registration('http://entity-power.test:9091'));
    assert.deepEqual((await h.nodes.get(node.id)).power_history, points);
    await record(h, nodeWorkflowId(node.id), 'node-entity-power');
  });

  it('the sequence counter hands out numbers across a continue-as-new, none twice', async () => {
    const take = (count: number) =>
      h.client.workflow.executeUpdateWithStart(msg.nextSequenceUpdate, {
        args: [count],
        startWorkflowOperation: new WithStartWorkflowOperation('sequenceCounter', {
          workflowId: msg.SEQUENCE_WORKFLOW_ID,
          taskQueue: ORCHESTRATION_QUEUE,
          args: [{ next: 1 }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    const first = await take(1000);
    const second = await take(1000);
    // 2,000 handed out: the run continues as new; the next number comes from the new run
    const third = await waitFor('the counter after its continue-as-new', () => take(1), { timeoutMs: 20_000 });
    assert.equal(second, first + 1000);
    assert.equal(third, first + 2000);
    const desc = await h.client.workflow.getHandle(msg.SEQUENCE_WORKFLOW_ID).describe();
    assert.notEqual(desc.runId, desc.raw.workflowExecutionInfo?.firstRunId, 'a new run');
    await record(h, msg.SEQUENCE_WORKFLOW_ID, 'sequence-counter', 2);
  });
});
