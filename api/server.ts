/**
 * The master: REST API on :8080 (HTTP, or HTTPS with optional client certificates), metrics on
 * :9090, and — unless disabled — a Temporal worker on the orchestration queue so job, node and
 * sequence workflows make progress even before any worker agent is up. It keeps no state of its
 * own: kill it, restart it, or run two.
 */
import http from 'node:http';
import https from 'node:https';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ORCHESTRATION_QUEUE } from '../domain/queues';
import { JobService } from '../lib/job-service';
import { createLogger, type Logger } from '../lib/logger';
import { installSdkRuntime } from '../lib/sdk-runtime';
import { NodeService } from '../lib/node-service';
import { connectionOptions } from '../lib/temporal';
import { WEBHOOK_QUEUE } from '../domain/webhooks';
import { WebhookService } from '../lib/webhook-service';
import type { WebhookMetrics } from '../lib/webhook-send';
import { orchestrationWorkerOptions, webhookWorkerOptions } from '../workers/orchestration-worker';
import { heapSizingWarning, sizeWorkflowThreadHeap } from '../lib/master-memory';
import { createApp } from './app';
import { EventHub } from './events';
import { fastReads } from './fast-reads';
import { Gate } from './gate';
import { ConfigError, loadMasterConfig, type MasterConfig } from './config';
import { countingInterceptor, createMasterMetrics, serveMetrics, temporalRequestCounter } from './metrics';
import { buildOpenApi } from './openapi';
import { RateLimiter } from './rate-limit';
import { tlsServerOptions } from './tls';

export const VERSION = '0.1.0';

export interface RunningMaster {
  server: http.Server | https.Server;
  metricsServer: http.Server;
  stop(): Promise<void>;
}

/**
 * Runs the master's Temporal workers — the orchestration worker (unless FFRTMP_RUN_WORKFLOWS=false)
 * and the webhook deliveries (unless FFRTMP_WEBHOOK_DELIVERY=false) — reconnecting while Temporal
 * is away.
 */
function runOrchestrationWorker(config: MasterConfig, logger: Logger, webhookMetrics?: WebhookMetrics): { stop(): Promise<void> } {
  let stopped = false;
  let workers: Worker[] = [];
  const loop = (async () => {
    while (!stopped) {
      try {
        const connection = await NativeConnection.connect(connectionOptions(config.temporal));
        const identity = `master@${process.pid}`;
        workers = [];
        if (config.runWorkflows) workers.push(await Worker.create(orchestrationWorkerOptions(connection, config.temporal.namespace, identity, config.workflowCacheSize)));
        if (config.webhooks.deliver) workers.push(await Worker.create(webhookWorkerOptions(connection, config.temporal.namespace, identity, config.webhooks, webhookMetrics)));
        if (stopped) break;
        logger.info({ task_queues: [...(config.runWorkflows ? [ORCHESTRATION_QUEUE] : []), ...(config.webhooks.deliver ? [WEBHOOK_QUEUE] : [])] }, 'orchestration worker polling');
        await Promise.all(workers.map((w) => w.run()));
        await connection.close();
      } catch (err) {
        if (stopped) break;
        logger.warn({ err: (err as Error).message }, 'orchestration worker cannot reach Temporal; retrying in 2 s');
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await loop;
    },
  };
}

export async function startMaster(
  config: MasterConfig,
  logger: Logger,
  hooks: { onResponse?: (method: string, route: string, status: number) => void } = {},
): Promise<RunningMaster> {
  // retry briefly (about 0.6 s), then answer 503: a client waiting 30 s for an outage helps nobody
  const temporalRequests = temporalRequestCounter();
  const connection = Connection.lazy({
    ...connectionOptions(config.temporal),
    connectTimeout: '3s',
    interceptors: [countingInterceptor(temporalRequests), makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 4 }))],
  });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const jobs = new JobService(client, config.resolve);
  const nodes = new NodeService(client, config.nodeHeartbeatMs);
  const metrics = createMasterMetrics(client, temporalRequests);
  const openapi = buildOpenApi(VERSION, { inputs: config.resolve });

  const health = async () => {
    try {
      await Promise.race([
        client.workflowService.getSystemInfo({}),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000)),
      ]);
      return { status: 'ok' as const, temporal: 'ok' as const };
    } catch {
      return { status: 'degraded' as const, temporal: 'unreachable' as const };
    }
  };

  const webhooks = new WebhookService(client, config.webhooks, metrics.webhooks);
  const ctx = { jobs, nodes, webhooks, events: new EventHub(jobs), health, openapi: () => openapi };
  const gate = new Gate({
    logger,
    apiKeys: config.apiKeys,
    noAuth: config.noAuth,
    rateLimiter: config.rateLimit.disabled ? null : new RateLimiter(config.rateLimit.perMinute, config.rateLimit.burst),
    metrics,
    onResponse: hooks.onResponse,
  });
  const app = createApp({ ctx, gate, logger, apiKeys: config.apiKeys, noAuth: config.noAuth, rateLimiter: null, bodyLimit: config.bodyLimit, metrics });
  // the hottest reads take the lean path; everything else, express (api/fast-reads.ts)
  const fast = fastReads(ctx, gate, logger);
  const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!fast(req, res)) app(req, res);
  };

  const tls = tlsServerOptions(config.tls);
  const server = tls ? https.createServer(tls, serve) : http.createServer(serve);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const metricsServer = await serveMetrics(metrics.registry, config.metricsHost, config.metricsPort);
  const orchestration = config.runWorkflows || config.webhooks.deliver ? runOrchestrationWorker(config, logger, metrics.webhooks) : undefined;

  const scheme = tls ? 'https' : 'http';
  logger.info(
    { api: `${scheme}://${config.host}:${(server.address() as { port: number }).port}`, metrics: `http://${config.metricsHost}:${(metricsServer.address() as { port: number }).port}/metrics`, auth: config.noAuth ? 'none' : `${config.apiKeys.length} API key(s)${tls?.requestCert ? ' or a client certificate' : ''}` },
    'master listening',
  );

  return {
    server,
    metricsServer,
    async stop() {
      const closed = new Promise((r) => server.close(r));
      // an event stream (a dashboard, `jobs watch`) never ends by itself: what is still open after a moment is closed
      const grace = setTimeout(() => server.closeAllConnections(), 2_000);
      await closed;
      clearTimeout(grace);
      await new Promise((r) => metricsServer.close(r));
      await orchestration?.stop();
      await connection.close();
    },
  };
}

async function main(): Promise<void> {
  const logger = createLogger('master');
  let config: MasterConfig;
  try {
    config = loadMasterConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
  installSdkRuntime(logger.child({ component: 'temporal-sdk' }), { shutdownSignals: [] });
  const unsized = heapSizingWarning();
  if (unsized) logger.warn(unsized);
  sizeWorkflowThreadHeap();
  let master: RunningMaster;
  try {
    master = await startMaster(config, logger);
  } catch (err) {
    logger.fatal((err as Error).message);
    process.exit(2);
  }
  if (config.generatedKeyFile) {
    const key = config.apiKeys[0];
    console.log(`\n[master] API key (kept in ${config.generatedKeyFile}):\n  export FFMPEG_RTMP_API_KEY=${key}\n  curl -H "X-API-Key: $FFMPEG_RTMP_API_KEY" http://127.0.0.1:${config.port}/jobs\n`);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    logger.info('master stopping');
    await master.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
