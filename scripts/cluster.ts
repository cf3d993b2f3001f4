/**
 * `scripts/cluster.sh up|down|status` after setup: the production topology on this machine
 * (lib/cluster/topology.ts), as detached processes that stay up until `down`.
 *   up [--masters M] [--workers N]   defaults 2 and 3; on a running cluster: says so, changes nothing
 *   down                             stops everything, removes the namespaces and the bridge
 *   status                           what runs, and where
 * State lives in $FFRTMP_CLUSTER_DIR (default data/cluster).
 */
import path from 'node:path';
import { Topology, type TopologyOptions } from '../lib/cluster/topology';

const REPO = path.resolve(__dirname, '..', '..');

function say(line: string): void {
  process.stderr.write(`\x1b[1m[cluster]\x1b[0m ${line}\n`);
}

function parseCount(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive whole number, got ${args[i + 1] ?? 'nothing'}`);
  return n;
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  const known = new Set(['--masters', '--workers']);
  for (let i = 0; i < args.length; i += 2) if (!known.has(args[i]!)) throw new Error(`unknown argument ${args[i]} (usage: cluster.sh up [--masters M] [--workers N] | down | status)`);
  const opts: TopologyOptions = {
    root: path.resolve(process.env.FFRTMP_CLUSTER_DIR ?? path.join(REPO, 'data', 'cluster')),
    network: { prefix: 'ffc', subnet: process.env.FFRTMP_CLUSTER_SUBNET ?? '10.77.13' },
    masters: parseCount(args, '--masters', 2),
    workers: parseCount(args, '--workers', 3),
    mode: 'detached',
    repoRoot: REPO,
    temporalCli: process.env.TEMPORAL_CLI ?? 'temporal',
    say,
  };
  const running = Topology.attach(opts);
  switch (command) {
    case 'up': {
      if (running?.running) {
        say('the cluster is already running; nothing changed (scripts/cluster.sh down stops it)');
        console.log(running.summary());
        return 0;
      }
      if (running) await running.down(); // leftovers of a cluster that died
      const t = new Topology(opts);
      try {
        await t.up();
      } catch (err) {
        say(`failed: ${(err as Error).message}`);
        say('stopping what was started');
        await t.down().catch(() => undefined);
        return 1;
      }
      console.log(t.summary());
      return 0;
    }
    case 'down':
      if (!running) {
        say('no cluster state here; removing any leftover namespaces');
        await new Topology(opts).net.destroy();
        return 0;
      }
      await running.down();
      say('stopped; nothing of it is running');
      return 0;
    case 'status':
      if (!running) {
        say('not running');
        return 3;
      }
      for (const [name, s] of running.services) console.log(`${name.padEnd(9)} ${s.alive ? `running (pid ${s.pid})` : 'stopped'}`);
      console.log(running.summary());
      return running.running ? 0 : 3;
    default:
      throw new Error('usage: scripts/cluster.sh up [--masters M] [--workers N] | down | status');
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say((err as Error).message);
    process.exit(2);
  },
);
