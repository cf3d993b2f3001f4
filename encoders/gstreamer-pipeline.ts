/**
 * GStreamer pipeline builder: a pure function of (spec, resolved paths) → gst-launch-1.0 argument
 * array (one token per element, property or link). Synthetic or file/HTTP input, with audio, to a
 * file or to RTMP; a progressreport element gives progress. gst-launch joins its arguments into
 * one pipeline description and parses it again, so every path or URL is quoted in GStreamer's own
 * syntax (`gstQuote`): a user's string stays one property value, whatever it contains.
 */
import { findEncoder } from '../domain/encoders';
import type { EncodeSpec } from '../domain/job';
import { gstUnquotable } from '../domain/text-rules';
import { isHttpUrl } from '../domain/urls';

export interface GstIo {
  /** absolute local path or validated http(s) URL; absent for the synthetic source */
  input?: string;
  /** absolute path of the file to write, or the RTMP URL */
  output: string;
  /** container: mp4, webm, or flv (RTMP) */
  format: string;
}

/** GStreamer's synthetic picture: scrolling colour bars (reproducible, so verification can make it again). */
export const GST_TEST_PATTERN = ['pattern=smpte', 'horizontal-speed=4'];

/**
 * `value` as one quoted property value of a pipeline description: `"…"` with `"` and `\` escaped
 * by a backslash (spaces, `!`, `'`, `;`, non-ASCII… need nothing more inside the quotes). Throws,
 * naming `what`, for the few values gst-launch cannot be given (`gstUnquotable`).
 */
export function gstQuote(value: string, what: string): string {
  const problem = gstUnquotable(value);
  if (problem) throw new Error(`${what} ${problem}; use engine=ffmpeg for it`);
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Video encoder element with its properties, per encoder. Bitrates: x264/x265/av1 kbit/s, vp9 bit/s. */
function videoEncoder(spec: EncodeSpec): string[] {
  const gop = Math.max(1, Math.round(spec.fps * 2));
  switch (spec.encoder) {
    case 'x264enc':
      return ['x264enc', `bitrate=${spec.bitrateKbps}`, `speed-preset=${spec.preset}`, `key-int-max=${gop}`, '!', 'video/x-h264,profile=high', '!', 'h264parse'];
    case 'x265enc':
      return ['x265enc', `bitrate=${spec.bitrateKbps}`, `speed-preset=${spec.preset}`, `key-int-max=${gop}`, '!', 'h265parse'];
    case 'vp9enc': {
      const mode: Record<string, string[]> = { realtime: ['deadline=1', 'cpu-used=8'], good: ['deadline=1', 'cpu-used=4'], best: ['deadline=0', 'cpu-used=0'] };
      return ['vp9enc', `target-bitrate=${spec.bitrateKbps * 1000}`, ...(mode[spec.preset] ?? mode.good!), `keyframe-max-dist=${gop}`, 'row-mt=true'];
    }
    case 'av1enc':
      return ['av1enc', `target-bitrate=${spec.bitrateKbps}`, `cpu-used=${spec.preset}`, `keyframe-max-dist=${gop}`, 'row-mt=true', '!', 'av1parse'];
    default:
      throw new Error(`no GStreamer strategy for encoder ${spec.encoder}`);
  }
}

function audioEncoder(format: string): string[] {
  return format === 'webm' ? ['opusenc', 'bitrate=96000'] : ['avenc_aac', 'bitrate=128000', '!', 'aacparse'];
}

function muxer(format: string, output: string): string[] {
  if (format === 'flv') return ['flvmux', 'name=mux', 'streamable=true', '!', 'rtmp2sink', `location=${gstQuote(output, 'rtmp_url')}`, 'sync=true'];
  const element = format === 'webm' ? ['webmmux', 'name=mux'] : ['mp4mux', 'name=mux', 'faststart=true'];
  return [...element, '!', 'filesink', `location=${gstQuote(output, 'output path')}`];
}

export function buildGstArgs(spec: EncodeSpec, io: GstIo): string[] {
  const info = findEncoder(spec.encoder);
  if (!info || info.engine !== 'gstreamer') throw new Error(`no GStreamer strategy for encoder ${spec.encoder}`);
  const live = spec.output.mode === 'rtmp';
  const frames = Math.max(1, Math.round(spec.durationSec * spec.fps));
  const caps = `video/x-raw,width=${spec.width},height=${spec.height},framerate=${spec.fps}/1`;
  // synthetic audio in 20 ms buffers, so its length matches the video's exactly
  const audioBuffers = Math.max(1, Math.round(spec.durationSec * 50));

  const head = ['-e'];
  let videoSrc: string[];
  let audioSrc: string[];
  if (io.input === undefined) {
    videoSrc = ['videotestsrc', `num-buffers=${frames}`, ...GST_TEST_PATTERN, `is-live=${live}`, '!', caps];
    audioSrc = ['audiotestsrc', 'wave=sine', 'freq=440', `is-live=${live}`, 'samplesperbuffer=960', `num-buffers=${audioBuffers}`, '!', 'audio/x-raw,rate=48000,channels=2'];
  } else {
    const remote = isHttpUrl(io.input);
    const src = remote ? ['souphttpsrc', `location=${gstQuote(io.input, 'input')}`] : ['filesrc', `location=${gstQuote(io.input, 'input')}`];
    head.push(...src, '!', 'decodebin', 'name=dec');
    // the whole input is encoded: the activity trims a longer input beforehand (identity
    // eos-after does not end one branch of a demuxed file cleanly in GStreamer 1.22)
    videoSrc = ['dec.', '!', 'queue', '!', 'videoconvert', '!', 'videoscale', '!', 'videorate', '!', caps];
    audioSrc = ['dec.', '!', 'queue', '!', 'audioconvert', '!', 'audioresample', '!', 'audio/x-raw,rate=48000,channels=2'];
  }

  const video = [...videoSrc, '!', 'progressreport', 'update-freq=1', 'silent=false', '!', 'videoconvert', '!', 'video/x-raw,format=I420', '!', ...videoEncoder(spec), '!', 'queue', '!', 'mux.'];
  const audio = spec.audio ? [...audioSrc, '!', 'audioconvert', '!', ...audioEncoder(io.format), '!', 'queue', '!', 'mux.'] : [];
  return [...head, ...video, ...audio, ...muxer(io.format, io.output)];
}
