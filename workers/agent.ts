/**
 * The worker agent: turns this machine into a node. It detects what the machine can encode, runs
 * one Temporal Worker per encode capability it really has (plus its own control queue and,
 * by default, the orchestration queue for workflow tasks), and shuts down gracefully on SIGTERM:
 * no new work, running encodes get the grace period, then they are canceled and retried elsewhere.
 */
import os from 'node:os';
import path from 'node:path';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createControlActivities, createEncodeActivity, EncoderRegistry } from '../activities';
import type { Capability } from '../domain/encoders';
import { nodeIdFromAddress } from '../domain/nodes';
import { encodeQueue, nodeQueue, ORCHESTRATION_QUEUE } from '../domain/queues';
import { createLogger, sdkLogger, type Logger } from '../lib/logger';
import { loadWorkerConfig, type WorkerConfig } from './config';
import { loadOrDetectHardware, type HardwareProfile } from './hardware';
import { workflowBundlePath } from './bundle-path';

export interface AgentIdentity {
  id: string;
  name: string;
}

/** Default concurrent encodes per capability: what the hardware can run at once. */
export function defaultSlots(cap: Capability, hw: HardwareProfile, cfg: Pick<WorkerConfig, 'cpuSlots' | 'gpuSlots'>): number {
  if (cap === 'cpu' || cap === 'gstreamer') return cfg.cpuSlots ?? Math.max(1, Math.floor(hw.cpu_threads / 4));
  // consumer NVENC allows a few sessions; one GPU engine shares its time between them
  return cfg.gpuSlots ?? 3 * Math.max(1, hw.gpus.length);
}

export async function runAgent(config: WorkerConfig, logger: Logger): Promise<void> {
  const identity: AgentIdentity = { id: nodeIdFromAddress(config.nodeAddress), name: config.nodeName };
  const log = logger.child({ node: identity.id });

  const hardware = await loadOrDetectHardware(path.join(config.dataDir, 'hardware', `${os.hostname()}.json`), config.redetect, {
    ffmpegPath: config.ffmpegPath,
    gstLaunchPath: config.gstLaunchPath,
  });
  const detected = hardware.capabilities;
  const offered = [...new Set<Capability>([...detected, ...config.simulate])].filter(
    (c) => !config.onlyCapabilities || config.onlyCapabilities.includes(c),
  );
  log.info(
    { capabilities: offered, simulated: config.simulate, encoders: hardware.encoders, gpus: hardware.gpus.map((g) => g.name) },
    'hardware detected',
  );

  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const registry = new EncoderRegistry();
  const workers: Worker[] = [];
  const base = {
    connection,
    namespace: config.temporal.namespace,
    identity: `${identity.name}@${identity.id}`,
    shutdownGraceTime: config.shutdownGraceMs,
  };

  if (config.runWorkflows) {
    workers.push(
      await Worker.create({
        ...base,
        taskQueue: ORCHESTRATION_QUEUE,
        workflowBundle: { codePath: workflowBundlePath() },
      }),
    );
  }

  const encode = createEncodeActivity({
    node: identity,
    outputRoot: config.outputRoot,
    registry,
    availableEncoders: new Set(hardware.encoders),
    ffmpegPath: config.ffmpegPath,
    ffprobePath: config.ffprobePath,
    logger,
    heartbeatIntervalMs: config.progressIntervalMs,
  });
  for (const cap of offered) {
    workers.push(
      await Worker.create({
        ...base,
        taskQueue: encodeQueue(cap),
        activities: { encode },
        maxConcurrentActivityTaskExecutions: defaultSlots(cap, hardware, config),
        // cancellation reaches an activity only with a heartbeat response: keep that quick
        maxHeartbeatThrottleInterval: config.progressIntervalMs,
        defaultHeartbeatThrottleInterval: config.progressIntervalMs,
      }),
    );
  }
  workers.push(
    await Worker.create({
      ...base,
      taskQueue: nodeQueue(identity.id),
      activities: createControlActivities(registry),
      maxConcurrentActivityTaskExecutions: 20,
    }),
  );

  log.info({ queues: workers.map((w) => w.options.taskQueue) }, 'worker agent polling');
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await registry.killAll();
    await connection.close();
    log.info('worker agent stopped');
  }
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
  Runtime.install({ logger: sdkLogger(logger.child({ component: 'temporal-sdk' })) });
  await runAgent(config, logger);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      // eslint-disable-next-line no-console
      console.error(err);
      process.exit(1);
    },
  );
}
