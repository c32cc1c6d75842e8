// The shard cut within the nodes' memory (docs/cluster.md, "Memory"): each node announces the bytes it may use
// with its heartbeats, the coordinator turns them into the most blocks each node can hold (the estimate of
// shared/memory-estimate.ts nodeCapacityCells, the rule the node checks its shard by), and the blocks are cut
// by threads as before, except that a node's share never exceeds what it can hold: the excess goes to the
// others by their threads (water-filling). Pure.

import { cutShards } from './cluster-partition.ts';
import { CHANGE_BLOCK_CELLS } from './value-change.ts';

/**
 * Shard bounds over `n` blocks for nodes of `weights` (threads) that can hold at most `caps[k]` blocks each
 * (every cap >= 1): cutShards(n, weights) when no cap binds; undefined when the caps together hold fewer than n.
 */
export function cutWithin(n: number, weights: readonly number[], caps: readonly number[]): number[] | undefined {
  if (caps.reduce((a, b) => a + b, 0) < n) return undefined;
  const sizes = new Array<number>(weights.length).fill(-1);
  let rest = n;
  for (;;) {
    const free = sizes.flatMap((s, k) => (s < 0 ? [k] : []));
    const bounds = cutShards(rest, free.map((k) => weights[k]));
    const over = free.filter((k, j) => bounds[j + 1] - bounds[j] > caps[k]);
    if (over.length === 0) {
      free.forEach((k, j) => (sizes[k] = bounds[j + 1] - bounds[j]));
      break;
    }
    // the nodes given more than they hold keep what they hold; the rest is cut again among the others
    for (const k of over) {
      sizes[k] = caps[k];
      rest -= caps[k];
    }
  }
  const out = [0];
  for (const s of sizes) out.push(out[out.length - 1] + s);
  return out;
}

/**
 * The most blocks a node holds, from the most cells it holds (its capacity): whole blocks only (never overstating
 * what fits), every block when it holds every one of the run's `cells`.
 */
export function blockCap(capacityCells: number, cells: number): number {
  return capacityCells >= cells ? Math.ceil(cells / CHANGE_BLOCK_CELLS) : Math.floor(capacityCells / CHANGE_BLOCK_CELLS);
}
