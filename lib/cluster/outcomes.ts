/**
 * How a set of jobs ended, counted exactly — completed, failed, stuck, run twice — and what each
 * output really holds (ffprobe's duration and counted frames, and a full decode without errors).
 * Shared by the fault tests and the soak benchmark.
 */
import { execFile } from 'node:child_process';
import type { JobView } from '../../domain/job';
import { TERMINAL_STATUSES } from '../../domain/states';

export interface Outcomes {
  completed: string[];
  failed: { id: string; status: string; error: string | null }[];
  stuck: string[];
  /** jobs with more than one completed attempt (run twice) */
  twice: string[];
  views: Map<string, JobView>;
}

/** Waits (with a deadline) for every job to end, and counts how each ended. `read` answers a job's view, or undefined. */
export async function outcomes(read: (id: string) => Promise<JobView | undefined>, ids: string[], timeoutMs: number): Promise<Outcomes> {
  const views = new Map<string, JobView>();
  const deadline = Date.now() + timeoutMs;
  const terminal = TERMINAL_STATUSES as readonly string[];
  while (Date.now() < deadline) {
    for (const id of ids) {
      if (views.has(id) && terminal.includes(views.get(id)!.status)) continue;
      const v = await read(id).catch(() => undefined);
      if (v) views.set(id, v);
    }
    if (ids.every((id) => terminal.includes(views.get(id)?.status ?? ''))) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const out: Outcomes = { completed: [], failed: [], stuck: [], twice: [], views };
  for (const id of ids) {
    const v = views.get(id);
    if (!v || !terminal.includes(v.status)) out.stuck.push(id);
    else if (v.status === 'completed') out.completed.push(id);
    else out.failed.push({ id, status: v.status, error: v.error });
    if (v && v.attempts.filter((a) => a.outcome === 'completed').length > 1) out.twice.push(id);
  }
  return out;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 120_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

export interface OutputCheck {
  ok: boolean;
  duration: number;
  frames: number;
  decodeErrors: string;
}

/** ffprobe (duration, counted frames) and a full decode without errors. */
export async function checkOutput(file: string, expectedSec: number, fps: number): Promise<OutputCheck> {
  const probe = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'json', file]);
  const parsed = probe.code === 0 ? (JSON.parse(probe.stdout) as { streams?: { nb_read_frames?: string }[]; format?: { duration?: string } }) : {};
  const frames = Number(parsed.streams?.[0]?.nb_read_frames ?? 0);
  const duration = Number(parsed.format?.duration ?? 0);
  const decode = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-f', 'null', '-']);
  const decodeErrors = (decode.stderr.trim() || (decode.code !== 0 ? `exit ${decode.code}` : ''));
  const expectedFrames = Math.round(expectedSec * fps);
  const ok = Math.abs(duration - expectedSec) <= 0.2 && Math.abs(frames - expectedFrames) <= 1 && decodeErrors === '';
  return { ok, duration, frames, decodeErrors };
}
