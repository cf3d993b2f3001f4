/**
 * Hardware detection: what this machine can really encode. Parsers are pure and fed by recorded
 * outputs in the tests; the probes run real commands (argument arrays, with timeouts). An encoder
 * counts only when `ffmpeg -encoders` lists it AND a tiny real encode with it succeeds: NVENC
 * encoders are listed whether or not an NVENC engine exists (an H100/H200 has none).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ENCODERS, type Capability } from '../domain/encoders';

export interface GpuInfo {
  vendor: 'nvidia' | 'intel' | 'amd' | 'unknown';
  name: string;
  uuid: string | null;
  memory_mib: number | null;
  driver: string | null;
  power_draw_watts: number | null;
  power_limit_watts: number | null;
}

export interface HardwareProfile {
  detected_at: string;
  cpu_model: string;
  cpu_threads: number;
  ram_total_bytes: number;
  gpus: GpuInfo[];
  render_nodes: string[];
  /** encoders `ffmpeg -encoders` lists */
  ffmpeg_listed: string[];
  /** encoders (ffmpeg and gstreamer) confirmed by a real test encode */
  encoders: string[];
  gstreamer_version: string | null;
  capabilities: Capability[];
  /** why a listed encoder was not confirmed, by encoder */
  rejected: Record<string, string>;
}

// ---------------------------------------------------------------- pure parsers

/** Encoder names from `ffmpeg -hide_banner -encoders`. */
export function parseFfmpegEncoders(text: string): string[] {
  const names: string[] = [];
  let inList = false;
  for (const line of text.split('\n')) {
    if (/^\s*-{6}\s*$/.test(line)) {
      inList = true;
      continue;
    }
    if (!inList) continue;
    const m = /^\s*([VAS])[F.][S.][X.][B.][D.]\s+(\S+)/.exec(line);
    if (m) names.push(m[2]!);
  }
  return names;
}

/**
 * GPUs from `nvidia-smi --query-gpu=name,uuid,driver_version,memory.total,power.draw,power.limit,...
 * --format=csv` (header line, then one line per GPU; units inside the values).
 */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length < 2) return [];
  const header = lines[0]!.split(',').map((h) => h.trim().replace(/\s*\[.*\]$/, '').toLowerCase());
  const col = (row: string[], key: string) => {
    const i = header.indexOf(key);
    return i >= 0 ? row[i]?.trim() : undefined;
  };
  const number = (v: string | undefined) => {
    const n = Number.parseFloat(v ?? '');
    return Number.isFinite(n) ? n : null;
  };
  return lines.slice(1).map((line) => {
    const row = line.split(',');
    return {
      vendor: 'nvidia' as const,
      name: col(row, 'name') ?? 'NVIDIA GPU',
      uuid: col(row, 'uuid') ?? null,
      memory_mib: number(col(row, 'memory.total')),
      driver: col(row, 'driver_version') ?? null,
      power_draw_watts: number(col(row, 'power.draw')),
      power_limit_watts: number(col(row, 'power.limit')),
    };
  });
}

/** gst-launch-1.0 --version → "1.22.0" */
export function parseGstVersion(text: string): string | null {
  return /GStreamer\s+(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1] ?? null;
}

/** Capabilities from the confirmed encoders: each encoder's catalogue capability. */
export function capabilitiesFromEncoders(encoders: readonly string[]): Capability[] {
  const caps = new Set<Capability>();
  for (const name of encoders) {
    const info = ENCODERS.find((e) => e.name === name);
    if (info) caps.add(info.capability);
  }
  return [...caps].sort();
}

// ---------------------------------------------------------------- probes

interface RunResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (cmd: string, args: string[], timeoutMs: number) => Promise<RunResult>;

export const runCommand: CommandRunner = (cmd, args, timeoutMs) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr) });
    });
  });

const NVIDIA_QUERY = [
  '--query-gpu=name,uuid,driver_version,memory.total,power.draw,power.limit,encoder.stats.sessionCount,utilization.encoder,utilization.gpu,temperature.gpu',
  '--format=csv',
];

/** Arguments of the tiny test encode that confirms an FFmpeg encoder really works here. */
export function testEncodeArgs(encoder: string, renderNode: string | undefined): string[] {
  const info = ENCODERS.find((e) => e.name === encoder);
  const vaapi = info?.capability === 'vaapi';
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    ...(vaapi && renderNode ? ['-vaapi_device', renderNode] : []),
    '-f', 'lavfi', '-i', 'testsrc2=size=256x144:rate=10:duration=0.3',
    ...(vaapi ? ['-vf', 'format=nv12,hwupload'] : []),
    '-c:v', encoder, '-frames:v', '3', '-f', 'null', '-',
  ];
}

/** The test pipeline that confirms a GStreamer encoder element works here. */
export function gstTestArgs(element: string): string[] {
  return ['-q', 'videotestsrc', 'num-buffers=3', '!', 'video/x-raw,width=256,height=144', '!', 'videoconvert', '!', element, '!', 'fakesink'];
}

export interface DetectOptions {
  ffmpegPath?: string;
  gstLaunchPath?: string;
  nvidiaSmiPath?: string;
  run?: CommandRunner;
  devDir?: string;
}

export async function detectHardware(opts: DetectOptions = {}): Promise<HardwareProfile> {
  const run = opts.run ?? runCommand;
  const ffmpeg = opts.ffmpegPath ?? 'ffmpeg';
  const devDri = path.join(opts.devDir ?? '/dev', 'dri');
  const cpus = os.cpus();

  const smi = await run(opts.nvidiaSmiPath ?? 'nvidia-smi', NVIDIA_QUERY, 10_000);
  const gpus = smi.ok ? parseNvidiaSmiCsv(smi.stdout) : [];
  const renderNodes = existsSync(devDri)
    ? readdirSync(devDri).filter((n) => n.startsWith('renderD')).map((n) => path.join(devDri, n))
    : [];
  if (renderNodes.length > 0 && gpus.length === 0) {
    gpus.push({ vendor: 'unknown', name: 'DRM render node', uuid: null, memory_mib: null, driver: null, power_draw_watts: null, power_limit_watts: null });
  }

  const listing = await run(ffmpeg, ['-hide_banner', '-encoders'], 10_000);
  const listed = listing.ok ? parseFfmpegEncoders(listing.stdout) : [];
  const rejected: Record<string, string> = {};
  const confirmed: string[] = [];

  for (const enc of ENCODERS.filter((e) => e.engine === 'ffmpeg')) {
    if (!listed.includes(enc.name)) continue;
    // hardware encoders need their device before a test encode is worth running
    if (enc.capability === 'nvenc' && !gpus.some((g) => g.vendor === 'nvidia')) {
      rejected[enc.name] = 'listed by ffmpeg, but no NVIDIA GPU is present';
      continue;
    }
    if ((enc.capability === 'vaapi' || enc.capability === 'qsv') && renderNodes.length === 0) {
      rejected[enc.name] = `listed by ffmpeg, but no ${devDri}/renderD* device exists`;
      continue;
    }
    const test = await run(ffmpeg, testEncodeArgs(enc.name, renderNodes[0]), 20_000);
    if (test.ok) confirmed.push(enc.name);
    else rejected[enc.name] = `test encode failed: ${lastLine(test.stderr)}`;
  }

  const gstLaunch = opts.gstLaunchPath ?? 'gst-launch-1.0';
  const gstVersion = await run(gstLaunch, ['--version'], 5_000);
  const gstreamerVersion = gstVersion.ok ? parseGstVersion(gstVersion.stdout) : null;
  if (gstreamerVersion) {
    for (const enc of ENCODERS.filter((e) => e.engine === 'gstreamer')) {
      const test = await run(gstLaunch, gstTestArgs(enc.name), 20_000);
      if (test.ok) confirmed.push(enc.name);
      else rejected[enc.name] = `test pipeline failed: ${lastLine(test.stderr || test.stdout)}`;
    }
  }

  return {
    detected_at: new Date().toISOString(),
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    cpu_threads: cpus.length,
    ram_total_bytes: os.totalmem(),
    gpus,
    render_nodes: renderNodes,
    ffmpeg_listed: listed,
    encoders: confirmed,
    gstreamer_version: gstreamerVersion,
    capabilities: capabilitiesFromEncoders(confirmed),
    rejected,
  };
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300) || 'no output';
}

/** Detection runs real encodes: cache it per machine, detect again on request. */
export async function loadOrDetectHardware(cacheFile: string, redetect: boolean, opts: DetectOptions = {}): Promise<HardwareProfile> {
  if (!redetect) {
    try {
      return JSON.parse(await readFile(cacheFile, 'utf8')) as HardwareProfile;
    } catch {
      /* no cache yet */
    }
  }
  const profile = await detectHardware(opts);
  await mkdir(path.dirname(cacheFile), { recursive: true });
  await writeFile(cacheFile, JSON.stringify(profile, null, 2));
  return profile;
}
