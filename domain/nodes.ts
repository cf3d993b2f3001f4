/**
 * Node identity and the node record. A node's id is a pure function of its address, so a worker
 * knows its own control queue before it ever reaches the master, and the master gives the same
 * id when the same address registers again.
 */
import type { Capability } from './encoders';
import type { PowerPoint } from './power';

/**
 * online: heartbeating, idle; busy: running jobs; draining: asked to take no new work, finishing
 * what it runs; drained: drained and idle; offline: missed three heartbeats (its attempts are
 * retried elsewhere when their own heartbeats time out).
 */
export const NODE_STATUSES = ['online', 'busy', 'draining', 'drained', 'offline'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export function nodeIdFromAddress(address: string): string {
  let host = address;
  let port = '';
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/i.exec(address.trim());
  if (m) {
    host = m[1]!;
    port = m[2] ?? (/^https:/i.test(address) ? '443' : /^http:/i.test(address) ? '80' : '');
  }
  const slug = `${host}${port ? `-${port}` : ''}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, 100) || 'node';
}

export interface NodeRegistration {
  address: string;
  type: 'worker';
  name: string;
  cpu_threads: number;
  cpu_model: string;
  has_gpu: boolean;
  gpu_type: string | null;
  /** comma-separated, as the spec writes it: "nvenc,cuda" */
  gpu_capabilities: string;
  ram_total_bytes: number;
  /** what the node polls: encode capabilities and encoders it really has */
  capabilities: Capability[];
  encoders: string[];
  /** capabilities declared by configuration for tests, not detected */
  simulated_capabilities: Capability[];
  version: string;
}

export interface NodeLoad {
  running_jobs: number;
  cpu_percent: number | null;
  memory_bytes: number | null;
  power_watts: number | null;
  /**
   * what power_watts is measured by (domain/power.ts: rapl, nvidia-smi, nvidia-smi+rapl, estimate);
   * absent from workers older than the field, and from a load not heard since the master was upgraded
   */
  power_source?: string | null;
}

export interface NodeView extends NodeRegistration {
  id: string;
  status: NodeStatus;
  registered_at: string;
  last_heartbeat: string | null;
  load: NodeLoad | null;
  drain_requested: boolean;
  heartbeat_interval_seconds: number;
  /**
   * the node's power over the last hour, a point a minute (domain/power.ts), from its heartbeats;
   * absent until the first heartbeat with power that the entity hears on code that keeps it
   */
  power_history?: PowerPoint[];
}

/** What a heartbeat answer tells the worker. */
export interface HeartbeatAnswer {
  action: 'continue' | 'drain';
  status: NodeStatus;
}

export interface NodeEntityInput {
  id: string;
  heartbeatIntervalMs: number;
  /** the node's state when a run continues as new */
  state?: NodeView;
}

export const NODE_WORKFLOW_ID_PREFIX = 'node-';
export function nodeWorkflowId(nodeId: string): string {
  return NODE_WORKFLOW_ID_PREFIX + nodeId;
}

/** Heartbeats a node may miss before it is offline. */
export const MISSED_HEARTBEATS_OFFLINE = 3;
