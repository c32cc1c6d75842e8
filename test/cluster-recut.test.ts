// Re-cutting the shards by measured cost (shared/cluster-recut.ts, ClusterExecutorOptions.recut): the
// decision as a pure function; the nodes' measured costs (each node reports work on its own blocks only);
// in process, with 2 and 3 nodes whose reported costs are replaced by skewed ones through the test hook (not
// timing), the run re-cuts once and ends with the bits of the inline run; with the option off it never does.
import { beforeAll, describe, expect, it } from 'vitest';
import { InProcessHub } from '../shared/cluster-transport.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';
import { MemoryShardStores } from '../shared/shard-store.ts';
import { ShardNode } from '../worker/shard-node.ts';
import { ClusterExecutor, type ClusterExecutorOptions } from '../coordinator/cluster-executor.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import type { SolveOptions } from '../coordinator/solver.ts';
import { blockCostsOf, recutPlan, slowestShard } from '../shared/cluster-recut.ts';
import { cutByCost, cutShards } from '../shared/cluster-partition.ts';
import { nodeCapacityCells, nodeShardEstimate, type NodeRunShape } from '../shared/memory-estimate.ts';
import { CHANGE_BLOCK_CELLS } from '../shared/value-change.ts';
import { problemOf } from './helpers/variants.ts';
import { expectSameBits, solveCollected, type Solved } from './helpers/same-bits.ts';

describe('recutPlan', () => {
  it('re-cuts only when the slowest shard shrinks by more than the threshold', () => {
    // 8 blocks, the last two 3x as costly; two nodes of one thread cut 4 | 4 -> slowest 1+1+3+3 = 8
    const costs = Float64Array.from([1, 1, 1, 1, 1, 1, 3, 3]);
    const cells = [0, 4 * CHANGE_BLOCK_CELLS, 8 * CHANGE_BLOCK_CELLS];
    const plan = recutPlan(costs, cells, [1, 1], 0.05);
    expect(plan.slowestBefore).toBe(8);
    expect(plan.blockBounds).toEqual(cutByCost(costs, [1, 1]));
    expect(plan.slowestAfter).toBe(slowestShard(costs, plan.blockBounds, [1, 1]));
    // 6 blocks | 2 blocks: 6 and 6
    expect(plan.slowestAfter).toBe(6);
    expect(plan.recut).toBe(true);
    // a 25% shrink: enough for a 20% threshold, not for 30%
    expect(recutPlan(costs, cells, [1, 1], 0.2).recut).toBe(true);
    expect(recutPlan(costs, cells, [1, 1], 0.3).recut).toBe(false);
    // uniform costs on a cut by threads (1 and 3 threads): nothing to gain
    expect(recutPlan(new Float64Array(8).fill(1), [0, 2 * CHANGE_BLOCK_CELLS, 8 * CHANGE_BLOCK_CELLS], [1, 3], 0.05).recut).toBe(false);
    // a last block cut short (cells not a multiple of the block)
    expect(recutPlan(costs, [0, 4 * CHANGE_BLOCK_CELLS, 8 * CHANGE_BLOCK_CELLS - 1], [1, 1], 0.05).slowestBefore).toBe(8);
  });

  it('blockCostsOf sums the cells of each block, the last block cut short', () => {
    const cells = 2 * CHANGE_BLOCK_CELLS + 1;
    const per = Float64Array.from({ length: cells }, (_, c) => c + 1);
    const blocks = blockCostsOf(per, cells);
    expect(blocks.length).toBe(3);
    const sum = (from: number, to: number) => ((from + 1 + to) * (to - from)) / 2; // cells from..to-1 cost c + 1
    expect(Array.from(blocks)).toEqual([sum(0, CHANGE_BLOCK_CELLS), sum(CHANGE_BLOCK_CELLS, 2 * CHANGE_BLOCK_CELLS), cells]);
  });
});

const spec = { game: 'cyber', params: { T: 10 }, bins: 8 };
const options: SolveOptions = { algorithm: 'fp', iterations: 4 };

for (const n of [2, 3]) {
  describe(`re-cut by measured cost, ${n} nodes in process`, () => {
    let want: Solved;
    beforeAll(async () => {
      want = await solveCollected(spec, await problemOf(spec), new InlineExecutor(), options);
    });

    function world(stores?: MemoryShardStores) {
      const hub = new InProcessHub();
      // node-1 computes on a pool of 2 threads, the others on their own thread
      const nodes = Array.from({ length: n }, (_, i) => new ShardNode({ transport: hub.join(`node-${i}`), threads: 1 + (i % 2), heartbeatMs: 50, pool: i === 1, store: stores?.forNode(`node-${i}`) }));
      for (const node of nodes) node.start();
      return { nodes, coordinator: hub.join(COORDINATOR) };
    }

    async function solve(recut: ClusterExecutorOptions['recut'], stores?: MemoryShardStores, opts: SolveOptions = options) {
      const problem = await problemOf(spec);
      const w = world(stores);
      const ex = new ClusterExecutor({ transport: w.coordinator, minNodes: n, settleMs: 0, waitForNodesMs: 10_000, shardStores: stores, recut });
      try {
        const got = await solveCollected(spec, problem, ex, opts);
        return { got, stats: ex.stats(), cells: problem.cells };
      } finally {
        await ex.close();
        for (const node of w.nodes) await node.stop();
      }
    }

    const blockOf = (cell: number) => Math.floor(cell / CHANGE_BLOCK_CELLS);

    for (const where of ['node buckets', 'coordinator fallback', 'keeping the best iterate'] as const) {
      it(`skewed costs (the last quarter of the blocks 4x): re-cut once, same bits as inline (${where})`, async () => {
        const keepBest = where === 'keeping the best iterate';
        const wanted = keepBest ? await solveCollected(spec, await problemOf(spec), new InlineExecutor(), { ...options, keepBest }) : want;
        const measured: Array<{ node: string; costs: Float64Array }> = [];
        const recut: ClusterExecutorOptions['recut'] = {
          costs: (node, costs) => {
            measured.push({ node, costs: costs.slice() });
            const skewed = new Float64Array(costs.length);
            // on each node's own blocks (where it measured work)
            for (let b = 0; b < costs.length; b++) if (costs[b] > 0) skewed[b] = b >= 0.75 * costs.length ? 4 : 1;
            return skewed;
          },
        };
        const problem = await problemOf(spec);
        const { got, stats } = await solve(recut, where === 'coordinator fallback' ? undefined : new MemoryShardStores(), { ...options, keepBest });
        expectSameBits(wanted, got, `re-cut on ${n} nodes (${where})`);
        expect(stats.recut?.recut).toBe(true);
        // after the first iteration (keeping the best iterate: its steps count too, the move waits for the next saveInput)
        if (!keepBest) expect(stats.recut?.iteration).toBe(1);
        expect(stats.recut!.slowestAfter).toBeLessThan(0.95 * stats.recut!.slowestBefore);
        expect(stats.recoveries).toBe(0);
        // the final cut is the cut by the skewed costs over the nodes' threads
        const blocks = Math.ceil(problem.cells / CHANGE_BLOCK_CELLS);
        const skewed = Float64Array.from({ length: blocks }, (_, b) => (b >= 0.75 * blocks ? 4 : 1));
        const threads = stats.nodeReports.map((r) => r.threads);
        expect(stats.cellBounds).toEqual(cutByCost(skewed, threads).map((b) => Math.min(problem.cells, b * CHANGE_BLOCK_CELLS)));
        expect(stats.recut!.cellBounds).toEqual(stats.cellBounds);
        // once: the hook saw one iteration's costs, one report per node; each node measured work on its own
        // blocks only (positive there, 0 elsewhere)
        expect(measured.map((m) => m.node).sort()).toEqual(stats.nodes.slice().sort());
        let covered = 0;
        for (const m of measured) for (let b = 0; b < blocks; b++) if (m.costs[b] > 0) covered++;
        expect(covered).toBe(blocks);
      }, 120_000);
    }

    it('uniform costs on a cut by threads: no re-cut (the decision is recorded)', async () => {
      const { got, stats } = await solve({ costs: (_node, costs) => costs.map((c) => (c > 0 ? 1 : 0)) }, new MemoryShardStores());
      expectSameBits(want, got, `kept on ${n} nodes`);
      expect(stats.recut?.recut).toBe(false);
    }, 120_000);

    it('option off: never re-cuts', async () => {
      const { got, stats } = await solve(false, new MemoryShardStores());
      expectSameBits(want, got, `no recut on ${n} nodes`);
      expect(stats.recut).toBeUndefined();
    }, 120_000);
  });
}

describe('re-cut by measured cost within the nodes’ memory (in process)', () => {
  // cost skewed to the first half of the blocks (4x): the cost cut gives node-1 about 69% of the blocks, but
  // node-1's memory holds 60%: the run takes the cut by cost within memory (node-1 at its cap)
  it('uses the cut by cost within each node’s memory, records it, ends bitwise equal to inline', async () => {
    const problem = await problemOf(spec);
    const want = await solveCollected(spec, problem, new InlineExecutor(), options);
    const blocks = Math.ceil(problem.cells / CHANGE_BLOCK_CELLS);
    const skewed = Float64Array.from({ length: blocks }, (_, b) => (b < blocks / 2 ? 4 : 1));
    const capBlocks = Math.floor(0.6 * blocks);
    const shape: NodeRunShape = { bins: spec.bins, grid: 'midpoint', omd: false, slices: problem.game.T, keepBest: false };
    const memory = nodeShardEstimate(problem.game, shape, capBlocks * CHANGE_BLOCK_CELLS, 0).totalBytes;
    expect(Math.floor(nodeCapacityCells(problem.game, shape, 0, memory) / CHANGE_BLOCK_CELLS)).toBe(capBlocks);
    const free = cutByCost(skewed, [1, 1]);
    expect(free[2] - free[1]).toBeGreaterThan(capBlocks); // the cost cut alone does not fit node-1
    const hub = new InProcessHub();
    const nodes = [undefined, memory].map((m, i) => new ShardNode({ transport: hub.join(`node-${i}`), threads: 1, heartbeatMs: 50, pool: false, memory: m }));
    for (const node of nodes) node.start();
    const recut: ClusterExecutorOptions['recut'] = { costs: (_node, costs) => costs.map((c, b) => (c > 0 ? skewed[b] : 0)) };
    const ex = new ClusterExecutor({ transport: hub.join(COORDINATOR), minNodes: 2, settleMs: 0, waitForNodesMs: 10_000, shardStores: new MemoryShardStores(), recut });
    try {
      expectSameBits(want, await solveCollected(spec, problem, ex, options), 'cost cut within memory');
      const stats = ex.stats();
      const bounds = stats.cellBounds.map((c) => Math.ceil(c / CHANGE_BLOCK_CELLS));
      expect(bounds).toEqual([0, blocks - capBlocks, blocks]);
      expect(stats.recut).toEqual({ iteration: 1, recut: true, slowestBefore: slowestShard(skewed, cutShards(blocks, [1, 1]), [1, 1]), slowestAfter: slowestShard(skewed, bounds, [1, 1]), cellBounds: stats.cellBounds });
      expect(nodeShardEstimate(problem.game, shape, stats.cellBounds[2] - stats.cellBounds[1], 0).totalBytes).toBeLessThanOrEqual(memory);
    } finally {
      await ex.close();
      for (const node of nodes) await node.stop();
    }
  }, 120_000);

  it('recutPlan within caps: the cost cut when it fits, else the best cut by cost within them; no move when that is the current cut', () => {
    const costs = Float64Array.from([4, 4, 4, 4, 1, 1, 1, 1]);
    const cells = (b: number[]) => b.map((x) => x * CHANGE_BLOCK_CELLS);
    expect(recutPlan(costs, cells([0, 4, 8]), [1, 1], 0.05).blockBounds).toEqual(cutByCost(costs, [1, 1]));
    expect(recutPlan(costs, cells([0, 4, 8]), [1, 1], 0.05, [8, 8]).blockBounds).toEqual(cutByCost(costs, [1, 1]));
    const capped = recutPlan(costs, cells([0, 4, 8]), [1, 1], 0.05, [8, 5]);
    expect(capped.blockBounds).toEqual([0, 3, 8]);
    expect([capped.slowestBefore, capped.slowestAfter, capped.recut]).toEqual([16, 12, true]);
    expect(recutPlan(costs, cells([0, 4, 8]), [1, 1], 0.05, [8, 4]).recut).toBe(false);
  });
});
