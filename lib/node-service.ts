/**
 * Nodes on Temporal: each node is an entity workflow (workflows/node.ts). Stateless like the job
 * service; errors are ApiErrors.
 */
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE } from '../domain/failures';
import * as msg from '../domain/messages';
import {
  NODE_WORKFLOW_ID_PREFIX,
  nodeIdFromAddress,
  nodeWorkflowId,
  type HeartbeatAnswer,
  type NodeEntityInput,
  type NodeLoad,
  type NodeRegistration,
  type NodeView,
} from '../domain/nodes';
import { ORCHESTRATION_QUEUE } from '../domain/queues';
import { SA } from '../domain/search-attributes';
import type { nodeEntity } from '../workflows';
import { ApiError, notFound, temporalFailure } from './errors';

export class NodeService {
  constructor(
    readonly client: Client,
    private readonly heartbeatIntervalMs: number,
  ) {}

  async register(reg: NodeRegistration): Promise<{ created: boolean; node: NodeView }> {
    const id = nodeIdFromAddress(reg.address);
    const input: NodeEntityInput = { id, heartbeatIntervalMs: this.heartbeatIntervalMs };
    return this.guard(
      () =>
        this.client.workflow.executeUpdateWithStart(msg.registerNodeUpdate, {
          args: [reg],
          startWorkflowOperation: new WithStartWorkflowOperation<typeof nodeEntity>('nodeEntity', {
            workflowId: nodeWorkflowId(id),
            taskQueue: ORCHESTRATION_QUEUE,
            args: [input],
            workflowIdConflictPolicy: 'USE_EXISTING',
            typedSearchAttributes: [{ key: SA.nodeStatus, value: 'online' }],
          }),
        }),
      id,
    );
  }

  async heartbeat(id: string, load: NodeLoad): Promise<HeartbeatAnswer> {
    return this.guard(() => this.client.workflow.getHandle(nodeWorkflowId(id)).executeUpdate(msg.nodeHeartbeatUpdate, { args: [load] }), id);
  }

  async drain(id: string): Promise<NodeView> {
    return this.guard(() => this.client.workflow.getHandle(nodeWorkflowId(id)).executeUpdate(msg.drainNodeUpdate), id);
  }

  async get(id: string): Promise<NodeView> {
    if (!/^[a-z0-9.-]{1,100}$/.test(id)) throw notFound(`node ${id.slice(0, 64)} not found`);
    const handle = this.client.workflow.getHandle(nodeWorkflowId(id));
    const desc = await this.guard(() => handle.describe(), id);
    if (desc.status.name !== 'RUNNING') throw notFound(`node ${id} not found (removed)`);
    return this.guard(() => handle.query(msg.nodeViewQuery), id);
  }

  async list(): Promise<NodeView[]> {
    const ids: string[] = [];
    await this.guard(async () => {
      for await (const wf of this.client.workflow.list({ query: `WorkflowType = 'nodeEntity' AND ExecutionStatus = 'Running'` })) {
        ids.push(wf.workflowId.slice(NODE_WORKFLOW_ID_PREFIX.length));
      }
    });
    const views = await Promise.all(
      ids.map((id) => this.client.workflow.getHandle(nodeWorkflowId(id)).query(msg.nodeViewQuery).catch(() => undefined)),
    );
    return views.filter((v): v is NodeView => v !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }

  private async guard<T>(fn: () => Promise<T>, id?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (err instanceof WorkflowNotFoundError) throw notFound(`node ${id} not found`);
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE.nodeNotRegistered) {
        throw notFound(`node ${id} not found`);
      }
      throw temporalFailure(err, `node ${id}`) ?? err;
    }
  }
}
