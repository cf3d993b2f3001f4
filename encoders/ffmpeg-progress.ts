/**
 * Parser for `ffmpeg -progress pipe:1`: key=value lines in blocks, each block closed by
 * `progress=continue` or `progress=end`. Early values may be `N/A`; `out_time_ms` is in
 * microseconds despite its name; `speed` is padded (`"   0x"`). Pure: feed lines, get snapshots.
 */

export interface ProgressSnapshot {
  frame: number;
  fps: number | null;
  /** encoded output time in microseconds */
  outTimeUs: number;
  /** x realtime */
  speed: number | null;
  totalSizeBytes: number | null;
  ended: boolean;
}

function num(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number.parseFloat(value.trim().replace(/x$/, ''));
  return Number.isFinite(n) ? n : null;
}

export class FfmpegProgressParser {
  private block = new Map<string, string>();
  private last: ProgressSnapshot = { frame: 0, fps: null, outTimeUs: 0, speed: null, totalSizeBytes: null, ended: false };

  /** Feed one line; returns a snapshot when the line closes a block. */
  feed(line: string): ProgressSnapshot | undefined {
    const eq = line.indexOf('=');
    if (eq <= 0) return undefined;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key !== 'progress') {
      this.block.set(key, value);
      return undefined;
    }
    const b = this.block;
    this.block = new Map();
    const outTime = num(b.get('out_time_us')) ?? num(b.get('out_time_ms'));
    const snap: ProgressSnapshot = {
      frame: num(b.get('frame')) ?? this.last.frame,
      fps: num(b.get('fps')),
      // never goes backwards (the first blocks may report N/A or a negative start offset)
      outTimeUs: Math.max(this.last.outTimeUs, outTime !== null && outTime > 0 ? outTime : 0),
      speed: num(b.get('speed')),
      totalSizeBytes: num(b.get('total_size')),
      ended: value === 'end',
    };
    this.last = snap;
    return snap;
  }
}

/** Percent done (0–100, one decimal) from the encoded time and the expected duration. */
export function percentDone(outTimeUs: number, expectedDurationSec: number, ended: boolean): number {
  if (ended) return 100;
  if (expectedDurationSec <= 0) return 0;
  const pct = (outTimeUs / (expectedDurationSec * 1e6)) * 100;
  // 100 is reserved for "the encoder said it finished"
  return Math.min(99.9, Math.max(0, Math.round(pct * 10) / 10));
}

/** Seconds left at the current speed, or null when the speed is unknown. */
export function etaSeconds(outTimeUs: number, expectedDurationSec: number, speed: number | null): number | null {
  if (!speed || speed <= 0) return null;
  const remaining = Math.max(0, expectedDurationSec - outTimeUs / 1e6);
  return Math.round((remaining / speed) * 10) / 10;
}

/** ffmpeg -benchmark's closing line `bench: utime=1.394s stime=0.229s rtime=1.003s` → CPU seconds. */
export function parseBenchmarkCpu(line: string): number | undefined {
  const m = /^bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(line);
  return m ? Number(m[1]) + Number(m[2]) : undefined;
}

/**
 * x264's closing summary `[libx264 @ 0x…] PSNR Mean Y:… Avg:… Global:47.620 kb/s:…` → the
 * global PSNR in dB (from the summed squared error of all frames and planes, as ffmpeg's psnr
 * filter averages; x264 writes 100 for a lossless encode).
 */
export function parseEncoderPsnr(line: string): number | undefined {
  const m = /^\[libx264 @ [^\]]+\] PSNR Mean .*\bGlobal:([\d.]+)/.exec(line);
  return m ? Number(m[1]) : undefined;
}
