/**
 * The one place that spawns encoders (ffmpeg, gst-launch-1.0). An encoder runs as the leader of
 * its own process group, so suspend/continue/kill reach everything it started, and with a
 * parent-death signal (setpriv --pdeathsig), so it dies with its worker even after a SIGKILL.
 * Arguments are always an array: no shell ever sees a user's string.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnBound } from '../lib/bound-child';
import { processCpuSeconds } from '../lib/proc';
import { LineTail } from './line-tail';

export interface EncoderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  command: string;
  args: readonly string[];
  cwd?: string;
  /** called with every stdout line (ffmpeg's -progress stream) */
  onStdoutLine?: (line: string) => void;
  /** called with every stderr line */
  onStderrLine?: (line: string) => void;
  stderrTailLines?: number;
  /** pin the encoder to these CPUs (taskset -c list) */
  cpus?: string;
}

export class EncoderProcess {
  readonly child: ChildProcess;
  readonly stderr: LineTail;
  readonly exited: Promise<EncoderExit>;
  private suspendedSince: number | null = null;
  private suspendedTotalMs = 0;
  private exitInfo: EncoderExit | null = null;

  constructor(readonly opts: SpawnOptions) {
    this.stderr = new LineTail(opts.stderrTailLines ?? 200);
    this.child = spawnBound(opts.command, opts.args, {
      cwd: opts.cwd,
      detached: true, // own process group: signals reach the whole encoder
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AV_LOG_FORCE_NOCOLOR: '1' },
    }, 'KILL', opts.cpus);
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.child.once('error', (err) => {
        this.stderr.push(`failed to start ${opts.command}: ${err.message}`);
        this.exitInfo = { code: 127, signal: null };
        resolve(this.exitInfo);
      });
    });
    // read both pipes all the time, so a full pipe never blocks the encoder
    splitLines(this.child.stdout!, (line) => opts.onStdoutLine?.(line));
    splitLines(this.child.stderr!, (line) => {
      this.stderr.push(line);
      opts.onStderrLine?.(line);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === null && this.child.pid !== undefined;
  }

  get suspended(): boolean {
    return this.suspendedSince !== null;
  }

  /** Milliseconds spent suspended so far (stall and speed figures leave them out). */
  suspendedMs(now = Date.now()): number {
    return this.suspendedTotalMs + (this.suspendedSince === null ? 0 : now - this.suspendedSince);
  }

  private signalGroup(signal: NodeJS.Signals): boolean {
    if (!this.running || !this.child.pid) return false;
    try {
      process.kill(-this.child.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  suspend(): boolean {
    if (this.suspended) return true;
    if (!this.signalGroup('SIGSTOP')) return false;
    this.suspendedSince = Date.now();
    return true;
  }

  resume(): boolean {
    if (!this.suspended) return true;
    const ok = this.signalGroup('SIGCONT');
    this.suspendedTotalMs += Date.now() - (this.suspendedSince ?? Date.now());
    this.suspendedSince = null;
    return ok;
  }

  /** Kill the whole group at once; a stopped process dies from SIGKILL too. */
  async kill(): Promise<EncoderExit> {
    this.signalGroup('SIGKILL');
    return this.exited;
  }

  /** CPU seconds (user + system) the encoder used so far, from /proc; null when gone. */
  cpuSeconds(): number | null {
    return this.child.pid ? processCpuSeconds(this.child.pid) : null;
  }
}

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.search(/[\r\n]/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.length > 0) onLine(line);
    }
    if (buf.length > 64 * 1024) {
      onLine(buf);
      buf = '';
    }
  });
  stream.on('end', () => {
    if (buf.length > 0) onLine(buf);
  });
}
