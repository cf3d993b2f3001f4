/**
 * The encoder command factory: one entry point that turns a resolved spec into the program to run,
 * its argument array, and the parser of its progress output — FFmpeg or GStreamer.
 */
import type { EncodeSpec } from '../domain/job';
import { buildFfmpegArgs, containerFor, type SegmentRange } from './ffmpeg-command';
import { FfmpegProgressParser, type ProgressSnapshot } from './ffmpeg-progress';
import { buildGstArgs } from './gstreamer-pipeline';
import { GstProgressParser } from './gstreamer-progress';

export interface EncoderCommand {
  program: 'ffmpeg' | 'gst-launch-1.0';
  args: string[];
  /** feeds one line of the encoder's stdout; a snapshot when progress moved */
  progress: (line: string) => ProgressSnapshot | undefined;
}

export interface EncoderIo {
  input?: string;
  output: string;
  /** a segment of a split job (FFmpeg only) */
  segment?: SegmentRange;
  /** the encoder's thread count (FFmpeg only; default: the encoder's choice) */
  threads?: number;
}

export function encoderCommand(spec: EncodeSpec, io: EncoderIo): EncoderCommand {
  const { format } = containerFor(spec);
  if (spec.engine === 'gstreamer') {
    if (io.segment) throw new Error('segments are encoded with FFmpeg only');
    const parser = new GstProgressParser(spec.fps);
    return { program: 'gst-launch-1.0', args: buildGstArgs(spec, { ...io, format }), progress: (l) => parser.feed(l) };
  }
  const parser = new FfmpegProgressParser();
  return { program: 'ffmpeg', args: buildFfmpegArgs(spec, { ...io, format }), progress: (l) => parser.feed(l) };
}

export { containerFor } from './ffmpeg-command';
