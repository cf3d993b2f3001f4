/**
 * The agent's side of the encoder guard (workers/encoder-guard.ts): it watches its own contact
 * with Temporal (a cheap call every second on the connection its workers use) and renews each
 * encoder's lease to "last contact + lease" twice a second. A frozen agent renews nothing; a
 * cut-off one stops moving "last contact": either way the guard kills the encoder once the lease
 * runs out, and the encode activity reports why.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { EncoderLeases } from '../activities';
import { spawnBound } from '../lib/bound-child';
import type { Logger } from '../lib/logger';

export interface ContactProbe {
  /** resolves when Temporal answered; rejects (or takes too long) when it did not */
  ping(deadlineMs: number): Promise<unknown>;
}

export class GuardedLeases implements EncoderLeases {
  private readonly leases = new Map<number, number>();
  private readonly killed = new Set<number>();
  private lastContact = Date.now();
  private guard: ChildProcess | undefined;
  private timers: NodeJS.Timeout[] = [];
  private inTouch = true;

  constructor(
    private readonly probe: ContactProbe,
    private readonly logger: Logger,
    private readonly opts: { pingEveryMs?: number; renewEveryMs?: number } = {},
  ) {}

  start(): void {
    this.guard = spawnBound(process.execPath, [path.join(__dirname, 'encoder-guard.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.guard.stdin?.on('error', () => undefined);
    readline.createInterface({ input: this.guard.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { pid: number; killed?: boolean; late_ms?: number };
        if (msg.killed) {
          this.killed.add(msg.pid);
          this.leases.delete(msg.pid);
          this.logger.warn({ pid: msg.pid, contact_lost_ms: Date.now() - this.lastContact }, 'encoder stopped by its guard: no contact with Temporal for its lease');
        }
      } catch {
        /* ignore */
      }
    });
    this.timers.push(setInterval(() => void this.ping(), this.opts.pingEveryMs ?? 1_000));
    this.timers.push(setInterval(() => this.renew(), this.opts.renewEveryMs ?? 500));
  }

  private async ping(): Promise<void> {
    const started = Date.now();
    try {
      await this.probe.ping(started + 2_000);
      this.lastContact = started;
      if (!this.inTouch) this.logger.info('in contact with Temporal again');
      this.inTouch = true;
    } catch (err) {
      if (this.inTouch) this.logger.warn({ err: (err as Error).message }, 'no contact with Temporal; running encoders keep their lease until it runs out');
      this.inTouch = false;
    }
  }

  /** ms since Temporal last answered this worker */
  get silentMs(): number {
    return Date.now() - this.lastContact;
  }

  private send(msg: object): void {
    this.guard?.stdin?.write(`${JSON.stringify(msg)}\n`);
  }

  private renew(): void {
    for (const [pid, leaseMs] of this.leases) this.send({ pid, until: this.lastContact + leaseMs });
  }

  track(pid: number, leaseMs: number): void {
    if (leaseMs <= 0) return; // no heartbeat timeout: nothing would hand the job elsewhere
    this.leases.set(pid, leaseMs);
    this.send({ pid, until: Math.max(Date.now(), this.lastContact) + leaseMs });
  }

  untrack(pid: number): void {
    if (!this.leases.delete(pid)) return;
    this.send({ pid, release: true });
  }

  /** The guard killed it, or is about to: its lease ran out (the guard's report may still be on its way). */
  expired(pid: number): boolean {
    const leaseMs = this.leases.get(pid);
    return this.killed.has(pid) || (leaseMs !== undefined && Date.now() >= this.lastContact + leaseMs);
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.guard?.stdin?.end();
  }
}
