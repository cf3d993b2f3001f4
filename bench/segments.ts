/**
 * Segment-parallel encoding, measured (issue 14): one 60 s 1080p30 x264 job from a file input
 * (testsrc2 with noise, rendered once beforehand), on workers each pinned to one core with one
 * encoder thread (FFRTMP_ENCODER_CPUS, FFRTMP_ENCODER_THREADS), so each stands for a one-core
 * machine. Wall time with 1 worker (no split) against N workers (split into N segments), for N
 * from the cores found: 2 on a 2-core machine, then 4 and 8 where there are that many. The
 * overhead of splitting and joining is what the split job spends outside its segments' encodes:
 * (wall − longest segment encode) / wall, the probe, queueing, join and checks included. Where it
 * goes, from the job's history: the probe, the segments (first encode started → last done), the
 * join with its checks, and the rest (dispatch, publish, polling).
 *
 *   node dist/bench/segments.js [--seconds 60] [--preset veryfast] [--size 1920x1080]
 *
 * Not run by the test suite (bench/run.sh --smoke does not include it). Prints a table and the
 * load average before and after; writes bench/results/segments-<date>.json.
 */
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { jobWorkflowId, type JobView } from '../domain/job';
import { isTerminal } from '../domain/states';
import { Bench } from './run';

const ROOT = path.resolve(__dirname, '..', '..');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};

interface Run {
  workers: number;
  segments: number;
  wall_s: number;
  longest_segment_s: number | null;
  overhead_fraction: number | null;
  frames: number | null;
  /** seconds of each phase, from the job's history */
  phases: Phases | null;
  status: string;
}

interface Phases {
  probe_s: number | null;
  segments_s: number | null;
  join_and_checks_s: number | null;
  other_s: number;
}

/** The split job's phases: each activity's started → closed times in its history. */
async function phasesOf(address: string, id: string, wallS: number): Promise<Phases> {
  const connection = await Connection.connect({ address });
  try {
    const history = await new Client({ connection }).workflow.getHandle(jobWorkflowId(id)).fetchHistory();
    const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
    const type = new Map<string, string>();
    const started = new Map<string, number>();
    const spans: Record<string, [number, number][]> = {};
    for (const e of history.events ?? []) {
      const at = ms(e.eventTime);
      if (e.activityTaskScheduledEventAttributes) type.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
      if (e.activityTaskStartedEventAttributes) started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
      const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskCanceledEventAttributes ?? e.activityTaskTimedOutEventAttributes;
      if (closed) {
        const scheduled = String(closed.scheduledEventId);
        const name = type.get(scheduled) ?? '';
        (spans[name] ??= []).push([started.get(scheduled) ?? at, at]);
      }
    }
    const total = (name: string) => {
      const s = spans[name];
      return s ? Math.round((Math.max(...s.map((x) => x[1])) - Math.min(...s.map((x) => x[0]))) / 100) / 10 : null;
    };
    const probe = total('probeForSplit');
    const segments = total('encode');
    const join = total('joinSegments');
    return { probe_s: probe, segments_s: segments, join_and_checks_s: join, other_s: Math.round((wallS - (probe ?? 0) - (segments ?? 0) - (join ?? 0)) * 10) / 10 };
  } finally {
    await connection.close();
  }
}

async function runOnce(seconds: number, preset: string, input: string, workers: number, bench: Bench): Promise<Run> {
  await bench.fresh(0);
  // each fresh cluster has its own data folder: the source goes into its media root (a hard link)
  const media = path.join(bench.root, 'data', 'media');
  mkdirSync(media, { recursive: true });
  linkSync(input, path.join(media, path.basename(input)));
  for (let i = 0; i < workers; i++) {
    await bench.startWorker(`seg-bench-${i + 1}`, { FFRTMP_ENCODER_CPUS: String(i % os.cpus().length), FFRTMP_ENCODER_THREADS: '1' });
  }
  // a first tiny job warms the master's workflow worker and the workers' queues: not measured
  const warm = await bench.submit({ scenario: '240p30-h264', confidence: 'low', engine: 'ffmpeg', queue: 'default', priority: 'medium', parameters: { duration: 1, hardware: 'cpu' } });
  await bench.until(warm.id, (v) => isTerminal(v.status), 300_000, 100);
  const parameters = { input: path.basename(input), duration: seconds, preset, hardware: 'cpu' as const, ...(workers > 1 ? { parallel: workers } : {}) };
  const job = await bench.submit({ scenario: '1080p30-h264', confidence: 'auto', engine: 'ffmpeg', queue: 'default', priority: 'medium', parameters });
  // polled slowly (each read is CPU taken from the encoders on a machine this small); the wall
  // time is the job's own, created → completed, as the master stamped them
  const done: JobView = await bench.until(job.id, (v) => isTerminal(v.status), 3_600_000, 2_000);
  const wall = (Date.parse(done.completed_at ?? new Date().toISOString()) - Date.parse(done.created_at)) / 1000;
  // the longest segment encode: its share of the job's wall time is the parallel work
  const longest = done.segments ? Math.max(...(await segmentSeconds(bench, job.id))) : null;
  return {
    workers,
    segments: done.segments?.length ?? 1,
    wall_s: Math.round(wall * 10) / 10,
    longest_segment_s: longest,
    overhead_fraction: longest !== null ? Math.round(((wall - longest) / wall) * 1000) / 1000 : null,
    phases: await phasesOf(bench.server.address, job.id, wall),
    frames: done.verification?.checks.find((c) => c.name === 'frame count')?.actual !== undefined ? Number(done.verification.checks.find((c) => c.name === 'frame count')!.actual) : null,
    status: done.status + (done.error ? `: ${done.error}` : ''),
  };
}

/** Each segment's encode time, from its log's last result line ("N frames in S s"). */
async function segmentSeconds(bench: Bench, id: string): Promise<number[]> {
  const r = await bench.call<{ logs: string }>('GET', `/jobs/${id}/logs`);
  return [...r.body.logs.matchAll(/exit code 0; \d+ frames in ([\d.]+) s/g)].map((m) => Number(m[1]));
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '60'));
  const preset = arg('preset', 'veryfast');
  const size = arg('size', '1920x1080');
  const cores = os.cpus().length;
  const counts = [2, 4, 8].filter((n) => n <= cores);
  const bench = new Bench();
  const input = path.join(mkdtempSync(path.join(os.tmpdir(), 'ffrtmp-bench-source-')), 'noise.mp4');
  // the source, rendered once: testsrc2 with temporal noise (hard to encode), near-lossless
  execFileSync('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30:duration=${seconds},noise=alls=20:allf=t`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '12', '-g', '60', '-c:a', 'aac', '-f', 'mp4', '-y', input]);
  const loadBefore = os.loadavg();
  const uptimeBefore = execFileSync('uptime').toString().trim();
  const runs: Run[] = [];
  try {
    runs.push(await runOnce(seconds, preset, input, 1, bench));
    for (const n of counts) runs.push(await runOnce(seconds, preset, input, n, bench));
  } finally {
    await bench.down();
    rmSync(path.dirname(input), { recursive: true, force: true });
  }
  const uptimeAfter = execFileSync('uptime').toString().trim();
  const base = runs[0]!.wall_s;
  const rows = runs.map((r) => ({ ...r, speedup: Math.round((base / r.wall_s) * 100) / 100, target: r.workers === 1 ? null : r.workers === 2 ? 1.8 : 0.8 * r.workers }));
  for (const r of rows) {
    console.log(`${String(r.workers).padStart(2)} worker(s), ${String(r.segments).padStart(2)} segment(s): ${String(r.wall_s).padStart(7)} s  speedup ${r.speedup}×${r.target ? ` (target ≥ ${r.target}: ${r.speedup >= r.target ? 'met' : 'MISSED'})` : ''}  overhead ${r.overhead_fraction ?? '—'}  ${r.status}`);
    if (r.phases) console.log(`    probe ${r.phases.probe_s ?? '—'} s, encode ${r.phases.segments_s ?? '—'} s, join and checks ${r.phases.join_and_checks_s ?? '—'} s, other ${r.phases.other_s} s`);
  }
  console.log(`load before: ${uptimeBefore}\nload after:  ${uptimeAfter}`);
  const out = { started: new Date().toISOString(), command: `node dist/bench/segments.js --seconds ${seconds} --preset ${preset} --size ${size}`, cores, loadavg_before: loadBefore, uptime_before: uptimeBefore, uptime_after: uptimeAfter, runs: rows };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `segments-${out.started.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(`raw figures: ${path.relative(ROOT, file)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
