/**
 * Parser for gst-launch-1.0's stdout with a progressreport element:
 *   progressreport0 (00:00:02): 1 / 2 seconds (50.0 %)
 * and its state messages ("Setting pipeline to PLAYING ...", "Got EOS from element ...").
 * Produces the same snapshots as the FFmpeg parser, so the activity treats both engines alike.
 * Frames are not reported by progressreport: they are derived from the position and frame rate.
 */
import type { ProgressSnapshot } from './ffmpeg-progress';

const REPORT = /^progressreport\d* \([\d:]+\): (\d+) \/ (\d+) seconds \(\s*([\d.]+) %\)/;

export class GstProgressParser {
  private last: ProgressSnapshot = { frame: 0, fps: null, outTimeUs: 0, speed: null, totalSizeBytes: null, ended: false };
  private lastAt: number | undefined;
  private playing = false;

  constructor(private readonly fps: number) {}

  feed(line: string, now = Date.now()): ProgressSnapshot | undefined {
    if (line.startsWith('Setting pipeline to PLAYING')) {
      this.playing = true;
      // the pipeline runs: report a first frame so the job shows as running
      this.last = { ...this.last, frame: Math.max(1, this.last.frame) };
      this.lastAt = now;
      return this.last;
    }
    if (line.startsWith('Got EOS from element')) {
      this.last = { ...this.last, ended: true };
      return this.last;
    }
    const m = REPORT.exec(line);
    if (!m || !this.playing) return undefined;
    const pos = Number(m[1]);
    const outTimeUs = Math.max(this.last.outTimeUs, pos * 1e6);
    const dt = this.lastAt === undefined ? 0 : (now - this.lastAt) / 1000;
    const dPos = (outTimeUs - this.last.outTimeUs) / 1e6;
    const speed = dt > 0 ? Math.round((dPos / dt) * 100) / 100 : this.last.speed;
    this.lastAt = now;
    this.last = {
      frame: Math.max(this.last.frame, Math.round(pos * this.fps)),
      fps: speed !== null ? Math.round(speed * this.fps * 10) / 10 : null,
      outTimeUs,
      speed,
      totalSizeBytes: null,
      ended: false,
    };
    return this.last;
  }
}
