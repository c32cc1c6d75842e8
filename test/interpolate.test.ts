// Barycentric interpolation on the simplex lattice (shared/kernels/interpolate.ts): conservation and the
// simplex, checked from the definitions for nX = 2..5 at seeded random points, on faces, edges and vertices
// of the simplex, at lattice points, and at points with equal fractional parts (midpoints, barycentres).
//   - every cell is a lattice cell, weights are >= 0 and sum to 1 (to rounding), w_0 > 0;
//   - sum_j w_j p(c_j) = mu to rounding, the points read from the grid's own table (so the cell numbering
//     is checked against lattice-grid.ts);
//   - the vertices with positive weight lie on one Kuhn chain of the unit cube at floor(s) in prefix
//     coordinates (s_m = k_0 + .. + k_{m-1}): nested, each within {a, a + 1}. With the two points above this
//     pins the weights down: they are the barycentric coordinates of mu in a simplex of the triangulation;
//   - slots of weight 0 repeat c_0; a lattice point gets its own cell with weight exactly 1.

import { describe, expect, it } from 'vitest';
import { LatticeGrid } from '../shared/lattice-grid.ts';
import { MidpointGrid } from '../shared/grid.ts';
import { SeededRandom } from '../shared/random.ts';
import { LatticeInterpolator, NearestPlacement } from '../shared/kernels/interpolate.ts';
import { policyCell } from '../shared/policy-cell.ts';

const EPS = Number.EPSILON;
const SIZES: Array<[number, number[]]> = [
  [2, [1, 2, 7, 60, 120]],
  [3, [1, 2, 5, 30, 60]],
  [4, [1, 3, 10, 20]],
  [5, [1, 2, 6, 12]],
];

interface Placed {
  cells: Int32Array;
  weights: Float64Array;
}

function place(ip: LatticeInterpolator, mu: ArrayLike<number>): Placed {
  const cells = new Int32Array(ip.nX + 2).fill(-7);
  const weights = new Float64Array(ip.nX + 2).fill(-7);
  // write at offset 1 to check that nothing outside the nX slots is touched
  const padded = new Float64Array(ip.nX + 3).fill(NaN);
  padded.set(Array.from(mu), 2);
  ip.place(padded, 2, cells, weights, 1);
  expect([cells[0], cells[ip.nX + 1], weights[0], weights[ip.nX + 1]]).toEqual([-7, -7, -7, -7]);
  return { cells: cells.subarray(1, ip.nX + 1), weights: weights.subarray(1, ip.nX + 1) };
}

/** Every property of the header, for one mu. Returns the placement. */
function check(grid: LatticeGrid, ip: LatticeInterpolator, mu: ArrayLike<number>, what: string): Placed {
  const { nX, M } = grid;
  const got = place(ip, mu);
  const { cells, weights } = got;
  const label = `${what} nX=${nX} M=${M} mu=[${Array.from(mu).join(', ')}] cells=[${cells.join(', ')}] w=[${weights.join(', ')}]`;
  let sum = 0;
  for (let j = 0; j < nX; j++) {
    if (!(Number.isInteger(cells[j]) && cells[j] >= 0 && cells[j] < grid.cells)) expect.fail(`${label}: cell ${j} out of range`);
    if (!(weights[j] >= 0)) expect.fail(`${label}: negative weight ${j}`);
    if (weights[j] === 0 && cells[j] !== cells[0]) expect.fail(`${label}: zero-weight slot ${j} does not repeat c_0`);
    sum += weights[j];
  }
  if (!(weights[0] > 0)) expect.fail(`${label}: w_0 = 0`);
  if (!(Math.abs(sum - 1) <= 2 * nX * EPS)) expect.fail(`${label}: weights sum to 1 + ${sum - 1}`);
  // reproduces mu (every coordinate, the last one included)
  for (let i = 0; i < nX; i++) {
    let m = 0;
    for (let j = 0; j < nX; j++) m += weights[j] * grid.points[cells[j] * nX + i];
    if (!(Math.abs(m - mu[i]) <= 4e-15 * nX)) expect.fail(`${label}: coordinate ${i} reproduced as ${m} (error ${m - mu[i]})`);
  }
  // the positive-weight vertices: one Kuhn chain at a = prefix coordinates of v_0
  const prefix = (c: number) => {
    const k = grid.coordinates(c);
    const s: number[] = [];
    let acc = 0;
    for (let m = 0; m < nX - 1; m++) s.push((acc += k[m]));
    return s;
  };
  const a = prefix(cells[0]);
  let prev = a;
  for (let j = 1; j < nX; j++) {
    if (weights[j] === 0) continue;
    const s = prefix(cells[j]);
    for (let m = 0; m < nX - 1; m++) {
      if (!(s[m] >= prev[m] && s[m] - a[m] <= 1)) expect.fail(`${label}: vertex ${j} leaves the Kuhn chain at prefix coordinate ${m}`);
    }
    if (s.every((v, m) => v === prev[m])) expect.fail(`${label}: vertex ${j} repeats the previous vertex`);
    prev = s;
  }
  return got;
}

describe('lattice interpolation: conservation and the simplex', () => {
  for (const [nX, Ms] of SIZES) {
    for (const M of Ms) {
      it(`nX = ${nX}, M = ${M}: random points, faces, edges, vertices, lattice points, ties`, () => {
        const grid = new LatticeGrid(nX, M);
        const ip = new LatticeInterpolator(grid);
        const rng = new SeededRandom(1000 * nX + M);
        let n = 0;
        const mu = new Float64Array(nX);
        // seeded random points of the simplex
        for (let i = 0; i < 300; i++, n++) check(grid, ip, rng.simplex(nX, mu), 'random');
        // faces (a random subset of coordinates zero) and edges (exactly two non-zero)
        for (let i = 0; i < 200; i++, n++) {
          const keep = i % 2 === 0 ? nX - 1 - rng.int(Math.max(1, nX - 2)) : 2;
          const idx = Array.from({ length: nX }, (_, k) => k).sort(() => rng.next() - 0.5).slice(0, keep);
          const sub = rng.simplex(keep);
          mu.fill(0);
          idx.forEach((k, j) => (mu[k] = sub[j]));
          const { weights, cells } = check(grid, ip, mu, keep === 2 ? 'edge' : 'face');
          // the interpolation stays on the face: no vertex with positive weight has mass where mu has none
          for (let j = 0; j < nX; j++) {
            if (weights[j] === 0) continue;
            for (let k = 0; k < nX; k++) if (mu[k] === 0) expect(grid.points[cells[j] * nX + k]).toBe(0);
          }
        }
        // vertices of the simplex, and every lattice point: their own cell, weight exactly 1
        for (let v = 0; v < nX; v++, n++) {
          mu.fill(0);
          mu[v] = 1;
          const { cells, weights } = check(grid, ip, mu, 'vertex');
          expect(weights[0]).toBe(1);
          expect(grid.point(cells[0])).toEqual(mu);
        }
        const step = Math.max(1, Math.floor(grid.cells / 500));
        for (let c = 0; c < grid.cells; c += step, n++) {
          const { cells, weights } = check(grid, ip, grid.point(c), 'lattice point');
          expect(cells[0]).toBe(c);
          expect(weights[0]).toBe(1);
        }
        // equal fractional parts: midpoints of lattice edges, barycentres of random lattice simplices
        for (let i = 0; i < 100; i++, n++) {
          const c1 = rng.int(grid.cells);
          const c2 = rng.int(grid.cells);
          for (let k = 0; k < nX; k++) mu[k] = (grid.points[c1 * nX + k] + grid.points[c2 * nX + k]) / 2;
          check(grid, ip, mu, 'midpoint');
          const chain = grid.coordinates(rng.int(grid.cells));
          // a Kuhn chain from k: move units k_{m} -> k_{m-1} along a random order, average all vertices
          const acc = Array.from(chain, (v) => v / nX);
          const cur = Array.from(chain);
          for (const m of Array.from({ length: nX - 1 }, (_, j) => j + 1).sort(() => rng.next() - 0.5)) {
            if (cur[m] === 0) break;
            cur[m]--;
            cur[m - 1]++;
            cur.forEach((v, k) => (acc[k] += v / nX));
          }
          const s = acc.reduce((x, y) => x + y, 0);
          check(grid, ip, acc.map((v) => v / s), 'barycentre');
        }
        expect(n).toBeGreaterThan(600);
      });
    }
  }

  it('rounds an exact lattice point that arrives with rounding error to weight 1', () => {
    const grid = new LatticeGrid(3, 49);
    const ip = new LatticeInterpolator(grid);
    // 1/49 * 49 = 0.9999999999999999 in floats: the prefix coordinate sits an ulp below the integer
    const mu = [1 / 49, 1 / 49, 1 - 2 / 49];
    const { cells, weights } = check(grid, ip, mu, 'rounded lattice point');
    expect(Array.from(weights)).toEqual([1, 0, 0]);
    expect(Array.from(grid.coordinates(cells[0]))).toEqual([1, 1, 47]);
  });

  it('is the same interpolation for nX = 2 as the obvious one on [0, 1]', () => {
    const grid = new LatticeGrid(2, 10);
    const ip = new LatticeInterpolator(grid);
    const { cells, weights } = place(ip, [0.37, 0.63]);
    // k_0 = 3 (cell 3) with 1 - 0.7, k_0 = 4 with 0.7 (to rounding)
    expect(Array.from(cells)).toEqual([3, 4]);
    expect(weights[0]).toBeCloseTo(0.3, 14);
    expect(weights[1]).toBeCloseTo(0.7, 14);
  });

  it('gives the same answer on repeated calls and for large nX', () => {
    // nX = 20 uses the comparison sort: the same tie rule as the insertion sort
    const grid = new LatticeGrid(20, 3);
    const ip = new LatticeInterpolator(grid);
    const rng = new SeededRandom(5);
    for (let i = 0; i < 50; i++) {
      const mu = rng.simplex(20);
      const a = check(grid, ip, mu, 'nX = 20');
      const b = place(ip, mu);
      expect(Array.from(b.cells)).toEqual(Array.from(a.cells));
      expect(Array.from(b.weights)).toEqual(Array.from(a.weights));
    }
    // ties everywhere: the barycentre of the whole simplex
    check(grid, ip, new Float64Array(20).fill(1 / 20), 'nX = 20 barycentre');
  });

  it('refuses the midpoint grid and non-distributions', () => {
    expect(() => new LatticeInterpolator(new MidpointGrid(3, 10))).toThrow(/lattice grid/);
    const ip = new LatticeInterpolator(new LatticeGrid(3, 10));
    const cells = new Int32Array(3);
    const weights = new Float64Array(3);
    expect(() => ip.place([NaN, 0.5, 0.5], 0, cells, weights, 0)).toThrow(/not a distribution/);
    expect(() => ip.place([2, -1, 0], 0, cells, weights, 0)).toThrow(/not a distribution/);
  });

  it('has the nearest placement in the same layout', () => {
    const grid = new LatticeGrid(3, 20);
    const near = new NearestPlacement(grid);
    const cells = new Int32Array(3);
    const weights = new Float64Array(3);
    near.place([0.31, 0.33, 0.36], 0, cells, weights, 0);
    const c = grid.project([0.31, 0.33, 0.36]);
    expect(Array.from(cells)).toEqual([c, c, c]);
    expect(Array.from(weights)).toEqual([1, 0, 0]);
  });
});

describe('policy cell at a mean field off the grid', () => {
  it('interpolate draws each vertex with its weight; nearest is the projection', () => {
    const grid = new LatticeGrid(4, 7);
    const ip = new LatticeInterpolator(grid);
    const interp = policyCell(grid, 'interpolate');
    const near = policyCell(grid, 'nearest');
    const rng = new SeededRandom(9);
    const K = 20000;
    for (let i = 0; i < 20; i++) {
      const mu = rng.simplex(4);
      const { cells, weights } = place(ip, mu);
      const want = new Map<number, number>();
      for (let j = 0; j < 4; j++) want.set(cells[j], (want.get(cells[j]) ?? 0) + weights[j]);
      const got = new Map<number, number>();
      // u on a regular grid of [0, 1): each vertex's share of it is its weight, to 1/K
      for (let k = 0; k < K; k++) {
        const c = interp.cellAt(mu, 0, (k + 0.5) / K);
        got.set(c, (got.get(c) ?? 0) + 1 / K);
      }
      for (const [c, w] of got) expect(Math.abs(w - (want.get(c) ?? -1))).toBeLessThanOrEqual(1 / K + 1e-12);
      for (const [c, w] of want) if (w > 1 / K) expect(got.has(c)).toBe(true);
      expect(near.cellAt(mu, 0, 0.3)).toBe(grid.project(mu));
      expect(near.cellAt(mu, 0, 0.9)).toBe(grid.project(mu));
    }
    // a lattice point is its own cell for every u
    for (const u of [0, 0.5, 1 - 1e-16]) expect(interp.cellAt(grid.point(17), 0, u)).toBe(17);
  });
});
