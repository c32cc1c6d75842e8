// V8 heap tuning for a cluster node's process (`m3fg worker`).
//
// A node passes ~10 MiB of halo rows each way per iteration (Cyber M = 60, 2 nodes) in short-lived
// ArrayBuffers, on a JS heap of only ~25 MB (the tables live outside it). V8 sets the next major-GC limit
// to the live heap times a factor it picks between 1.1 and 4 from its GC and mutator speeds, and starts
// incremental marking from a task once the room left under that limit is below the young generation's
// capacity. Which factor a node gets depended on when its young generation grew: in 5 of 6 node runs
// (`npx tsx bench/cluster.ts cyber 60 8 2 1 --cluster-only`) a node ran a major GC every 0.2-0.5 s
// (14-21 per run against 3-4) and its V8 helper threads (concurrent marking, sweeping) spent 0.13-0.15
// CPU-s per iteration against 0.04-0.05. With the factor fixed at V8's own maximum, 4, every node of
// three runs was at 0.04-0.05. The price is memory: up to 3x the live JS heap (tens of MB) as garbage
// before a major GC, small next to a shard's tables.

import { setFlagsFromString } from 'node:v8';

/** Next major-GC limit = 4 x the live heap (V8's --heap-growing-percent; process-wide, read at every GC). */
export const NODE_HEAP_GROWING_PERCENT = 300;

/** Applies the node's heap tuning to this process (all its threads: V8 flags are per process). */
export function tuneNodeHeap(): void {
  setFlagsFromString(`--heap-growing-percent=${NODE_HEAP_GROWING_PERCENT}`);
}
