// A cluster run within its nodes' memory (docs/cluster.md, "Memory"). A node's estimate counts the best iterate's
// copies when the open order says --keep best (as run.json's per-node estimate does); the coordinator cuts the
// shards within what each node announced it may use, leaving out a node that holds nothing, and stops with one
// line only when the nodes together cannot hold the run. In-process: a coordinator and two nodes in this process.
import { describe, expect, it } from 'vitest';
import { InProcessHub, type Transport } from '../shared/cluster-transport.ts';
import { COORDINATOR, type ShardRun, type ToCoordinator } from '../shared/cluster-messages.ts';
import { newSchedulerState, refusingNode, schedulerStep, type SchedulerInstruction } from '../shared/cluster-scheduler.ts';
import { ShardNode } from '../worker/shard-node.ts';
import { checkShardMemory } from '../worker/shard-build.ts';
import { ClusterExecutor, type ClusterExecutorOptions } from '../coordinator/cluster-executor.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { nodeEstimates } from '../coordinator/memory.ts';
import { nodeCapacityCells, nodeShardEstimate, shardRunShape, type NodeRunShape } from '../shared/memory-estimate.ts';
import { cutShards } from '../shared/cluster-partition.ts';
import { cutWithin } from '../shared/cluster-capacity.ts';
import { CHANGE_BLOCK_CELLS } from '../shared/value-change.ts';
import { SeededRandom } from '../shared/random.ts';
import { resolveGameFamily } from '../shared/game-source.ts';
import { problemOf } from './helpers/variants.ts';
import { expectSameBits, solveCollected } from './helpers/same-bits.ts';
import type { SolveOptions } from '../coordinator/solver.ts';

const spec = { game: 'cyber', params: { T: 10 }, bins: 16 };
const options: SolveOptions = { algorithm: 'fp', iterations: 3, keepBest: true, evaluateResult: true };
/** The run shape of these tests' runs (options: keepBest), and the bytes a node of it needs for `cells` cells. */
const runShape: NodeRunShape = { bins: 16, grid: 'midpoint', omd: false, slices: 10, keepBest: true };
const shardBytes = (problem: Awaited<ReturnType<typeof problemOf>>, cells: number) => nodeShardEstimate(problem.game, runShape, cells, 0).totalBytes;
/** Memory for a third of the blocks and one more: a node holds its third of 3, not a half once another is gone. */
const thirdAndABlock = (problem: Awaited<ReturnType<typeof problemOf>>) => {
  const thirds = cutShards(Math.ceil(problem.cells / CHANGE_BLOCK_CELLS), [1, 1, 1]);
  return shardBytes(problem, (thirds[3] - thirds[2] + 1) * CHANGE_BLOCK_CELLS);
};

function shardRun(cells: number, keepBest: boolean): ShardRun {
  return { id: 'r', v: 2, spec, gridKind: 'midpoint', fingerprint: 'f', tableOptions: { slices: 10, ...(keepBest ? { keepBest: true } : {}) }, cellBounds: [0, cells >> 1, cells], nodes: ['node-0', 'node-1'] };
}

describe('cutWithin: the cut by threads within each node’s capacity', () => {
  it('is cutShards when no cap binds; otherwise every share within its cap, all blocks given, the excess spread by threads', () => {
    const rng = new SeededRandom(11);
    for (let trial = 0; trial < 2000; trial++) {
      const k = 1 + Math.floor(rng.next() * 5);
      const n = Math.floor(rng.next() * 60);
      const weights = Array.from({ length: k }, () => 1 + Math.floor(rng.next() * 8));
      const caps = Array.from({ length: k }, () => 1 + Math.floor(rng.next() * (rng.next() < 0.3 ? 100 : 20)));
      const b = cutWithin(n, weights, caps);
      if (caps.reduce((a, c) => a + c, 0) < n) {
        expect(b).toBeUndefined();
        continue;
      }
      expect(b).toBeDefined();
      const sizes = b!.slice(1).map((x, i) => x - b![i]);
      expect(b![0]).toBe(0);
      expect(b![k]).toBe(n);
      sizes.forEach((s, i) => expect(s >= 0 && s <= caps[i]).toBe(true));
      const plain = cutShards(n, weights);
      if (plain.slice(1).every((x, i) => x - plain[i] <= caps[i])) expect(b).toEqual(plain);
      // the nodes below their cap (with some of those at it) share what the capped ones could not take, by threads
      const below = sizes.flatMap((s, i) => (s < caps[i] ? [i] : []));
      const atCap = sizes.flatMap((s, i) => (s === caps[i] ? [i] : []));
      const plainOf = (free: number[]) => {
        const again = cutShards(free.reduce((a, i) => a + sizes[i], 0), free.map((i) => weights[i]));
        return free.every((i, j) => sizes[i] === again[j + 1] - again[j]);
      };
      if (below.length > 0) {
        let found = false;
        for (let mask = 0; mask < 1 << atCap.length && !found; mask++) found = plainOf([...below, ...atCap.filter((_, j) => mask & (1 << j))].sort((x, y) => x - y));
        expect(found, JSON.stringify({ n, weights, caps, sizes })).toBe(true);
      }
    }
  });
});

describe("a node's memory check", () => {
  it('counts the best iterate’s two copies when the open order carries --keep best, and agrees with run.json’s estimate', async () => {
    const family = await resolveGameFamily('cyber', (s) => import(s));
    const problem = await problemOf(spec);
    const run = shardRun(problem.cells, true);
    const cells = run.cellBounds[2] - run.cellBounds[1];
    const withBest = nodeShardEstimate(problem.game, shardRunShape(problem.game, run), cells, 0);
    const without = nodeShardEstimate(problem.game, shardRunShape(problem.game, shardRun(problem.cells, false)), cells, 0);
    expect(withBest.bestBytes).toBeGreaterThan(0);
    expect(withBest.totalBytes - without.totalBytes).toBe(withBest.bestBytes);
    const memory = without.totalBytes + 1;
    expect(() => checkShardMemory('node-1', family, shardRun(problem.cells, false), 1, { poolThreads: 0, memory })).not.toThrow();
    expect(() => checkShardMemory('node-1', family, run, 1, { poolThreads: 0, memory })).toThrow(/^node node-1 refuses shard 1 \(cells \[\d+, \d+\) of \d+\): it needs about [\d.]+ MiB, more than this node's memory \([\d.]+ MiB, --memory\)/);
    // run.json's per-node figure is the node's own
    const [, est] = nodeEstimates(problem.game, { bins: 16, grid: 'midpoint' }, { cellBounds: run.cellBounds, nodeReports: [{ node: 'node-0', threads: 1 }, { node: 'node-1', threads: 1 }] }, { omd: false, slices: 10, keepBest: true });
    expect(est.totalBytes).toBe(withBest.totalBytes);
  });

  it('nodeCapacityCells is the largest count that fits', async () => {
    const problem = await problemOf(spec);
    const shape: NodeRunShape = { bins: 16, grid: 'midpoint', omd: true, slices: 10, keepBest: true };
    for (const pool of [0, 2]) {
      for (const cells of [0, 1, 77, 500, problem.cells]) {
        const bytes = nodeShardEstimate(problem.game, shape, cells, pool).totalBytes;
        const cap = nodeCapacityCells(problem.game, shape, pool, bytes);
        expect(cap).toBeGreaterThanOrEqual(cells);
        expect(nodeShardEstimate(problem.game, shape, cap, pool).totalBytes).toBeLessThanOrEqual(bytes);
        if (cap < problem.cells) expect(nodeShardEstimate(problem.game, shape, cap + 1, pool).totalBytes).toBeGreaterThan(bytes);
      }
    }
    expect(nodeCapacityCells(problem.game, shape, 0, 1024)).toBe(0);
  });
});

/** silent: nodes whose heartbeats announce no memory (as another version), though they check their shard by it. */
async function withNodes<T>(memory: Array<number | undefined>, fn: (ex: ClusterExecutor, hub: InProcessHub) => Promise<T>, silent: number[] = [], extra: Partial<ClusterExecutorOptions> = {}): Promise<T> {
  const hub = new InProcessHub();
  const transport = (i: number): Transport => {
    const t = hub.join(`node-${i}`);
    if (!silent.includes(i)) return t;
    return { ...t, send: (to, m) => t.send(to, m.type === 'hb' ? { ...m, memory: undefined } : m) };
  };
  const nodes = memory.map((m, i) => new ShardNode({ transport: transport(i), threads: 1, heartbeatMs: 50, pool: false, memory: m }));
  for (const node of nodes) node.start();
  const ex = new ClusterExecutor({ transport: hub.join(COORDINATOR), minNodes: memory.length, settleMs: 0, ...extra });
  try {
    return await fn(ex, hub);
  } finally {
    await ex.close();
    for (const node of nodes) await node.stop();
  }
}

describe('the shard cut within the nodes’ memory', () => {
  it('a node that cannot hold its even share with --keep best gets what it holds, the other the rest: the same bits as inline', async () => {
    const problem = await problemOf(spec);
    const want = await solveCollected(spec, problem, new InlineExecutor(), options);
    const half = cutShards(Math.ceil(problem.cells / CHANGE_BLOCK_CELLS), [1, 1]).map((b) => Math.min(problem.cells, b * CHANGE_BLOCK_CELLS));
    const shape: NodeRunShape = { bins: 16, grid: 'midpoint', omd: false, slices: 10, keepBest: false };
    // enough for its half of the run without the best iterate's copies, not with them
    const memory = nodeShardEstimate(problem.game, shape, half[2] - half[1], 0).totalBytes + 1;
    await withNodes([undefined, memory], async (ex) => {
      const got = await solveCollected(spec, problem, ex, options);
      expectSameBits(want, got, 'memory-aware cut');
      const { cellBounds } = ex.stats();
      const mine = cellBounds[2] - cellBounds[1];
      expect(mine).toBeGreaterThan(0);
      expect(mine).toBeLessThan(half[2] - half[1]);
      expect(nodeShardEstimate(problem.game, { ...shape, keepBest: true }, mine, 0).totalBytes).toBeLessThanOrEqual(memory);
      // --keep last: the even cut
      await solveCollected(spec, problem, ex, { ...options, keepBest: false });
      expect(ex.stats().cellBounds).toEqual(half);
    });
  }, 60_000);

  it('a node that holds no block is left out of the run', async () => {
    const problem = await problemOf(spec);
    const want = await solveCollected(spec, problem, new InlineExecutor(), options);
    await withNodes([undefined, 1024], async (ex) => {
      expectSameBits(want, await solveCollected(spec, problem, ex, options), 'one node left out');
      expect(ex.stats().nodes).toEqual(['node-0']);
      expect(ex.stats().leftOut).toEqual([{ node: 'node-1', why: 'its memory (1.00 KiB) holds no block of cells' }]);
    });
  }, 60_000);

  it('nodes that together cannot hold the run: one line naming them and their memory', async () => {
    const problem = await problemOf(spec);
    const small = shardBytes(problem, 3 * CHANGE_BLOCK_CELLS);
    await withNodes([small, 1024], async (ex) => {
      await expect(ex.open(spec, problem, { slices: 10, keepBest: true })).rejects.toThrow(
        /^cluster: the 2 ready node\(s\) can hold \d+ of the run's \d+ cells in their memory \(node-0 [\d.]+ MiB, node-1 1\.00 KiB\); add nodes or memory, or use fewer --bins$/,
      );
    });
  }, 60_000);
});

describe('a node whose own memory check refuses the shard it was given', () => {
  it('is left out and the others cut again: the same bits as inline; stats (run.json) name it and why', async () => {
    const problem = await problemOf(spec);
    const want = await solveCollected(spec, problem, new InlineExecutor(), options);
    for (const n of [2, 3]) {
      const memory = Array.from({ length: n }, (_, i) => (i === 1 ? 1024 : undefined));
      await withNodes(memory, async (ex) => {
        expectSameBits(want, await solveCollected(spec, problem, ex, options), `node-1 of ${n} refuses`);
        const stats = ex.stats();
        expect(stats.nodes).toEqual(memory.flatMap((_, i) => (i === 1 ? [] : [`node-${i}`])));
        expect(stats.leftOut).toHaveLength(1);
        expect(stats.leftOut[0].node).toBe('node-1');
        expect(stats.leftOut[0].why).toMatch(/^refused its shard: node node-1 refuses shard 1 \(cells \[\d+, \d+\) of \d+\): it needs about .*--memory/);
        expect(stats.recoveries).toBe(0);
      }, [1]);
    }
  }, 120_000);

  it('at a re-cut after a node loss: the node refusing its larger shard is left out too, the run goes on to the same bits', async () => {
    const problem = await problemOf(spec);
    const want = await solveCollected(spec, problem, new InlineExecutor(), options);
    // node-2 holds its third (and a block more), not half: it refuses the re-cut's shard once node-0 is gone
    const memory = thirdAndABlock(problem);
    await withNodes(
      [undefined, undefined, memory],
      async (ex, hub) => {
        let done = 0;
        const got = await solveCollected(spec, problem, ex, { ...options, onIteration: () => void (++done === 1 && hub.down.add('node-0')) });
        expectSameBits(want, got, 'node-0 lost, node-2 refuses the re-cut');
        const stats = ex.stats();
        expect(stats.recoveries).toBe(1);
        expect(stats.nodes).toEqual(['node-1']);
        expect(stats.leftOut.map((l) => l.node)).toEqual(['node-2']);
        expect(stats.leftOut[0].why).toMatch(/^refused its shard: node node-2 refuses shard 1 /);
      },
      [2],
      { heartbeatTimeoutMs: 300, snapshotEvery: 2 },
    );
  }, 120_000);

  it('two refusing nodes, the second only once the first is left out (its shard grew): both left out, the same bits', async () => {
    const problem = await problemOf(spec);
    const want = await solveCollected(spec, problem, new InlineExecutor(), options);
    const third = thirdAndABlock(problem);
    await withNodes([undefined, 1024, third], async (ex) => {
      expectSameBits(want, await solveCollected(spec, problem, ex, options), 'node-1, then node-2 refuse');
      const stats = ex.stats();
      expect(stats.nodes).toEqual(['node-0']);
      expect(stats.leftOut.map((l) => l.node).sort()).toEqual(['node-1', 'node-2']);
    }, [1, 2]);
  }, 120_000);

  it('stops with one line when the others cannot hold the run (or none is left)', async () => {
    const problem = await problemOf(spec);
    const small = shardBytes(problem, 3 * CHANGE_BLOCK_CELLS);
    await withNodes([small, 1024], async (ex) => {
      await expect(ex.open(spec, problem, { slices: 10, keepBest: true })).rejects.toThrow(
        /^cluster: the 1 ready node\(s\) can hold \d+ of the run's \d+ cells in their memory \(node-0 [\d.]+ MiB\); node-1 refused its shard; add nodes or memory, or use fewer --bins$/,
      );
   }, [1]);
    await withNodes([1024], async (ex) => {
      await expect(ex.open(spec, problem, { slices: 10, keepBest: true })).rejects.toThrow(/^cluster: every ready node refused its shard \(node-0\); add nodes or memory, or use fewer --bins$/);
    }, [0]);
  }, 60_000);

  it('the scheduler reads a refusal back only from the line a node\'s check writes, also between commands', async () => {
    const family = await resolveGameFamily('cyber', (s) => import(s));
    const problem = await problemOf(spec);
    let line = '';
    try {
      checkShardMemory('node-7', family, shardRun(problem.cells, true), 1, { poolThreads: 0, memory: 1024 });
    } catch (err) {
      line = (err as Error).message;
    }
    const s = newSchedulerState({ heartbeatTimeoutMs: 3_000, waitForNodesMs: 10_000, settleMs: 0, buildTimeoutMs: 60_000 }, 0);
    schedulerStep(s, { kind: 'message', from: 'node-7', message: { type: 'hb', threads: 1, state: 'ready' }, now: 1 });
    const RUN = { id: 'run-1', v: 2, spec: { game: 'sis', params: {}, bins: 8 }, gridKind: 'midpoint', fingerprint: 'f', tableOptions: { slices: 3 } } as const;
    schedulerStep(s, { kind: 'command', id: 1, command: { kind: 'open', run: RUN, cells: 40, minNodes: 1 }, now: 2 });
    const failed = (error: string) => schedulerStep(s, { kind: 'message', from: 'node-7', message: { type: 'failed', run: 'run-1', error }, now: 3 });
    const [reject] = of(failed(`build: ${line}`), 'reject');
    expect(refusingNode(reject.error)).toBe('node-7');
    // any other failure stops the run as before
    schedulerStep(s, { kind: 'command', id: 2, command: { kind: 'open', run: RUN, cells: 40, minNodes: 1 }, now: 4 });
    const [other] = of(failed('build: the problem rebuilt here differs from the coordinator\'s'), 'reject');
    expect(other.error).toMatch(/^cluster: node node-7 failed: build: /);
    expect(refusingNode(other.error)).toBeUndefined();
    // between commands (the open resolved on a stale ack): the next command fails with it
    expect(s.active).toBeUndefined();
    expect(failed(`build: ${line}`)).toEqual([]);
    const [next] = of(schedulerStep(s, { kind: 'command', id: 3, command: { kind: 'orders', orders: [{ to: 'node-7', req: -2, message: { type: 'init', run: 'run-1', init: 'uniform' } }] }, now: 5 }), 'reject');
    expect(refusingNode(next.error)).toBe('node-7');
  });
});

describe('the scheduling core cuts within the announced memory (no server)', () => {
  const RUN = { id: 'run-1', v: 2, spec: { game: 'sis', params: {}, bins: 8 }, gridKind: 'midpoint', fingerprint: 'f', tableOptions: { slices: 3 } } as const;
  // a node holds memory / 100 cells (a linear stand-in for the estimate)
  const capacity = (_threads: number, memory: number) => Math.floor(memory / 100);
  function openWith(memories: Array<number | undefined>, forged?: unknown) {
    const s = newSchedulerState({ heartbeatTimeoutMs: 3_000, waitForNodesMs: 10_000, settleMs: 0, buildTimeoutMs: 60_000 }, 0);
    memories.forEach((memory, i) => schedulerStep(s, { kind: 'message', from: `n${i}`, message: { type: 'hb', threads: 1, state: 'ready', ...(memory !== undefined ? { memory } : {}), ...(i === 0 && forged !== undefined ? { memory: forged } : {}) } as ToCoordinator, now: 10 }));
    return { s, ins: schedulerStep(s, { kind: 'command', id: 1, command: { kind: 'open', run: RUN, cells: 40, minNodes: memories.length, capacity }, now: 20 }) };
  }

  it('room everywhere: the plain cut; a node short of room gets what it holds; one that holds no block is left out; too little: one line', () => {
    expect(openWith([10_000, 10_000]).s.run!.cellBounds).toEqual([0, 20, 40]);
    expect(openWith([10_000, undefined]).s.run!.cellBounds).toEqual([0, 20, 40]); // not announced: no limit known
    const short = openWith([1_000, 10_000, 10_000]); // 10 cells: 2 blocks of 4
    expect(short.s.run!.cellBounds).toEqual([0, 8, 24, 40]);
    const out = openWith([300, 10_000]); // 3 cells: no block
    expect(out.s.run!.nodes).toEqual(['n1']);
    expect(out.s.run!.cellBounds).toEqual([0, 40]);
    expect(of(out.ins, 'log').some((l) => l.message === 'node left out of the run: its memory holds no block of cells')).toBe(true);
    const none = openWith([1_000, 1_600]);
    expect(none.s.run).toBeUndefined();
    expect(of(none.ins, 'reject').map((r) => r.error)).toEqual([
      "cluster: the 2 ready node(s) can hold 24 of the run's 40 cells in their memory (n0 1000 B, n1 1.56 KiB); add nodes or memory, or use fewer --bins",
    ]);
    // a malformed announcement counts as none
    expect(openWith([undefined, 10_000], 'lots').s.run!.cellBounds).toEqual([0, 20, 40]);
  });
});

function of<K extends SchedulerInstruction['kind']>(ins: SchedulerInstruction[], kind: K) {
  return ins.filter((i) => i.kind === kind) as Array<Extract<SchedulerInstruction, { kind: K }>>;
}
