// The partition and halo plan (shared/cluster-partition.ts) and the split-independent change sum
// (shared/value-change.ts) against slow, obvious computations on random inputs.
import { describe, expect, it } from 'vitest';
import { cutByCost, cutByCostWithin, cutShards, haloAt, haloPlanAt, haloVolume, ownerOfRows, rowOrder, type HaloProblem, type RowOrderKind } from '../shared/cluster-partition.ts';
import { blockChanges, CHANGE_BLOCK_CELLS, sumBlocks } from '../shared/value-change.ts';
import { SeededRandom } from '../shared/random.ts';

/** A random problem shape with random P0 supports and next cells. */
function randomCase(seed: number) {
  const rng = new SeededRandom(seed);
  const int = (n: number) => Math.floor(rng.next() * n);
  const nX0 = 1 + int(4);
  const cells = 5 + int(40);
  const nU0 = 1 + int(3);
  const nX = 2 + int(3);
  const T = 2 + int(4);
  const rows = nX0 * cells;
  const majorWidth = nX0;
  const majorCount = new Int32Array(rows * nU0);
  const majorTo = new Int32Array(rows * nU0 * majorWidth);
  for (let s = 0; s < rows * nU0; s++) {
    const support = [...Array(nX0).keys()].filter(() => rng.next() < 0.5);
    if (support.length === 0) support.push(int(nX0));
    majorCount[s] = support.length;
    support.forEach((y, j) => (majorTo[s * majorWidth + j] = y));
  }
  const nextCell = new Int32Array(T * rows * nU0);
  for (let i = 0; i < nextCell.length; i++) nextCell[i] = int(cells);
  const points = new Float64Array(cells * nX);
  for (let i = 0; i < points.length; i++) points[i] = rng.next();
  const problem: HaloProblem = { rows, cells, majorCount, majorTo, majorWidth, game: { nU0, nX0, nX } };
  return { problem, nextCell, T, points, rng, int };
}

/** The rows step t over `own` reads, straight from the definition. */
function slowRead(p: HaloProblem, nextCell: Int32Array, t: number, own: ArrayLike<number>): number[] {
  const set = new Set<number>();
  for (const r of Array.from(own)) {
    for (let u0 = 0; u0 < p.game.nU0; u0++) {
      const slot = r * p.game.nU0 + u0;
      for (let j = 0; j < p.majorCount[slot]; j++) set.add(p.majorTo[slot * p.majorWidth + j] * p.cells + nextCell[(t * p.rows + r) * p.game.nU0 + u0]);
    }
  }
  return [...set].sort((a, b) => a - b);
}

describe('row orders', () => {
  it('every order is a permutation of the rows; cell-major keeps the x0 of a cell together', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { problem, points } = randomCase(seed);
      for (const kind of ['lexicographic', 'cell-major', 'morton', 'morton-cell-major'] as RowOrderKind[]) {
        const order = rowOrder(kind, problem.game.nX0, problem.cells, points, problem.game.nX, 8);
        expect(Array.from(order).sort((a, b) => a - b)).toEqual([...Array(problem.rows).keys()]);
        if (kind === 'lexicographic') expect(Array.from(order)).toEqual([...Array(problem.rows).keys()]);
        if (kind === 'cell-major' || kind === 'morton-cell-major') {
          for (let p = 0; p < problem.rows; p++) expect(order[p] % problem.cells).toBe(order[p - (p % problem.game.nX0)] % problem.cells);
        }
      }
    }
  });
});

describe('cutShards', () => {
  it('contiguous, in order, aligned, sizes follow the weights', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const { int } = randomCase(seed);
      const n = int(1000);
      const weights = Array.from({ length: 1 + int(6) }, () => 1 + int(8));
      const align = 1 + int(8);
      const b = cutShards(n, weights, align);
      expect(b).toHaveLength(weights.length + 1);
      expect(b[0]).toBe(0);
      expect(b[b.length - 1]).toBe(n);
      for (let k = 0; k + 1 < b.length; k++) {
        expect(b[k + 1]).toBeGreaterThanOrEqual(b[k]);
        if (k + 1 < b.length - 1) expect(b[k + 1] % align).toBe(0);
      }
      const total = weights.reduce((a, c) => a + c, 0);
      let acc = 0;
      for (let k = 0; k + 1 < b.length - 1; k++) {
        acc += weights[k];
        expect(Math.abs(b[k + 1] - (acc / total) * n)).toBeLessThanOrEqual(align / 2 + 1e-9 + (b[k + 1] === b[k] ? n : 0));
      }
    }
  });
  it('refuses no shards and bad weights', () => {
    expect(() => cutShards(10, [])).toThrow(/no shards/);
    expect(() => cutShards(10, [1, 0])).toThrow(/weight 0/);
    expect(() => cutShards(10, [1, NaN])).toThrow(/weight NaN/);
  });
});

describe('cutByCost', () => {
  /** max over shards of (cost of the shard) / weight. */
  const worst = (costs: number[], weights: number[], bounds: number[]) => Math.max(...weights.map((w, k) => costs.slice(bounds[k], bounds[k + 1]).reduce((a, b) => a + b, 0) / w));
  /** Every contiguous cut of n blocks into k shards (bounds non-decreasing, empty shards allowed). */
  const allCuts = (n: number, k: number): number[][] => (k === 1 ? [[0, n]] : allCuts(n, k - 1).flatMap((b) => Array.from({ length: n - b[b.length - 2] + 1 }, (_, i) => [...b.slice(0, -1), b[b.length - 2] + i, n])));

  /** n blocks with some zero costs and some heavy ones, k shards with integer and fractional weights. */
  const randomBlocks = (rnd: SeededRandom) => {
    const n = 1 + Math.floor(rnd.next() * 9);
    const k = 1 + Math.floor(rnd.next() * 3);
    const costs = Array.from({ length: n }, () => (rnd.next() < 0.15 ? 0 : rnd.next() < 0.2 ? 10 * rnd.next() : rnd.next()));
    const weights = Array.from({ length: k }, () => (rnd.next() < 0.5 ? 1 + Math.floor(rnd.next() * 4) : 0.25 + rnd.next()));
    return { n, k, costs, weights };
  };

  it('finds the cut with the smallest largest cost per weight (brute force over all cuts, random costs and weights)', () => {
    const rnd = new SeededRandom(2024);
    for (let trial = 0; trial < 400; trial++) {
      const { n, k, costs, weights } = randomBlocks(rnd);
      const bounds = cutByCost(costs, weights);
      expect(bounds).toHaveLength(k + 1);
      expect(bounds[0]).toBe(0);
      expect(bounds[k]).toBe(n);
      for (let i = 1; i <= k; i++) expect(bounds[i]).toBeGreaterThanOrEqual(bounds[i - 1]);
      const best = Math.min(...allCuts(n, k).map((b) => worst(costs, weights, b)));
      expect(worst(costs, weights, bounds)).toBeLessThanOrEqual(best * (1 + 1e-12) + 1e-300);
    }
  });

  it('within caps: the best cut among those giving each shard at most its cap (brute force); undefined when the caps hold too little', () => {
    const rnd = new SeededRandom(2025);
    for (let trial = 0; trial < 400; trial++) {
      const { n, k, costs, weights } = randomBlocks(rnd);
      const caps = Array.from({ length: k }, () => Math.floor(rnd.next() * (n + 2)));
      const bounds = cutByCostWithin(costs, weights, caps);
      const within = allCuts(n, k).filter((b) => caps.every((c, i) => b[i + 1] - b[i] <= c));
      if (within.length === 0) {
        expect(bounds).toBeUndefined();
        continue;
      }
      expect(bounds).toHaveLength(k + 1);
      expect(within.some((b) => b.every((x, i) => x === bounds![i]))).toBe(true);
      const best = Math.min(...within.map((b) => worst(costs, weights, b)));
      expect(worst(costs, weights, bounds!)).toBeLessThanOrEqual(best * (1 + 1e-12) + 1e-300);
      // caps that hold everything: the cut without caps
      expect(cutByCostWithin(costs, weights, weights.map(() => n))).toEqual(cutByCost(costs, weights));
    }
  });

  it('cuts equal costs as cutShards does (in proportion to the weights), and moves the cut away from costly blocks', () => {
    expect(cutByCost(new Array(10).fill(1), [1, 1])).toEqual([0, 5, 10]);
    expect(cutByCost(new Array(12).fill(1), [1, 2])).toEqual(cutShards(12, [1, 2]));
    // the second half costs twice as much per block: the second shard gets fewer blocks
    const costs = [...new Array(6).fill(1), ...new Array(6).fill(2)];
    expect(cutByCost(costs, [1, 1])).toEqual([0, 8, 12]);
    expect(cutByCost([0, 0, 0], [1, 1])).toEqual([0, 3, 3]);
    expect(() => cutByCost([1, -1], [1])).toThrow(/cost/);
    expect(() => cutByCost([1], [0])).toThrow(/weight/);
  });
});

describe('halo plan', () => {
  it('haloAt and haloPlanAt match the definition; the halo is what the reader reads minus what it owns', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { problem, nextCell, T, points, int } = randomCase(seed);
      const order = rowOrder(seed % 2 ? 'cell-major' : 'morton', problem.game.nX0, problem.cells, points, problem.game.nX, 8);
      const bounds = cutShards(problem.rows, Array.from({ length: 1 + int(4) }, () => 1));
      const owner = ownerOfRows(order, bounds);
      const mark = new Uint8Array(problem.rows);
      let total = 0;
      for (let k = 0; k + 1 < bounds.length; k++) {
        const own = order.subarray(bounds[k], bounds[k + 1]);
        for (let t = 0; t < T; t++) {
          const read = slowRead(problem, nextCell, t, own);
          const halo = haloAt(problem, nextCell, t, own, owner, k, mark);
          const flat = [...halo.entries()].flatMap(([o, rows]) => Array.from(rows, (r) => [o, r] as const));
          expect(flat.map(([, r]) => r).sort((a, b) => a - b)).toEqual(read.filter((r) => owner[r] !== k));
          for (const [o, r] of flat) expect(owner[r]).toBe(o);
          // late: exactly the own rows that read a row of another shard, as ranges in the order of own
          const { late } = haloPlanAt(problem, nextCell, t, own, owner, k, mark);
          const lateRows: number[] = [];
          for (let i = 0; i < late.length; i += 2) for (let r = late[i]; r < late[i + 1]; r++) lateRows.push(r);
          expect(lateRows).toEqual(Array.from(own).filter((r) => slowRead(problem, nextCell, t, [r]).some((x) => owner[x] !== k)));
          expect(mark.every((m) => m === 0)).toBe(true);
          if (t < T - 1) total += flat.length;
        }
      }
      expect(haloVolume(problem, nextCell, T, order, bounds).received).toBe(total);
    }
  });
  it('haloPlanAt with several vertices per next cell (the interpolated scheme) matches the definition; owners come in increasing order', () => {
    for (let seed = 41; seed <= 80; seed++) {
      const { problem, T, int, rng } = randomCase(seed);
      const vertices = 1 + int(4);
      const next = new Int32Array(T * problem.rows * problem.game.nU0 * vertices);
      // some calls find no halo row at all (a reader whose next cells are all its own), as early iterations do
      const local = seed % 3 === 0;
      for (let i = 0; i < next.length; i++) next[i] = int(problem.cells);
      const order = rowOrder('lexicographic', problem.game.nX0, problem.cells);
      const bounds = cutShards(problem.rows, Array.from({ length: 1 + int(4) }, () => 0.5 + rng.next()));
      const owner = local ? new Int32Array(problem.rows) : ownerOfRows(order, bounds);
      const mark = new Uint8Array(problem.rows);
      for (let k = 0; k + 1 < bounds.length; k++) {
        const own = order.subarray(bounds[k], bounds[k + 1]);
        for (let t = 0; t < T; t++) {
          const readRows = new Set<number>();
          const late: number[] = [];
          for (const r of own) {
            let reads = false;
            for (let u0 = 0; u0 < problem.game.nU0; u0++) {
              const slot = r * problem.game.nU0 + u0;
              for (let v = 0; v < vertices; v++) {
                for (let j = 0; j < problem.majorCount[slot]; j++) {
                  const row = problem.majorTo[slot * problem.majorWidth + j] * problem.cells + next[((t * problem.rows + r) * problem.game.nU0 + u0) * vertices + v];
                  if (owner[row] === k) continue;
                  readRows.add(row);
                  reads = true;
                }
              }
            }
            if (reads) late.push(r);
          }
          const plan = haloPlanAt(problem, next, t, own, owner, k, mark, vertices);
          const keys = [...plan.from.keys()];
          expect(keys).toEqual([...keys].sort((a, b) => a - b));
          const expected = new Map<number, number[]>();
          for (const row of [...readRows].sort((a, b) => a - b)) expected.set(owner[row], [...(expected.get(owner[row]) ?? []), row]);
          expect(new Map([...plan.from].map(([o, l]) => [o, Array.from(l)]))).toEqual(new Map([...expected].sort((a, b) => a[0] - b[0])));
          const lateRows: number[] = [];
          for (let i = 0; i < plan.late.length; i += 2) for (let r = plan.late[i]; r < plan.late[i + 1]; r++) lateRows.push(r);
          expect(lateRows).toEqual(late);
          expect(mark.every((m) => m === 0)).toBe(true);
        }
      }
    }
  });
  it("haloPlanAt with a node's cell range (ownCells) gives the same plan as the owner scan", () => {
    // a cluster node's layout: shard k owns the cells [b[k], b[k + 1]) for every x0; next cells near the
    // reader's own range most of the time (as the flow's), elsewhere sometimes, over 1..4 vertices
    for (let seed = 81; seed <= 140; seed++) {
      const { problem, T, int, rng } = randomCase(seed);
      const { rows, cells } = problem;
      const vertices = 1 + int(4);
      const shards = 1 + int(4);
      const b = [0, ...Array.from({ length: shards - 1 }, () => int(cells + 1)).sort((x, y) => x - y), cells];
      const owner = new Int32Array(rows);
      for (let r = 0; r < rows; r++) for (let k = 0; k < shards; k++) if (r % cells >= b[k] && r % cells < b[k + 1]) owner[r] = k;
      const next = new Int32Array(T * rows * problem.game.nU0 * vertices);
      const width = problem.game.nU0 * vertices;
      for (let i = 0; i < next.length; i++) {
        const c = Math.floor(i / width) % rows % cells;
        next[i] = rng.next() < 0.8 ? Math.max(0, Math.min(cells - 1, c + int(5) - 2)) : int(cells);
      }
      const mark = new Uint8Array(rows);
      for (let k = 0; k < shards; k++) {
        const own = Int32Array.from({ length: rows }, (_, r) => r).filter((r) => owner[r] === k);
        for (let t = 0; t < T; t++) {
          const slow = haloPlanAt(problem, next, t, own, owner, k, mark, vertices);
          const fast = haloPlanAt(problem, next, t, own, owner, k, mark, vertices, [b[k], b[k + 1]]);
          expect([...fast.from].map(([o, l]) => [o, Array.from(l)])).toEqual([...slow.from].map(([o, l]) => [o, Array.from(l)]));
          expect(Array.from(fast.late)).toEqual(Array.from(slow.late));
          expect(mark.every((m) => m === 0)).toBe(true);
        }
      }
    }
  });
  it('one shard has no halo', () => {
    const { problem, nextCell, T } = randomCase(7);
    const order = rowOrder('lexicographic', problem.game.nX0, problem.cells);
    expect(haloVolume(problem, nextCell, T, order, [0, problem.rows]).received).toBe(0);
  });
});

describe('split-independent change sum', () => {
  it('block sums of any block-aligned split add up to the same bits as the whole', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const { problem, rng, int } = randomCase(seed);
      const width = 1 + int(4);
      const n = problem.rows * width;
      const v = new Float64Array(2 * n).map(() => (rng.next() - 0.5) * 10 ** (int(12) - 6));
      const whole = sumBlocks(blockChanges(v, 0, v, n, width, problem.game.nX0, problem.cells, 0, problem.cells));
      const blocks = Math.ceil(problem.cells / CHANGE_BLOCK_CELLS);
      const cuts = cutShards(blocks, [1, 1 + int(3), 1 + int(3)]).map((b) => Math.min(problem.cells, b * CHANGE_BLOCK_CELLS));
      const parts: number[] = [];
      for (let k = 0; k + 1 < cuts.length; k++) parts.push(...blockChanges(v, 0, v, n, width, problem.game.nX0, problem.cells, cuts[k], cuts[k + 1]));
      expect(Object.is(sumBlocks(parts), whole)).toBe(true);
      // and the plain definition up to rounding
      let slow = 0;
      for (let i = 0; i < n; i++) slow += Math.abs(v[i] - v[n + i]);
      expect(Math.abs(whole - slow)).toBeLessThanOrEqual(1e-12 * Math.max(1, slow));
    }
  });
});
