/**
 * The encoder guard: a tiny process beside each worker agent that kills the agent's encoders when
 * their leases run out. The agent renews the leases (one JSON line per encoder on stdin) only
 * while it is in touch with Temporal. So an encoder stops by itself when its agent is cut off the
 * network, or frozen (SIGSTOP, a hung event loop) — the cases in which Temporal hands the job to
 * another worker, and an encoder that nobody can cancel would otherwise run on as an orphan,
 * encoding the same job twice. It dies with the agent (parent-death signal); so do the encoders.
 *
 * stdin lines:  {"pid": 123, "until": <epoch ms>}   renew (or start) the lease of encoder 123
 *               {"pid": 123, "release": true}       forget it (it ended)
 * stdout lines: {"pid": 123, "killed": true, "late_ms": 4}  a lease ran out and the group was killed
 */
import readline from 'node:readline';

const leases = new Map<number, number>();

function expire(): void {
  const now = Date.now();
  for (const [pid, until] of leases) {
    if (now < until) continue;
    leases.delete(pid);
    try {
      process.kill(-pid, 'SIGKILL'); // the encoder leads its own process group
    } catch {
      /* already gone */
    }
    process.stdout.write(`${JSON.stringify({ pid, killed: true, late_ms: now - until })}\n`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  try {
    const msg = JSON.parse(line) as { pid?: unknown; until?: unknown; release?: unknown };
    if (typeof msg.pid !== 'number' || !Number.isInteger(msg.pid) || msg.pid <= 1) return;
    if (msg.release === true) leases.delete(msg.pid);
    else if (typeof msg.until === 'number') leases.set(msg.pid, msg.until);
  } catch {
    /* not ours: ignore */
  }
});
// the agent is gone: its encoders die with it (their own parent-death signal), and so does the guard
lines.on('close', () => process.exit(0));
setInterval(expire, 100);
