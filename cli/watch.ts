/**
 * Following a job to its end (`jobs watch`, `jobs submit --wait`). On a terminal, a live progress
 * bar on stderr (cli-progress) with percent, status, encoder fps and the encoder's ETA; elsewhere
 * one plain line per status change, never an escape sequence. Stdout gets only the result.
 */
import { SingleBar } from 'cli-progress';
import type { JobView } from '../domain/job';
import type { MasterApi } from './client';
import { EXIT, type ExitCode } from './exit-codes';
import { jobViews } from './job-stream';
import { formatDuration, paintStatus, type Output, type OutStream } from './output';

export interface ProgressDisplay {
  update(view: JobView): void;
  stop(): void;
}

const fpsText = (fps: number | null) => (fps === null ? '--' : fps >= 100 ? fps.toFixed(0) : fps.toFixed(1));
const label = (v: JobView) => `job ${v.sequence_number}`;

/** The live bar: redrawn in place on a TTY. */
export class BarDisplay implements ProgressDisplay {
  private readonly bar: SingleBar;
  private started = false;

  constructor(
    stream: OutStream,
    private readonly out: Output,
  ) {
    this.bar = new SingleBar({
      stream: stream as NodeJS.WritableStream,
      format: '{label} {bar} {percentage}% | {status} | {fps} fps | ETA {eta_text}',
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      barsize: 24,
      hideCursor: true,
      linewrap: false,
      fps: 10,
      etaBuffer: 1,
    });
  }

  update(v: JobView): void {
    const payload = {
      label: label(v),
      status: paintStatus(v.status, this.out.errColour),
      // a finished job has no live figures: show its average
      fps: fpsText(v.fps ?? v.avg_fps),
      eta_text: v.status === 'paused' ? 'paused' : v.status === 'completed' ? '0 s' : formatDuration(v.eta_seconds),
    };
    const value = Math.min(100, Math.max(0, Math.floor(v.progress)));
    if (!this.started) {
      this.bar.start(100, value, payload);
      this.started = true;
    } else this.bar.update(value, payload);
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }
}

/** Without a terminal: a line when the status changes, so logs stay readable. */
export class LineDisplay implements ProgressDisplay {
  private last = '';

  constructor(private readonly stream: OutStream) {}

  update(v: JobView): void {
    if (v.status === this.last) return;
    this.last = v.status;
    const where = v.node_name ? ` on ${v.node_name}` : '';
    const figures = v.status === 'running' || v.status === 'paused' ? ` (${Math.floor(v.progress)}%, ${fpsText(v.fps)} fps, ETA ${formatDuration(v.eta_seconds)})` : '';
    this.stream.write(`${label(v)} ${v.status}${where}${figures}\n`);
  }

  stop(): void {}
}

export function progressDisplay(stream: OutStream, out: Output): ProgressDisplay {
  return stream.isTTY === true ? new BarDisplay(stream, out) : new LineDisplay(stream);
}


/** Follows the job until it ends (its event stream, else polling); the display is stopped however the loop ends. */
export async function followJob(api: MasterApi, id: string, display: ProgressDisplay, intervalMs: number): Promise<JobView> {
  const onInterrupt = () => {
    display.stop();
    process.stderr.write(`\nstopped watching; the job goes on (ffrtmp jobs watch ${id})\n`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    let last: JobView | undefined;
    for await (const view of jobViews(api, id, intervalMs)) {
      display.update(view);
      last = view;
    }
    return last!;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    display.stop();
  }
}

/** 0 for a completed job, 1 for one that ended failed, timed_out or canceled. */
export function outcomeExitCode(view: JobView): ExitCode {
  return view.status === 'completed' ? EXIT.ok : EXIT.jobFailed;
}

/** One line that says how the job ended (table output). */
export function outcomeLine(v: JobView, out: Output): string {
  const head = `job ${v.sequence_number} ${out.status(v.status)}`;
  if (v.status === 'completed') {
    const took = v.started_at && v.completed_at ? ` in ${formatDuration((Date.parse(v.completed_at) - Date.parse(v.started_at)) / 1000)}` : '';
    const fps = v.avg_fps !== null ? `, ${fpsText(v.avg_fps)} fps` : '';
    const where = v.output?.path ?? v.output?.url;
    return `${head}${took} (attempt ${v.attempt}${fps})${where ? `: ${where}` : ''}`;
  }
  return `${head}${v.error ? `: ${v.error}` : ''}`;
}
