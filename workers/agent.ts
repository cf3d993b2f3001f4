/**
 * The worker agent: turns this machine into a node. It detects what the machine can encode, runs
 * one Temporal Worker per encode capability it really has (plus its own control queue and, by
 * default, the orchestration queue for workflow tasks), registers with the master and heartbeats,
 * serves metrics on :9091, and stops cleanly:
 *   - SIGTERM/SIGINT: no new work; running encodes get the grace period, then they are killed and
 *     their jobs retried elsewhere; exit 0.
 *   - drain (DELETE /nodes/{id} on the master): no new work; running encodes finish; then exit 0
 *     when FFRTMP_EXIT_ON_DRAIN is set, else stay idle (status drained).
 */
import os from 'node:os';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createControlActivities, createEncodeActivities, createSegmentActivities, EncoderRegistry, jobLogContext } from '../activities';
import { ENCODERS, GPU_CAPABILITIES, type Capability } from '../domain/encoders';
import { nodeIdFromAddress, type NodeRegistration } from '../domain/nodes';
import { encodeQueue, nodeQueue } from '../domain/queues';
import { createLogger, type Logger } from '../lib/logger';
import { installSdkRuntime } from '../lib/sdk-runtime';
import { connectionOptions } from '../lib/temporal';
import { orchestrationWorkerOptions } from './orchestration-worker';
import { loadWorkerConfig, type WorkerConfig } from './config';
import { GuardedLeases } from './encoder-leases';
import { loadOrDetectHardware, type HardwareProfile } from './hardware';
import { MasterLink } from './master-link';
import { PowerMonitor } from './power';
import { WorkerTelemetry } from './telemetry';

const VERSION = '0.1.0';

/** Default concurrent encodes per capability: what the hardware can run at once. */
export function defaultSlots(cap: Capability, hw: HardwareProfile, cfg: Pick<WorkerConfig, 'cpuSlots' | 'gpuSlots'>): number {
  // a software encoder uses every thread it gets: one encode per four threads keeps them fed
  if (cap === 'cpu' || cap === 'gstreamer') return cfg.cpuSlots ?? Math.max(1, Math.floor(hw.cpu_threads / 4));
  // consumer NVENC allows a few sessions per GPU; QSV/VAAPI share one engine per device
  return cfg.gpuSlots ?? (cap === 'nvenc' ? 3 : 2) * Math.max(1, hw.gpus.length);
}

export function registrationPayload(cfg: WorkerConfig, hw: HardwareProfile, offered: Capability[]): NodeRegistration {
  const gpuCaps = offered.filter((c) => GPU_CAPABILITIES.includes(c));
  const detectedGpu = hw.gpus.find((g) => g.vendor !== 'unknown') ?? hw.gpus[0];
  return {
    address: cfg.nodeAddress,
    type: 'worker',
    name: cfg.nodeName,
    cpu_threads: hw.cpu_threads,
    cpu_model: hw.cpu_model,
    has_gpu: hw.gpus.length > 0 || gpuCaps.length > 0,
    gpu_type: detectedGpu?.name ?? (gpuCaps.length > 0 ? 'simulated' : null),
    gpu_capabilities: [...gpuCaps, ...(hw.gpus.some((g) => g.vendor === 'nvidia') ? ['cuda'] : [])].join(','),
    ram_total_bytes: hw.ram_total_bytes,
    capabilities: offered,
    encoders: hw.encoders,
    simulated_capabilities: cfg.simulate,
    version: VERSION,
  };
}

export async function runAgent(config: WorkerConfig, logger: Logger): Promise<number> {
  const nodeId = nodeIdFromAddress(config.nodeAddress);
  const log = logger.child({ node: nodeId });

  const hardware = await loadOrDetectHardware(path.join(config.dataDir, 'hardware', `${os.hostname()}.json`), config.redetect, {
    ffmpegPath: config.ffmpegPath,
    gstLaunchPath: config.gstLaunchPath,
  });
  const offered = [...new Set<Capability>([...hardware.capabilities, ...config.simulate])].filter(
    (c) => !config.onlyCapabilities || config.onlyCapabilities.includes(c),
  );
  log.info(
    { capabilities: offered, simulated: config.simulate, encoders: hardware.encoders, gpus: hardware.gpus.map((g) => g.name), rejected: hardware.rejected },
    'hardware detected',
  );

  const power = new PowerMonitor({ nvidia: hardware.gpus.some((g) => g.vendor === 'nvidia'), cpuThreads: hardware.cpu_threads });
  power.start();
  const telemetry = new WorkerTelemetry(power, { node_id: nodeId, node_name: config.nodeName, capabilities: offered, simulated: config.simulate });
  const metricsServer = await telemetry.serve(config.metricsHost, config.metricsPort);

  const connection = await NativeConnection.connect(connectionOptions(config.temporal));
  const registry = new EncoderRegistry();
  // encoders live only while this agent is in touch with Temporal (frozen or cut off: they stop)
  const leases = new GuardedLeases({ ping: (deadline) => connection.withDeadline(deadline, () => connection.workflowService.getSystemInfo({})) }, log);
  leases.start();
  const base = {
    connection,
    namespace: config.temporal.namespace,
    identity: `${config.nodeName}@${nodeId}`,
    // encodes are stopped by the agent itself (below), never cut short by the SDK
    shutdownGraceTime: '7 days' as const,
    // the SDK's lines about an encode or control activity carry job_id, attempt and node
    interceptors: { activity: [jobLogContext(nodeId)] },
  };

  const { encode, adoptAttempt, publishOutput } = createEncodeActivities({
    node: { id: nodeId, name: config.nodeName },
    outputRoot: config.outputRoot,
    registry,
    availableEncoders: new Set(hardware.encoders),
    simulatedEncoders: new Set(simulatedEncoders(config.simulate.filter((c) => !hardware.capabilities.includes(c)))),
    ffmpegPath: config.ffmpegPath,
    ffprobePath: config.ffprobePath,
    gstLaunchPath: config.gstLaunchPath,
    logger,
    heartbeatIntervalMs: config.progressIntervalMs,
    telemetry,
    leases,
    placement: { cpus: config.encoderCpus, threads: config.encoderThreads },
  });
  // a split job's probe, join and clean-up run on its encode queue (every worker sees the shared output root)
  const segmentActivities = createSegmentActivities({ node: { id: nodeId, name: config.nodeName }, outputRoot: config.outputRoot, ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath, logger, heartbeatIntervalMs: config.progressIntervalMs, placement: { cpus: config.encoderCpus } });
  const encodeWorkers: Worker[] = [];
  for (const cap of offered) {
    encodeWorkers.push(
      await Worker.create({
        ...base,
        taskQueue: encodeQueue(cap),
        activities: { encode, ...segmentActivities },
        maxConcurrentActivityTaskExecutions: defaultSlots(cap, hardware, config),
        // cancellation reaches an activity only with a heartbeat response: keep that quick
        maxHeartbeatThrottleInterval: config.progressIntervalMs,
        defaultHeartbeatThrottleInterval: config.progressIntervalMs,
      }),
    );
  }
  const otherWorkers: Worker[] = [
    // the node's own queue: suspend/continue, adoption of an encode Temporal lost sight of, publishing
    await Worker.create({ ...base, taskQueue: nodeQueue(nodeId), activities: { ...createControlActivities(registry), adoptAttempt, publishOutput, removeSegments: segmentActivities.removeSegments }, maxConcurrentActivityTaskExecutions: 20 }),
  ];
  if (config.runWorkflows) {
    otherWorkers.push(
      await Worker.create({ ...orchestrationWorkerOptions(connection, config.temporal.namespace, base.identity, config.workflowCacheSize), shutdownGraceTime: base.shutdownGraceTime }),
    );
  }

  let exitCode = 0;
  const stopEncodeWorkers = () => {
    for (const w of encodeWorkers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const stopEverything = () => {
    stopEncodeWorkers();
    for (const w of otherWorkers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  /** The node's own queue stays open until what ran here is published (the workflow asks for it there). */
  const PUBLISH_WAIT_MS = 15_000;
  const stopWhenIdle = async (budgetMs: number) => {
    stopEncodeWorkers();
    if (!(await registry.whenIdle(budgetMs))) log.warn('stopping with work this node could not hand over; its jobs run again elsewhere');
    stopEverything();
  };

  const link = config.masterUrl
    ? new MasterLink({
        masterUrl: config.masterUrl,
        apiKey: config.apiKey,
        tls: config.tls,
        nodeId,
        registration: () => registrationPayload(config, hardware, offered),
        load: () => ({ running_jobs: telemetry.runningJobs, ...telemetry.load() }),
        intervalMs: config.heartbeatIntervalMs,
        logger: log,
        onDrain: () => {
          log.info({ running: registry.size }, 'draining: no new work; running encodes finish');
          if (config.exitOnDrain) void stopWhenIdle(7 * 24 * 3_600_000);
          else stopEncodeWorkers();
        },
      })
    : undefined;
  link?.start();

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    log.info({ signal, running: registry.size, grace_seconds: config.shutdownGraceMs / 1000 }, 'shutting down: no new work');
    void stopWhenIdle(config.shutdownGraceMs + PUBLISH_WAIT_MS);
    if (registry.size > 0) {
      setTimeout(() => {
        if (registry.size === 0) return;
        log.warn({ running: registry.size }, 'grace period over: killing encoders; their jobs run again elsewhere');
        void registry.killAll(`grace period of ${config.shutdownGraceMs / 1000} s over`);
      }, config.shutdownGraceMs).unref();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  log.info({ queues: [...encodeWorkers, ...otherWorkers].map((w) => w.options.taskQueue), metrics: `http://${config.metricsHost}:${config.metricsPort}/metrics` }, 'worker agent polling');
  try {
    await Promise.all([...encodeWorkers, ...otherWorkers].map((w) => w.run()));
  } catch (err) {
    log.error({ err: (err as Error).message }, 'a Temporal worker failed');
    exitCode = 1;
  } finally {
    link?.stop();
    await registry.killAll();
    leases.stop();
    power.stop();
    await new Promise((r) => metricsServer.close(r));
    await connection.close();
    log.info('worker agent stopped');
  }
  return exitCode;
}

/**
 * Capabilities declared by configuration (for routing tests on machines without the hardware)
 * accept their encoders' names; the encode itself then runs the software encoder — see
 * activities/encode.ts. Shown as simulated in the registration and in metrics.
 */
function simulatedEncoders(caps: readonly Capability[]): string[] {
  // the catalogue's hardware encoders only: cpu and gstreamer have no simulated encoders
  return ENCODERS.filter((e) => GPU_CAPABILITIES.includes(e.capability) && caps.includes(e.capability)).map((e) => e.name);
}

async function main(): Promise<void> {
  const logger = createLogger('worker');
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig();
  } catch (err) {
    logger.fatal((err as Error).message);
    process.exit(2);
  }
  installSdkRuntime(logger.child({ component: 'temporal-sdk' }), { shutdownSignals: [] });
  process.exit(await runAgent(config, logger));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
