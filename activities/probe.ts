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
 * The times of the input's keyframes (seconds, ascending, on the timeline `-ss` seeks in): where a
 * split job's segments may start (domain/segments.ts). Read by FFmpeg copying keyframe packets
 * only, decoding nothing: `-discard nokey` lets demuxers that can (MP4/MOV) skip the other
 * packets' bytes, and the noise filter drops them where a demuxer hands them over anyway. On a
 * 60 s 1080p source at 100 Mb/s (2.7 GB): 0.2 s; ffprobe's packet list 0.9 s (7.4 s from disk),
 * decoding the keyframes 4.3 s. Empty when there are none.
 */
export function probeKeyframes(ffmpegPath: string, input: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number[]> {
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-protocol_whitelist', isHttpUrl(input) ? 'http,https,tcp,tls' : 'file',
    '-discard', 'nokey', '-i', input,
    '-map', '0:v:0', '-c', 'copy', '-bsf:v', 'noise=drop=not(key)',
    '-f', 'framecrc', '-',
  ];
  return new Promise((resolve, reject) => {
    execFile(ffmpegPath, args, { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, signal: opts.signal }, (err, stdout, stderr) => {
      if (err) return reject(new ProbeError(`ffmpeg could not list the keyframes of ${input}: ${String(stderr).trim().split('\n').pop() || err.message}`));
      resolve(parseKeyframeList(String(stdout)));
    });
  });
}

/**
 * framecrc's listing → keyframe times: `#tb 0: 1/15360`, then `0, dts, pts, duration, size, crc`
 * per packet. The time is the decode time plus the stream's reorder delay (the first packet's
 * pts − dts): with `-discard`, FFmpeg 5.1's MOV demuxer misaligns the composition offsets of the
 * packets it keeps (pts 1.567 s for a keyframe at 1.5 s), while decode times stay right. Where an
 * encoder's keyframes had unequal delays a time would be a frame or two late: harmless, segments
 * are cut by frame count with an accurate seek, a snapped cut then decodes those frames twice.
 */
export function parseKeyframeList(text: string): number[] {
  const tb = /^#tb 0: (\d+)\/(\d+)$/m.exec(text);
  if (!tb || Number(tb[2]) === 0) return [];
  const unit = Number(tb[1]) / Number(tb[2]);
  const packets = text
    .split('\n')
    .filter((l) => /^0,/.test(l))
    .map((l) => l.split(',').map(Number))
    .filter((f) => Number.isFinite(f[1]) && Number.isFinite(f[2]));
  if (packets.length === 0) return [];
  const delay = packets[0]![2]! - packets[0]![1]!;
  const times = packets.map((f) => Math.round((f[1]! + delay) * unit * 1e6) / 1e6);
  return [...new Set(times)].sort((a, b) => a - b);
}
