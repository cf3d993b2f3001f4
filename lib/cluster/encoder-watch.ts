/**
 * Which encoder runs where, for the fault tests and the soak: samples every encoder process on
 * every host of a topology (ffmpeg, gst-launch; all hosts share this machine's process table) 10
 * times a second — which job, which host, which output file, from when to when — so that a job
 * encoding on two hosts at once, or two encoders writing one file, shows up and can be counted.
 */
import { readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { listProcesses } from '../proc';
import type { Topology } from './topology';

/** Host of a process: the network namespace it lives in, by inode, matched to the topology's hosts. */
function hostInodes(t: Topology): Map<number, string> {
  const byInode = new Map<number, string>();
  for (const h of [...t.masters, ...t.workers]) byInode.set(statSync(`/run/netns/${t.net.host(h).netns}`).ino, h);
  return byInode;
}

function netnsInode(pid: number): number | undefined {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface Sighting {
  job: string;
  host: string;
  pid: number;
  output: string;
  first: number;
  last: number;
}

export class EncoderWatch {
  private readonly seen = new Map<number, Sighting>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inodes: Map<number, string>;

  constructor(private readonly t: Topology) {
    this.inodes = hostInodes(t);
  }

  start(): this {
    this.timer = setInterval(() => this.sample(), 100);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private sample(): void {
    const now = Date.now();
    const outputs = this.t.outputRoot + path.sep;
    for (const p of listProcesses()) {
      if (!/(ffmpeg|gst-launch-1\.0)$/.test(p.argv[0] ?? '')) continue;
      const output = p.argv.find((a) => a.startsWith(outputs) || a.includes(`location="${outputs}`));
      if (!output) continue;
      const rel = output.slice(output.indexOf(outputs) + outputs.length);
      const job = rel.split(path.sep)[0]!;
      const s = this.seen.get(p.pid);
      if (s) s.last = now;
      else {
        const inode = netnsInode(p.pid);
        this.seen.set(p.pid, { job, host: (inode && this.inodes.get(inode)) || 'unknown', pid: p.pid, output, first: now, last: now });
      }
    }
  }

  sightings(job: string): Sighting[] {
    return [...this.seen.values()].filter((s) => s.job === job);
  }

  /** The longest time a job's encoders ran on two different hosts at once (ms). */
  overlapMs(job: string): number {
    const s = this.sightings(job);
    let worst = 0;
    for (const a of s) for (const b of s) if (a.host !== b.host && a.pid < b.pid) worst = Math.max(worst, Math.min(a.last, b.last) - Math.max(a.first, b.first));
    return Math.max(0, worst);
  }

  /** Two encoders of one job that wrote the same file (never allowed). */
  sharedOutputs(job: string): string[] {
    const s = this.sightings(job);
    const dup = new Set<string>();
    for (const a of s) for (const b of s) if (a.pid < b.pid && a.output === b.output && Math.min(a.last, b.last) >= Math.max(a.first, b.first)) dup.add(a.output);
    return [...dup];
  }
}
