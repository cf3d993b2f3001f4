/**
 * The encoders running on this worker, by job and attempt, so the node's control activities can
 * suspend and continue them. A suspend that arrives before the encoder process exists is
 * remembered and applied the moment it starts.
 */
import type { EncoderProcess } from './encoder-process';

interface Entry {
  process: EncoderProcess | null;
  wantSuspended: boolean;
}

export class EncoderRegistry {
  private readonly entries = new Map<string, Entry>();

  private static key(jobId: string, attempt: number): string {
    return `${jobId}#${attempt}`;
  }

  open(jobId: string, attempt: number): void {
    this.entries.set(EncoderRegistry.key(jobId, attempt), { process: null, wantSuspended: false });
  }

  attach(jobId: string, attempt: number, process: EncoderProcess): void {
    const entry = this.entries.get(EncoderRegistry.key(jobId, attempt));
    if (!entry) return;
    entry.process = process;
    if (entry.wantSuspended) process.suspend();
  }

  close(jobId: string, attempt: number): void {
    this.entries.delete(EncoderRegistry.key(jobId, attempt));
  }

  /** false when this worker runs no such attempt */
  suspend(jobId: string, attempt: number): boolean {
    const entry = this.entries.get(EncoderRegistry.key(jobId, attempt));
    if (!entry) return false;
    entry.wantSuspended = true;
    return entry.process ? entry.process.suspend() || !entry.process.running : true;
  }

  resume(jobId: string, attempt: number): boolean {
    const entry = this.entries.get(EncoderRegistry.key(jobId, attempt));
    if (!entry) return false;
    entry.wantSuspended = false;
    return entry.process ? entry.process.resume() || !entry.process.running : true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Set when the worker kills its encoders itself, so their attempts say why. */
  stopReason: string | null = null;

  /** Kill every encoder (worker shutdown); the pdeathsig covers the cases this cannot. */
  async killAll(reason = 'the worker is stopping'): Promise<void> {
    this.stopReason ??= reason;
    await Promise.all([...this.entries.values()].map((e) => e.process?.kill()));
  }
}
