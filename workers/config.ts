/**
 * Worker agent settings: one schema, read from the environment (flags of the entry point map onto
 * the same names). A bad value stops the start with a message naming it.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_WORKFLOW_CACHE } from './orchestration-worker';
import { z } from 'zod';
import { CAPABILITIES } from '../domain/encoders';
import { envBool, envPort, envSeconds, parseEnv } from '../lib/env-config';
import { temporalEnvShape, temporalSettings, type TemporalSettings } from '../lib/temporal';

const bool = envBool;
const port = envPort;
const seconds = envSeconds;
const capabilityList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.enum(CAPABILITIES)));

export const workerEnvSchema = z.object({
  ...temporalEnvShape,
  FFRTMP_DATA_DIR: z.string().default(path.resolve('data')),
  FFRTMP_OUTPUT_ROOT: z.string().optional(),
  FFRTMP_MEDIA_ROOT: z.string().optional(),
  FFRTMP_NODE_NAME: z.string().min(1).default(os.hostname()),
  /** how the master and scrapers reach this node; default http://<hostname>:<metrics port> */
  FFRTMP_NODE_ADDRESS: z.string().optional(),
  FFRTMP_METRICS_PORT: port.default(9091),
  FFRTMP_METRICS_HOST: z.string().default('0.0.0.0'),
  FFRTMP_CPU_SLOTS: z.coerce.number().int().min(1).max(64).optional(),
  FFRTMP_GPU_SLOTS: z.coerce.number().int().min(1).max(64).optional(),
  /** pin this node's encoders to these CPUs (taskset's list form: 0, 0-3, 0,2,4-7) */
  FFRTMP_ENCODER_CPUS: z
    .string()
    .regex(/^\d{1,4}(?:-\d{1,4})?(?:,\d{1,4}(?:-\d{1,4})?)*$/, 'must be a CPU list such as 0, 0-3 or 0,2,4-7')
    .superRefine((list, ctx) => {
      const top = Math.max(...cpusOf(list));
      if (top >= os.cpus().length) ctx.addIssue({ code: 'custom', message: `names CPU ${top}, but this machine has CPUs 0-${os.cpus().length - 1}` });
    })
    .optional(),
  /** the encoder's thread count (FFmpeg -threads); default: the encoder's own choice */
  FFRTMP_ENCODER_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  /** workflow tasks run on the masters: an encode host that is frozen or cut off holds none */
  FFRTMP_RUN_WORKFLOWS: bool.default(false),
  FFRTMP_WORKFLOW_CACHE_SIZE: z.coerce.number().int().min(0).max(100_000).default(DEFAULT_WORKFLOW_CACHE),
  FFRTMP_REDETECT: bool.default(false),
  /** capabilities declared without hardware, for routing tests; shown as simulated everywhere */
  FFRTMP_SIMULATE_CAPABILITIES: capabilityList.default([]),
  /** restrict the encode queues this node polls (default: every capability it has) */
  FFRTMP_CAPABILITIES: capabilityList.optional(),
  FFRTMP_MASTER_URL: z.string().url().optional(),
  FFMPEG_RTMP_API_KEY: z.string().optional(),
  /** a file holding the API key (the embedded default writes data/api-key) */
  FFRTMP_API_KEY_FILE: z.string().optional(),
  FFRTMP_EXIT_ON_DRAIN: bool.default(false),
  FFRTMP_TLS_CERT: z.string().optional(),
  FFRTMP_TLS_KEY: z.string().optional(),
  FFRTMP_TLS_CA: z.string().optional(),
  FFRTMP_HEARTBEAT_INTERVAL_SECONDS: seconds.default(10),
  FFRTMP_SHUTDOWN_GRACE_SECONDS: seconds.default(30),
  FFRTMP_PROGRESS_INTERVAL_MS: z.coerce.number().int().min(100).max(10_000).default(500),
  FFMPEG_PATH: z.string().default('ffmpeg'),
  FFPROBE_PATH: z.string().default('ffprobe'),
  GST_LAUNCH_PATH: z.string().default('gst-launch-1.0'),
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

/** The CPUs a taskset list names: "0,2-4" → [0, 2, 3, 4]. */
export function cpusOf(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    return Array.from({ length: Math.max(0, b! - a + 1) }, (_, i) => a + i);
  });
}

export interface WorkerConfig {
  temporal: TemporalSettings;
  dataDir: string;
  outputRoot: string;
  mediaRoot: string;
  nodeName: string;
  nodeAddress: string;
  metricsPort: number;
  metricsHost: string;
  cpuSlots?: number;
  gpuSlots?: number;
  /** encoders run pinned to these CPUs (taskset -c) */
  encoderCpus?: string;
  encoderThreads?: number;
  runWorkflows: boolean;
  workflowCacheSize: number;
  redetect: boolean;
  simulate: WorkerEnv['FFRTMP_SIMULATE_CAPABILITIES'];
  onlyCapabilities?: WorkerEnv['FFRTMP_SIMULATE_CAPABILITIES'];
  masterUrl?: string;
  apiKey?: string;
  exitOnDrain: boolean;
  tls: { cert?: string; key?: string; ca?: string };
  heartbeatIntervalMs: number;
  shutdownGraceMs: number;
  progressIntervalMs: number;
  ffmpegPath: string;
  ffprobePath: string;
  gstLaunchPath: string;
}

function readKeyFile(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').split('\n')[0]?.trim() || undefined;
  } catch (err) {
    throw new Error(`FFRTMP_API_KEY_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const e = parseEnv(workerEnvSchema, env, 'worker');
  const dataDir = path.resolve(e.FFRTMP_DATA_DIR);
  return {
    temporal: temporalSettings(e),
    dataDir,
    outputRoot: path.resolve(e.FFRTMP_OUTPUT_ROOT ?? path.join(dataDir, 'outputs')),
    mediaRoot: path.resolve(e.FFRTMP_MEDIA_ROOT ?? path.join(dataDir, 'media')),
    nodeName: e.FFRTMP_NODE_NAME,
    nodeAddress: e.FFRTMP_NODE_ADDRESS ?? `http://${os.hostname()}:${e.FFRTMP_METRICS_PORT}`,
    metricsPort: e.FFRTMP_METRICS_PORT,
    metricsHost: e.FFRTMP_METRICS_HOST,
    cpuSlots: e.FFRTMP_CPU_SLOTS,
    gpuSlots: e.FFRTMP_GPU_SLOTS,
    encoderCpus: e.FFRTMP_ENCODER_CPUS,
    encoderThreads: e.FFRTMP_ENCODER_THREADS,
    runWorkflows: e.FFRTMP_RUN_WORKFLOWS,
    workflowCacheSize: e.FFRTMP_WORKFLOW_CACHE_SIZE,
    redetect: e.FFRTMP_REDETECT,
    simulate: e.FFRTMP_SIMULATE_CAPABILITIES,
    onlyCapabilities: e.FFRTMP_CAPABILITIES,
    masterUrl: e.FFRTMP_MASTER_URL,
    apiKey: e.FFMPEG_RTMP_API_KEY?.split(',')[0]?.trim() || readKeyFile(e.FFRTMP_API_KEY_FILE),
    exitOnDrain: e.FFRTMP_EXIT_ON_DRAIN,
    tls: { cert: e.FFRTMP_TLS_CERT, key: e.FFRTMP_TLS_KEY, ca: e.FFRTMP_TLS_CA },
    heartbeatIntervalMs: e.FFRTMP_HEARTBEAT_INTERVAL_SECONDS * 1000,
    shutdownGraceMs: e.FFRTMP_SHUTDOWN_GRACE_SECONDS * 1000,
    progressIntervalMs: e.FFRTMP_PROGRESS_INTERVAL_MS,
    ffmpegPath: e.FFMPEG_PATH,
    ffprobePath: e.FFPROBE_PATH,
    gstLaunchPath: e.GST_LAUNCH_PATH,
  };
}
