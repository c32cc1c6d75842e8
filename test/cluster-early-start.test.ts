// A node starts step t on the rows whose inputs are local, before the halo of t + 1 has arrived
// (shared/cluster-node-core.ts, worker/shard-tables.ts): with every halo message held back, both nodes of an
// in-process cluster (one on its own thread, one on a pool of 2 threads whose step chunks gather several
// row ranges) run the early parts of their steps and, while they wait, the next iteration's flow ahead in
// small chunks; the tables and curve stay equal to inline, to the bit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessHub } from '../shared/cluster-transport.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';
import { ShardNode } from '../worker/shard-node.ts';
import { chunkRanges, closeGaps, intersectRanges, subtractRanges } from '../worker/shard-tables.ts';
import { ClusterExecutor } from '../coordinator/cluster-executor.ts';
import { cutShards } from '../shared/cluster-partition.ts';
import { CHANGE_BLOCK_CELLS } from '../shared/value-change.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import type { ProblemSpec } from '../coordinator/executor.ts';
import type { SolveOptions } from '../coordinator/solver.ts';
import { problemOf } from './helpers/variants.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { builtinGames } from '../shared/games/index.ts';
import { expectSameBits, solveCollected } from './helpers/same-bits.ts';

describe('early start of a step', () => {
  const hub = new InProcessHub();
  let held = 0;
  hub.delay = (from, to, m) => (m.type === 'halo' && from !== COORDINATOR && to !== COORDINATOR ? (held++, 40) : 0); // long enough that a loaded machine cannot hide the wait
  let nodes: ShardNode[];
  beforeAll(() => {
    // chunks of the flow run ahead of a few rows: a slice takes several, cut across the runs of rows of each x0
    nodes = [1, 2].map((threads, i) => new ShardNode({ transport: hub.join(`node-${i}`), threads, heartbeatMs: 50, aheadRows: 7 }));
    for (const node of nodes) node.start();
  });
  afterAll(async () => {
    for (const node of nodes) await node.stop();
  });

  const cases: Array<[ProblemSpec, SolveOptions]> = [
    [{ game: 'cyber', params: { T: 10 }, bins: 12 }, { algorithm: 'fp', iterations: 3 }],
    [{ game: 'sis', params: { T: 12 }, bins: 24 }, { algorithm: 'omd', iterations: 3 }],
    [{ game: 'buffet', params: { T: 8 }, bins: 8 }, { algorithm: 'fpi', iterations: 2 }],
    // the interpolated scheme reads every vertex of the next mean field: the late rows follow all of them
    [{ game: 'cyber', params: { T: 10 }, bins: 12, projection: 'interpolate' }, { algorithm: 'fp', iterations: 3 }],
  ];
  it.each(cases)('%o %o: halo held back, early parts run, same bits as inline', async (spec, options) => {
    const problem = spec.projection === 'interpolate' ? new Problem(buildGame(builtinGames[spec.game], spec.params), spec.bins, 'lattice', 'interpolate') : await problemOf(spec);
    const want = await solveCollected(spec, problem, new InlineExecutor(), options);
    const before = nodes.map((n) => n.trace.earlyRows);
    const headsBefore = nodes.map((n) => n.trace.headSteps);
    const aheadBefore = nodes.map((n) => n.trace.aheadChunks);
    const heldBefore = held;
    const ex = new ClusterExecutor({ transport: hub.join(COORDINATOR), minNodes: 2, settleMs: 0, waitForNodesMs: 10_000 });
    try {
      expectSameBits(want, await solveCollected(spec, problem, ex, options), `${spec.game} ${options.algorithm}`);
    } finally {
      await ex.close();
    }
    expect(held).toBeGreaterThan(heldBefore);
    // every node started some steps before their halo (the assertion fails if parts were never split)
    nodes.forEach((n, i) => expect(n.trace.earlyRows, `node-${i}`).toBeGreaterThan(before[i]));
    // and split the steps whose rows the other node reads into a head (those rows, then the halo) and a tail
    // (in some cases only one node reads the other's rows)
    expect(nodes.reduce((a, n, i) => a + n.trace.headSteps - headsBefore[i], 0)).toBeGreaterThan(0);
    // while they waited, every node ran the next iteration's flow ahead, in more chunks than slices
    nodes.forEach((n, i) => expect(n.trace.aheadChunks - aheadBefore[i], `node-${i}`).toBeGreaterThan(spec.params.T as number));
  });
});

describe('cut by cost', () => {
  it('a cut skewed by cell costs gives the same bits as inline', async () => {
    const hub = new InProcessHub();
    const nodes = [1, 2].map((threads, i) => new ShardNode({ transport: hub.join(`node-${i}`), threads, heartbeatMs: 50 }));
    for (const node of nodes) node.start();
    const spec: ProblemSpec = { game: 'cyber', params: { T: 10 }, bins: 12 };
    const options: SolveOptions = { algorithm: 'fp', iterations: 3 };
    const problem = await problemOf(spec);
    const want = await solveCollected(spec, problem, new InlineExecutor(), options);
    // the first cells cost 5 times the others: node-0 gets far fewer cells than its thread share
    const cellCosts = Float64Array.from({ length: problem.cells }, (_, c) => (c < problem.cells / 2 ? 5 : 1));
    const ex = new ClusterExecutor({ transport: hub.join(COORDINATOR), minNodes: 2, settleMs: 0, waitForNodesMs: 10_000, cellCosts });
    try {
      expectSameBits(want, await solveCollected(spec, problem, ex, options), 'cyber fp, cut by cost');
      const bounds = (ex as unknown as { run: { cellBounds: number[] } }).run.cellBounds;
      const byThreads = cutShards(Math.ceil(problem.cells / CHANGE_BLOCK_CELLS), [1, 2])[1] * CHANGE_BLOCK_CELLS;
      // node-0 takes a third of the cost: 5 x its cells while they are the costly ones, so about 0.6 of its thread share
      expect(bounds[1]).toBeLessThan(byThreads * 0.7);
    } finally {
      await ex.close();
      for (const node of nodes) await node.stop();
    }
  });
});

describe('chunkRanges', () => {
  it('covers exactly the input rows, in order, in about the asked number of chunks', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let trial = 0; trial < 200; trial++) {
      const r: number[] = [];
      let x = rand(5);
      for (let i = rand(12); i >= 0; i--) {
        const a = x + rand(4);
        const b = a + 1 + rand(30);
        r.push(a, b);
        x = b;
      }
      const ranges = Int32Array.from(r);
      const pieces = 1 + rand(8);
      for (const gather of [true, false]) {
        const chunks = chunkRanges(ranges, pieces, gather);
        const rows = (q: ArrayLike<number>) => {
          const out: number[] = [];
          for (let i = 0; i < q.length; i += 2) for (let v = q[i]; v < q[i + 1]; v++) out.push(v);
          return out;
        };
        expect(chunks.flatMap((c) => rows(c))).toEqual(rows(ranges));
        for (const c of chunks) for (let i = 0; i < c.length; i += 2) expect(c[i + 1]).toBeGreaterThan(c[i]);
        if (gather) expect(chunks.length).toBeLessThanOrEqual(pieces);
        else for (const c of chunks) expect(c.length).toBe(2);
      }
    }
  });
});

describe('closeGaps', () => {
  it('merges gaps under the limit within one x0 only', () => {
    const r = Int32Array.from([2, 4, 10, 12, 40, 41, 98, 99, 101, 105]);
    // cells = 100: rows 98..99 and 101..105 lie in different x0, so they stay apart
    expect(Array.from(closeGaps(r, 6, 100))).toEqual(Array.from(r));
    expect(Array.from(closeGaps(r, 7, 100))).toEqual([2, 12, 40, 41, 98, 99, 101, 105]);
    expect(Array.from(closeGaps(r, 60, 100))).toEqual([2, 99, 101, 105]);
    expect(Array.from(closeGaps(r, 60, 1000))).toEqual([2, 105]);
  });
});

/** Random increasing, disjoint ranges [a, b) from a seeded generator `rand(n)` in [0, n): up to `most` ranges, gaps up to `gap`, lengths up to `length`. */
function randomRanges(rand: (n: number) => number, most: number, gap: number, length: number): Int32Array {
  const r: number[] = [];
  let x = rand(gap - 1);
  for (let i = rand(most); i >= 0; i--) {
    const a = x + 1 + rand(gap);
    const b = a + 1 + rand(length);
    r.push(a, b);
    x = b;
  }
  return Int32Array.from(r);
}

describe('closeGaps on random ranges', () => {
  it('equals the obvious merge: a range joins the previous one when the gap is under the limit and both lie in one x0', () => {
    let seed = 5;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let trial = 0; trial < 300; trial++) {
      const cells = 5 + rand(60);
      const gap = 1 + rand(20);
      const r = randomRanges(rand, 12, 15, 10);
      const slow: number[][] = [];
      for (let i = 0; i < r.length; i += 2) {
        const last = slow[slow.length - 1];
        if (last && r[i] - last[1] < gap && Math.floor((last[1] - 1) / cells) === Math.floor(r[i] / cells)) last[1] = r[i + 1];
        else slow.push([r[i], r[i + 1]]);
      }
      expect(Array.from(closeGaps(r, gap, cells))).toEqual(slow.flat());
    }
  });
});

describe('subtractRanges, intersectRanges', () => {
  it('equal the set difference and intersection of the rows, as increasing ranges', () => {
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const ranges = () => randomRanges(rand, 8, 6, 9);
    const rows = (q: ArrayLike<number>) => {
      const out = new Set<number>();
      for (let i = 0; i < q.length; i += 2) for (let v = q[i]; v < q[i + 1]; v++) out.add(v);
      return out;
    };
    const valid = (q: Int32Array) => {
      for (let i = 0; i < q.length; i += 2) expect(q[i + 1]).toBeGreaterThan(q[i]);
      for (let i = 2; i < q.length; i += 2) expect(q[i]).toBeGreaterThanOrEqual(q[i - 1]);
    };
    for (let trial = 0; trial < 300; trial++) {
      const a = ranges();
      const b = ranges();
      const [ra, rb] = [rows(a), rows(b)];
      const minus = subtractRanges(a, b);
      const both = intersectRanges(a, b);
      valid(minus);
      valid(both);
      expect([...rows(minus)].sort((x, y) => x - y)).toEqual([...ra].filter((v) => !rb.has(v)).sort((x, y) => x - y));
      expect([...rows(both)].sort((x, y) => x - y)).toEqual([...ra].filter((v) => rb.has(v)).sort((x, y) => x - y));
    }
  });
});
