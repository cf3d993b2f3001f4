/**
 * A node as an entity workflow (id node-<node id>): its registration, heartbeats, liveness and
 * drain. Registration and heartbeats are updates, so the answer (created? keep working or drain?)
 * comes back with them. Three missed heartbeats make the node offline. A drained node that goes
 * offline is removed (the workflow completes). It continues as new before history grows large.
 */
import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { FAILURE } from '../domain/failures';
import { drainNodeUpdate, nodeHeartbeatUpdate, nodeViewQuery, registerNodeUpdate } from '../domain/messages';
import { MISSED_HEARTBEATS_OFFLINE, type NodeEntityInput, type NodeLoad, type NodeStatus, type NodeView } from '../domain/nodes';
import { addPowerReading } from '../domain/power';
import { SA } from '../domain/search-attributes';

const UPDATES_PER_RUN = 500;

export async function nodeEntity(input: NodeEntityInput): Promise<void> {
  let node: NodeView | undefined = input.state;
  let rev = 0;
  let updates = 0;
  /** a heartbeat arrived since the drain was asked for, so the load figures are the worker's answer */
  let drainHeard = false;

  const setStatus = (status: NodeStatus) => {
    if (!node) return;
    if (node.status !== status) upsertSearchAttributes([{ key: SA.nodeStatus, value: status }]);
    node.status = status;
  };
  const liveStatus = (): NodeStatus => {
    if (!node) return 'offline';
    if (node.drain_requested) return drainHeard && (node.load?.running_jobs ?? 0) === 0 ? 'drained' : 'draining';
    return (node.load?.running_jobs ?? 0) > 0 ? 'busy' : 'online';
  };

  const requireRegistered = () => {
    if (!node) throw ApplicationFailure.create({ type: FAILURE.nodeNotRegistered, message: 'node is not registered', nonRetryable: true });
  };

  setHandler(registerNodeUpdate, (reg) => {
    updates++;
    rev++;
    const now = new Date().toISOString();
    const created = node === undefined;
    // a (re)registration is a fresh start: it clears an earlier drain
    node = {
      ...reg,
      id: input.id,
      status: 'online',
      registered_at: node?.registered_at ?? now,
      last_heartbeat: now,
      load: node?.load ?? null,
      ...(node?.power_history ? { power_history: node.power_history } : {}),
      drain_requested: false,
      heartbeat_interval_seconds: input.heartbeatIntervalMs / 1000,
    };
    setStatus(liveStatus());
    upsertSearchAttributes([{ key: SA.nodeStatus, value: node.status }]);
    return { created, node };
  });

  setHandler(nodeHeartbeatUpdate, (load) => {
    updates++;
    rev++;
    if (!node) throw new Error('node is not registered');
    node.last_heartbeat = new Date().toISOString();
    node.load = {
      running_jobs: load.running_jobs ?? 0,
      cpu_percent: load.cpu_percent ?? null,
      memory_bytes: load.memory_bytes ?? null,
      power_watts: load.power_watts ?? null,
      power_source: load.power_source ?? null,
    };
    // state only, no command: older histories replay unchanged (docs/ARCHITECTURE.md, rule 2)
    if (typeof load.power_watts === 'number') node.power_history = addPowerReading(node.power_history ?? [], Date.now(), load.power_watts);
    if (node.drain_requested) drainHeard = true;
    setStatus(liveStatus());
    return { action: node.drain_requested ? 'drain' : 'continue', status: node.status };
  }, { validator: (_load: NodeLoad) => requireRegistered() });

  setHandler(drainNodeUpdate, () => {
    updates++;
    rev++;
    node!.drain_requested = true;
    drainHeard = false;
    setStatus(node!.status === 'offline' ? 'offline' : liveStatus());
    return node!;
  }, { validator: () => requireRegistered() });

  setHandler(nodeViewQuery, () => {
    if (!node) throw new Error('node is not registered');
    return node;
  });

  const offlineAfter = input.heartbeatIntervalMs * MISSED_HEARTBEATS_OFFLINE;
  for (;;) {
    const seen = rev;
    const heard = await condition(() => rev !== seen, offlineAfter);
    if (!heard && node && node.status !== 'offline') {
      if (node.drain_requested) break; // asked to go, and silent: remove the node
      setStatus('offline');
    }
    if (updates >= UPDATES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof nodeEntity>({ ...input, state: node });
    }
  }
  await condition(allHandlersFinished);
}
