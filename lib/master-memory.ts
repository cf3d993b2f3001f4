/**
 * The master's memory, sized on purpose. V8 sizes each heap from the machine's memory (old space up
 * to ~4 GiB, a young generation of up to 3 × 16 MiB, on a 24 GiB machine) and collects lazily inside
 * it, and a master holds two heaps: its own and the orchestration worker's workflow thread. A master
 * that had created 10,000 jobs sat at ~400 MiB RSS with 50 MiB of live objects in its own heap.
 * Capped, the same run stays under 200 MiB (docs/PERFORMANCE.md), with the cap 2.5 × that live size.
 *
 * The caps must be given when the process starts (the main heap is configured then): every place
 * that starts a master passes MASTER_NODE_FLAGS and MASTER_PROCESS_ENV (lib/launch.ts, the topology, the systemd unit,
 * the image; the deploy tests compare them with this list). The workflow thread starts later, so
 * the master also sets them for it itself, whatever it was started with.
 */
import v8 from 'node:v8';

/** old-space cap of each heap (MiB) */
export const MASTER_HEAP_MB = 128;
/** young-generation semi-space cap (MiB): 2 instead of 16 — short-lived request objects die young either way */
export const MASTER_SEMI_SPACE_MB = 2;

export const MASTER_NODE_FLAGS: readonly string[] = [`--max-old-space-size=${MASTER_HEAP_MB}`, `--max-semi-space-size=${MASTER_SEMI_SPACE_MB}`];

/** Before the orchestration worker starts its workflow thread: that thread's heap gets the same caps. */
export function sizeWorkflowThreadHeap(): void {
  for (const flag of MASTER_NODE_FLAGS) v8.setFlagsFromString(flag);
}

/**
 * The master's environment beside them, for glibc's malloc (read at the first allocation, so it
 * must be there at start; docs/PERFORMANCE.md has the runs):
 *   - MALLOC_ARENA_MAX: malloc keeps up to 8 arenas per core, and the Temporal core's threads
 *     spread allocations over arenas of their own; 2 took 15 MiB off the 10,000-job run;
 *   - MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ fixed at 128 KiB: by default malloc raises
 *     the mmap threshold as large blocks are freed (up to 32 MiB), so a burst's big buffers end up
 *     in heaps it keeps; fixed, they are mapped and given back on free, and free space at the top
 *     of a heap is returned too: 14 MiB less after 10,000 jobs, no CPU cost measured.
 */
export const MASTER_PROCESS_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/** A warning when this process was started without the caps (its own heap then grows as V8 likes). */
export function heapSizingWarning(): string | null {
  const limitMb = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
  if (limitMb <= MASTER_HEAP_MB * 1.5) return null;
  return `the master was started without its heap caps (heap limit ${Math.round(limitMb)} MiB): start it as node ${MASTER_NODE_FLAGS.join(' ')} dist/api/server.js to keep it near 200 MiB`;
}
