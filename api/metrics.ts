/**
 * Master metrics (prom-client), served on their own port. Job and node figures come from
 * Temporal's visibility and task-queue stats at scrape time (cached briefly), so every master
 * replica reports the same truth; HTTP figures are this replica's own.
 */
import http from 'node:http';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CAPABILITIES } from '../domain/encoders';
import { NODE_STATUSES } from '../domain/nodes';
import { ORCHESTRATION_QUEUE, encodeQueue } from '../domain/queues';
import { JOB_STATUSES, TERMINAL_STATUSES } from '../domain/states';
import type { WebhookMetrics } from '../lib/webhook-send';

const CACHE_MS = 2_000;

/**
 * Every call this master makes to Temporal, by gRPC method: what the read cache and the event
 * streams save is measured with it (bench/front-door.ts). Counted by a client interceptor, so it
 * exists before the client does.
 */
export function temporalRequestCounter(): Counter<'method'> {
  return new Counter({ name: 'ffrtmp_master_temporal_requests_total', help: 'Calls this master made to Temporal, by gRPC method', labelNames: ['method'], registers: [] });
}

/** A gRPC client interceptor that counts each call (options.method_definition.path: /package.Service/Method). */
export function countingInterceptor(counter: Counter<'method'>) {
  return (options: { method_definition: { path: string } }, nextCall: (options: any) => any) => {
    counter.inc({ method: options.method_definition.path.slice(options.method_definition.path.lastIndexOf('/') + 1) });
    return nextCall(options);
  };
}

export interface MasterMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  rateLimited: Counter<'principal'>;
  /** webhook attempts this master made, by outcome, and their latency */
  webhooks?: WebhookMetrics;
}

export function createMasterMetrics(client: Client, temporalRequests?: Counter<'method'>): MasterMetrics {
  const registry = new Registry();
  if (temporalRequests) registry.registerMetric(temporalRequests);
  collectDefaultMetrics({ register: registry, prefix: 'ffrtmp_master_' });
  const ns = client.options.namespace;
  const count = async (query: string) =>
    Number((await client.workflowService.countWorkflowExecutions({ namespace: ns, query })).count ?? 0);

  let cached: { at: number; value: Promise<Snapshot> } | undefined;
  interface Snapshot {
    jobs: Record<string, number>;
    finished: Record<string, number>;
    created: number;
    nodes: Record<string, number>;
    backlog: Record<string, number>;
  }
  const snapshot = (): Promise<Snapshot> => {
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.value;
    const value = (async () => {
      const jobs: Record<string, number> = {};
      const finished: Record<string, number> = {};
      const nodes: Record<string, number> = {};
      const backlog: Record<string, number> = {};
      await Promise.all([
        ...JOB_STATUSES.map(async (s) => (jobs[s] = await count(`WorkflowType = 'transcodeJob' AND ExecutionStatus = 'Running' AND JobStatus = '${s}'`))),
        ...TERMINAL_STATUSES.map(async (s) => (finished[s] = await count(`WorkflowType = 'transcodeJob' AND ExecutionStatus != 'Running' AND JobStatus = '${s}'`))),
        ...NODE_STATUSES.map(async (s) => (nodes[s] = await count(`WorkflowType = 'nodeEntity' AND ExecutionStatus = 'Running' AND NodeStatus = '${s}'`))),
        ...[...CAPABILITIES.map(encodeQueue), ORCHESTRATION_QUEUE].map(async (q) => {
          const type = q === ORCHESTRATION_QUEUE ? temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;
          const r = await client.workflowService.describeTaskQueue({ namespace: ns, taskQueue: { name: q }, taskQueueType: type, reportStats: true });
          backlog[q] = Number(r.stats?.approximateBacklogCount ?? 0);
        }),
      ]);
      // closed runs: finished; open runs in a terminal status are finishing right now
      for (const s of TERMINAL_STATUSES) finished[s] = (finished[s] ?? 0) + (jobs[s] ?? 0);
      const created = await count(`WorkflowType = 'transcodeJob'`);
      return { jobs, finished, created, nodes, backlog };
    })();
    cached = { at: Date.now(), value };
    value.catch(() => (cached = undefined));
    return value;
  };

  new Gauge({
    name: 'ffrtmp_jobs',
    help: 'Jobs whose workflow is open, by job status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      for (const [status, n] of Object.entries(s.jobs)) this.set({ status }, n);
    },
  });
  new Counter({
    name: 'ffrtmp_jobs_finished_total',
    help: 'Job runs that ended, by final status (from Temporal visibility)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const [status, n] of Object.entries(s.finished)) this.inc({ status }, n);
    },
  });
  new Counter({
    name: 'ffrtmp_jobs_created_total',
    help: 'Job runs created (from Temporal visibility; a manual retry is a new run)',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      this.inc(s.created);
    },
  });
  new Gauge({
    name: 'ffrtmp_task_queue_backlog',
    help: 'Approximate tasks waiting in each task queue (Temporal task-queue stats)',
    labelNames: ['task_queue'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      for (const [q, n] of Object.entries(s.backlog)) this.set({ task_queue: q }, n);
    },
  });
  new Gauge({
    name: 'ffrtmp_nodes',
    help: 'Registered nodes by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      for (const [status, n] of Object.entries(s.nodes)) this.set({ status }, n);
    },
  });

  return {
    registry,
    httpDuration: new Histogram({
      name: 'ffrtmp_http_request_duration_seconds',
      help: 'Master API request durations, by route template',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'ffrtmp_rate_limited_total',
      help: 'Requests refused with 429, by kind of client (api-key or address)',
      labelNames: ['principal'],
      registers: [registry],
    }),
    webhooks: {
      attempts: new Counter({
        name: 'ffrtmp_webhook_deliveries_total',
        help: 'Webhook delivery attempts this master made, by outcome (delivered, http_error, timeout, network_error, refused, gone)',
        labelNames: ['outcome'],
        registers: [registry],
      }),
      latency: new Histogram({
        name: 'ffrtmp_webhook_delivery_duration_seconds',
        help: 'Time from sending a webhook to its answer (or the attempt\'s end), by outcome',
        labelNames: ['outcome'],
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      }),
    },
  };
}

export function serveMetrics(registry: Registry, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found; try /metrics', status: 404 }));
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`# metrics unavailable: ${err.message}\n`),
    );
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}
