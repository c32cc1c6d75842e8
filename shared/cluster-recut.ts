// Re-cutting the shards by the work the nodes measured (docs/cluster.md, "Shard map"). Pure: the executor
// sums the nodes' reported costs per block of CHANGE_BLOCK_CELLS cells (ToCoordinator 'done'), asks recutPlan
// whether a cut by cost (within the nodes' memory) would shrink the slowest shard enough, and if so re-opens the
// run with those block costs.
// Costs are thread-ms measured on each node; a node's estimated time for a shard is that sum divided by its
// threads (nodes are taken to be equally fast per thread). Timings steer the cut only, never a table's bits.

import { cutByCostWithin } from './cluster-partition.ts';
import { CHANGE_BLOCK_CELLS } from './value-change.ts';

export interface RecutPlan {
  /** Block bounds of the cut by cost (bounds[k]..bounds[k+1]: shard k). */
  blockBounds: number[];
  /** The slowest shard's estimated time (cost / threads) under the current cut and under the new one. */
  slowestBefore: number;
  slowestAfter: number;
  /** Whether the new cut shrinks the slowest shard by more than the threshold. */
  recut: boolean;
}

/** The estimated time of the slowest shard: max over k of (cost of blocks bounds[k]..bounds[k+1]) / weights[k]. */
export function slowestShard(costs: ArrayLike<number>, blockBounds: readonly number[], weights: readonly number[]): number {
  let worst = 0;
  for (let k = 0; k + 1 < blockBounds.length; k++) {
    let sum = 0;
    for (let b = blockBounds[k]; b < blockBounds[k + 1]; b++) sum += costs[b];
    worst = Math.max(worst, sum / weights[k]);
  }
  return worst;
}

/**
 * The cut by cost for the block costs and the nodes' weights (threads), compared with the current cut
 * (cellBounds, as in ShardRun): recut when the slowest shard would shrink by more than `threshold` (0.05: 5%).
 * caps: the most blocks each node holds (its memory): the cut by cost within them, the one open() makes.
 */
export function recutPlan(costs: ArrayLike<number>, cellBounds: readonly number[], weights: readonly number[], threshold: number, caps?: readonly number[]): RecutPlan {
  if (weights.length + 1 !== cellBounds.length) throw new RangeError(`recutPlan: ${weights.length} weights for ${cellBounds.length - 1} shards`);
  const current = cellBounds.map((c) => Math.ceil(c / CHANGE_BLOCK_CELLS));
  // the current cut fits the caps (open() made it within them), so a cut within them exists
  const blockBounds = cutByCostWithin(costs, weights, caps) ?? current;
  const slowestBefore = slowestShard(costs, current, weights);
  const slowestAfter = slowestShard(costs, blockBounds, weights);
  const moved = blockBounds.some((b, k) => b !== current[k]);
  return { blockBounds, slowestBefore, slowestAfter, recut: moved && slowestAfter < slowestBefore * (1 - threshold) };
}

/** Cost per block of CHANGE_BLOCK_CELLS cells (the cut's unit) from a cost per cell (ClusterExecutorOptions.cellCosts). */
export function blockCostsOf(cellCosts: ArrayLike<number>, cells: number): Float64Array {
  const out = new Float64Array(Math.ceil(cells / CHANGE_BLOCK_CELLS));
  for (let c = 0; c < cells; c++) out[Math.floor(c / CHANGE_BLOCK_CELLS)] += cellCosts[c];
  return out;
}
