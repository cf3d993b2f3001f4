/**
 * Joining the segments of a split job (segment-parallel encoding, domain/segments.ts): pure
 * builders of the concat list and of the one FFmpeg run that joins them. The video is stream
 * copied through the concat demuxer; the audio is encoded once over the whole timeline from the
 * source (per-segment AAC drifts: each segment adds its encoder priming and padding) and muxed
 * with it; metadata and chapters come from the source.
 */
import type { EncodeSpec } from '../domain/job';
import { isHttpUrl } from '../domain/urls';
import { audioArgs, localPath, seconds, syntheticAudioArgs } from './ffmpeg-command';

/** The concat demuxer's list: one `file '<absolute path>'` line per segment, quotes escaped. */
export function concatList(files: readonly string[]): string {
  return files.map((f) => `file '${localPath(f, 'segment').replace(/'/g, `'\\''`)}'\n`).join('');
}

export interface JoinIo {
  /** the concat list (concatList) */
  list: string;
  /** the source the audio, metadata and chapters come from; absent for the synthetic source */
  input?: string;
  /** the range encoded, seconds (the audio is cut to it, as in a single pass) */
  durationSec: number;
  output: string;
  format: string;
}

export function buildJoinArgs(spec: Pick<EncodeSpec, 'audio'>, io: JoinIo): string[] {
  const source: string[] = [];
  if (io.input === undefined) {
    // the synthetic source's tone (the same as a single pass), generated once for the whole range
    if (spec.audio) source.push(...syntheticAudioArgs(io.durationSec));
  } else {
    const remote = isHttpUrl(io.input);
    source.push('-protocol_whitelist', remote ? 'http,https,tcp,tls' : 'file', '-i', remote ? io.input : localPath(io.input, 'input'));
  }
  const hasSource = source.length > 0;
  const maps = ['-map', '0:v:0'];
  if (hasSource && spec.audio) maps.push('-map', io.input === undefined ? '1:a:0' : '1:a:0?');
  const fromSource = io.input !== undefined ? ['-map_metadata', '1', '-map_chapters', '1'] : ['-map_metadata', '-1'];
  return [
    '-hide_banner', '-nostdin', '-nostats',
    '-progress', 'pipe:1',
    '-benchmark',
    '-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file', '-i', localPath(io.list, 'concat list'),
    ...source,
    ...maps,
    ...fromSource,
    '-c:v', 'copy',
    ...(spec.audio ? audioArgs(spec, io.format) : ['-an']),
    '-sn', '-dn',
    '-t', seconds(io.durationSec),
    ...(io.format === 'mp4' ? ['-movflags', '+faststart'] : []),
    '-f', io.format,
    '-y', localPath(io.output, 'output'),
  ];
}
