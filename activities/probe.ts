/**
 * ffprobe of an input before encoding: an unreadable or non-media input fails the job at once
 * (not after every retry) with what ffprobe said. Also used to verify outputs.
 */
import { execFile } from 'node:child_process';
import { isHttpUrl } from '../domain/urls';

export interface MediaProbe {
  duration: number | null;
  video: { codec: string; width: number; height: number; fps: number | null; frames: number | null } | null;
  /** the audio stream's own duration, where the container states it */
  audio: { codec: string; duration: number | null } | null;
  format: string;
}

interface RawProbe {
  format?: { duration?: string; format_name?: string };
  streams?: { codec_type?: string; codec_name?: string; duration?: string; width?: number; height?: number; avg_frame_rate?: string; nb_frames?: string; nb_read_frames?: string }[];
}

export class ProbeError extends Error {}

function rate(text: string | undefined): number | null {
  const m = /^(\d+)\/(\d+)$/.exec(text ?? '');
  if (!m || Number(m[2]) === 0) return null;
  return Math.round((Number(m[1]) / Number(m[2])) * 1000) / 1000;
}

function finite(text: string | undefined): number | null {
  const n = Number.parseFloat(text ?? '');
  return Number.isFinite(n) ? n : null;
}

export function parseProbe(json: string): MediaProbe {
  const raw = JSON.parse(json) as RawProbe;
  const v = raw.streams?.find((s) => s.codec_type === 'video');
  const a = raw.streams?.find((s) => s.codec_type === 'audio');
  const frames = v?.nb_read_frames ?? v?.nb_frames;
  const duration = Number.parseFloat(raw.format?.duration ?? '');
  return {
    duration: Number.isFinite(duration) ? duration : null,
    video: v
      ? { codec: v.codec_name ?? 'unknown', width: v.width ?? 0, height: v.height ?? 0, fps: rate(v.avg_frame_rate), frames: frames ? Number(frames) : null }
      : null,
    audio: a ? { codec: a.codec_name ?? 'unknown', duration: finite(a.duration) } : null,
    format: raw.format?.format_name ?? 'unknown',
  };
}

export function probeMedia(
  ffprobePath: string,
  input: string,
  opts: { timeoutMs?: number; countFrames?: boolean; signal?: AbortSignal } = {},
): Promise<MediaProbe> {
  const remote = isHttpUrl(input);
  const args = [
    '-v', 'error',
    '-protocol_whitelist', remote ? 'http,https,tcp,tls' : 'file',
    ...(opts.countFrames ? ['-count_frames'] : []),
    '-show_entries', 'format=duration,format_name:stream=codec_type,codec_name,duration,width,height,avg_frame_rate,nb_frames,nb_read_frames',
    '-of', 'json',
    input,
  ];
  return new Promise((resolve, reject) => {
    execFile(ffprobePath, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 4 * 1024 * 1024, signal: opts.signal }, (err, stdout, stderr) => {
      if (err) {
        const said = String(stderr).trim().split('\n').pop() || (err as NodeJS.ErrnoException).code || err.message;
        reject(new ProbeError(`ffprobe could not read ${input}: ${said}`));
        return;
      }
      try {
        const probe = parseProbe(String(stdout));
        if (!probe.video) reject(new ProbeError(`${input} has no video stream (format ${probe.format})`));
        else resolve(probe);
      } catch (e) {
        reject(new ProbeError(`ffprobe output for ${input} was not understood: ${(e as Error).message}`));
      }
    });
  });
}

/**
 * The times of the input's keyframes (seconds, ascending), decoding keyframes only: where a split
 * job's segments may start (domain/segments.ts). Empty when ffprobe gives none.
 */
export function probeKeyframes(ffprobePath: string, input: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number[]> {
  const args = [
    '-v', 'error',
    '-protocol_whitelist', isHttpUrl(input) ? 'http,https,tcp,tls' : 'file',
    '-select_streams', 'v:0', '-skip_frame', 'nokey',
    '-show_entries', 'frame=best_effort_timestamp_time',
    '-of', 'csv=p=0',
    input,
  ];
  return new Promise((resolve, reject) => {
    execFile(ffprobePath, args, { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, signal: opts.signal }, (err, stdout, stderr) => {
      if (err) return reject(new ProbeError(`ffprobe could not list the keyframes of ${input}: ${String(stderr).trim().split('\n').pop() || err.message}`));
      const times = String(stdout)
        .split('\n')
        .map((l) => Number.parseFloat(l.replace(/,$/, '')))
        .filter((t) => Number.isFinite(t));
      resolve([...new Set(times)].sort((a, b) => a - b));
    });
  });
}
