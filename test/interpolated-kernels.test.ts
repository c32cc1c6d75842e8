// The interpolated flow and backward step (shared/kernels/flow-interpolated.ts, backward-interpolated.ts,
// start-interpolated.ts) on the built-in games with the lattice grid:
//   1. with the nearest placement (one-hot weights on proj(mu')) they reproduce the nearest-projection kernels
//      (flowRange, backwardRange generic and unrolled, startValues) bitwise, at every t; the generated
//      (unrolled) interpolated step is bitwise the generic one on real interpolation weights;
//   2. against a dense dynamic program: mu' from the game's own kernels at the cell's point, its vertex
//      weights as a dense cells x cells matrix W, and plain Bellman backups over the full state (x, x0, cell)
//      summing over EVERY next (x', x0', c') with probability P P0 W: values within 1e-12, greedy actions equal
//      where the best Q beats the runner-up by more than 1e-9, one step at a time and over a full sweep.

import { describe, expect, it } from 'vitest';
import { builtinGames } from '../shared/games/index.ts';
import type { GameDefinition } from '../shared/model.ts';
import { Problem } from '../shared/problem.ts';
import type { LatticeGrid } from '../shared/lattice-grid.ts';
import { SeededRandom } from '../shared/random.ts';
import { allocateTables, type SolverTables } from '../shared/tables.ts';
import { buildGame } from '../shared/validate.ts';
import { flowRange } from '../shared/kernels/flow.ts';
import { backwardRange, backwardRangeGeneric } from '../shared/kernels/backward.ts';
import { startValues } from '../shared/kernels/exploitability.ts';
import { LatticeInterpolator, NearestPlacement } from '../shared/kernels/interpolate.ts';
import { allocateInterpolatedNext, interpolatedFlowRange, interpolatedFlowRangeGeneric, type InterpolatedNext } from '../shared/kernels/flow-interpolated.ts';
import { unrolledInterpolatedFlow } from '../shared/kernels/flow-interpolated-unrolled.ts';
import { validateGame } from '../shared/validate.ts';
import { interpolatedBackwardRange, interpolatedBackwardRangeGeneric, interpolatedScratch } from '../shared/kernels/backward-interpolated.ts';
import { unrolledInterpolatedBackward } from '../shared/kernels/backward-interpolated-unrolled.ts';
import { interpolatedStartValues } from '../shared/kernels/start-interpolated.ts';
import { sameBits } from './helpers/same-bits.ts';
import { denseStep, denseWeights, emptyValues, expectSlot, loadSlot, type DenseInput, type DenseValues } from './helpers/dense-interpolated.ts';

const VALUES = ['minorBR', 'minorEval', 'majorBR', 'majorEval'] as const;
const STEP_OUT = [...VALUES, 'minorGreedy', 'majorGreedy', 'minorQbr', 'minorQev', 'majorQbr', 'majorQev'] as const;

/** Random policies: minor mixed or one-hot, major with some one-hot rows (the w = 0 skip). */
function randomPolicies(tables: SolverTables, nU: number, nU0: number, rng: SeededRandom) {
  const fill = (pol: Float64Array, n: number, oneHotShare: number) => {
    for (let i = 0; i < pol.length; i += n) {
      const a = rng.next() < oneHotShare ? rng.int(n) : -1;
      if (a < 0) rng.simplex(n, pol.subarray(i, i + n));
      else for (let k = 0; k < n; k++) pol[i + k] = +(k === a);
    }
  };
  fill(tables.minorPolicy, nU, 0.3);
  fill(tables.majorPolicy, nU0, 0.3);
}

function cloneTables(problem: Problem, a: SolverTables): SolverTables {
  const b = allocateTables(problem);
  for (const k of Object.keys(a) as Array<keyof SolverTables>) (b[k] as Float64Array).set(a[k] as Float64Array);
  return b;
}

const nearestCases: Array<[string, Record<string, number>, number]> = [
  ['sis', { T: 6 }, 12],
  ['advertisement', { T: 6 }, 12],
  ['buffet', { T: 5 }, 8],
  ['buffet', { T: 4, L: 3, F: 3 }, 6],
  ['cyber', { T: 5 }, 6],
];

describe('interpolated kernels with one-hot weights on the nearest cell', () => {
  for (const [name, params, bins] of nearestCases) {
    it(`reproduce the nearest kernels bitwise (${name} ${JSON.stringify(params)}, lattice M = ${bins})`, () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins, 'lattice');
      const { nX, nU, nU0, T } = game;
      const rng = new SeededRandom(11);
      const a = allocateTables(problem);
      randomPolicies(a, nU, nU0, rng);
      const total = T * problem.rows;
      flowRange(problem, a.minorPolicy, a.nextCell, 0, total);
      const next = allocateInterpolatedNext(problem);
      const near = new NearestPlacement(problem.grid);
      const mid = Math.floor(total / 3);
      interpolatedFlowRange(problem, a.minorPolicy, next, near, 0, mid);
      interpolatedFlowRange(problem, a.minorPolicy, next, near, mid, total);
      for (let i = 0; i < a.nextCell.length; i++) {
        if (next.nextVertex[i * nX] !== a.nextCell[i] || next.nextWeight[i * nX] !== 1) expect.fail(`next of entry ${i}`);
      }
      // the cell dimension is exercised: the flow does not map every row to one cell
      expect(new Set(a.nextCell).size).toBeGreaterThan(3);

      for (const v of VALUES) for (let i = 0; i < a[v].length; i++) a[v][i] = rng.next() * 10 - 5;
      for (const [discount, storeQ] of [[1, false], [0.9, true]] as const) {
        const [generic, dispatched, interp, interpGeneric] = [0, 1, 2, 3].map(() => cloneTables(problem, a));
        const scratch = interpolatedScratch(problem);
        for (let t = T - 1; t >= 0; t--) {
          backwardRangeGeneric(problem, generic, t, 0, problem.rows, undefined, { discount, storeQ });
          backwardRange(problem, dispatched, t, 0, problem.rows, undefined, { discount, storeQ });
          const split = Math.floor(problem.rows / 2) + 1;
          interpolatedBackwardRange(problem, interp, next, t, 0, split, scratch, { discount, storeQ });
          interpolatedBackwardRange(problem, interp, next, t, split, problem.rows, scratch, { discount, storeQ });
          interpolatedBackwardRangeGeneric(problem, interpGeneric, next, t, 0, problem.rows, scratch, { discount, storeQ });
          for (const k of STEP_OUT) {
            if (!storeQ && k.endsWith('Qbr')) continue;
            for (const [got, what] of [[interp, 'interpolated'], [interpGeneric, 'interpolated generic']] as const) {
              expect(sameBits(got[k], generic[k]), `${what} ${k} at t = ${t} vs generic, discount ${discount}`).toBe(true);
              expect(sameBits(got[k], dispatched[k]), `${what} ${k} at t = ${t} vs unrolled, discount ${discount}`).toBe(true);
            }
          }
        }
        expect(interpolatedStartValues(problem, interp, near)).toEqual(startValues(problem, generic));
      }
    });
  }
});

describe('unrolled interpolated backward step', () => {
  for (const [name, params, bins] of nearestCases) {
    it(`is bitwise equal to the generic loop on interpolation weights (${name} ${JSON.stringify(params)}, lattice M = ${bins})`, () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins, 'lattice');
      const { nX, nU, nU0, T } = game;
      expect(unrolledInterpolatedBackward(nX, nU, nU0)).toBeDefined();
      const rng = new SeededRandom(23);
      const a = allocateTables(problem);
      randomPolicies(a, nU, nU0, rng);
      const next = allocateInterpolatedNext(problem);
      interpolatedFlowRange(problem, a.minorPolicy, next, new LatticeInterpolator(problem.grid), 0, T * problem.rows);
      for (const v of VALUES) for (let i = 0; i < v.length; i++) a[v][i] = rng.next() * 10 - 5;
      for (const [discount, storeQ] of [[1, false], [0.9, true]] as const) {
        const b = cloneTables(problem, a);
        const c = cloneTables(problem, a);
        const scratch = interpolatedScratch(problem);
        for (let t = T - 1; t >= 0; t--) {
          interpolatedBackwardRangeGeneric(problem, b, next, t, 0, problem.rows, scratch, { discount, storeQ });
          interpolatedBackwardRange(problem, c, next, t, 0, problem.rows, scratch, { discount, storeQ });
          for (const k of STEP_OUT) expect(sameBits(c[k], b[k]), `${k} at t = ${t}, discount ${discount}`).toBe(true);
        }
      }
    });
  }
});

/**
 * A game of any size for the flow: minor kernels either random dense rows or one-hot (x' = x + u + x0 + u0 mod
 * nX); with one-hot kernels and policies in {0, 1/2, 1}, mu' sits on lattice points, faces and midpoints, so the
 * fractional parts tie, snap and vanish (the placement's special cases). Rewards are not read by the flow.
 */
function flowGame(nX: number, nU: number, nU0: number, oneHot: boolean, seed: number): GameDefinition {
  const rng = new SeededRandom(seed);
  const nX0 = 2;
  const rows = Array.from({ length: nX * nU * nX0 * nU0 }, () => rng.simplex(nX));
  const game: GameDefinition = {
    name: `flow-${nX}-${nU}-${nU0}-${oneHot ? 'shift' : 'random'}`, nX, nU, nX0, nU0, T: 3, params: {},
    mu0: rng.simplex(nX), nu0: rng.simplex(nX0),
    minorKernel(x, u, x0, u0, _mu, out, off) {
      if (oneHot) for (let y = 0; y < nX; y++) out[off + y] = +(y === (x + u + x0 + u0) % nX);
      else out.set(rows[((x * nU + u) * nX0 + x0) * nU0 + u0], off);
    },
    majorKernel(x0, u0, _mu, out, off) {
      out[off] = 0.25 + 0.5 * ((x0 + u0) & 1);
      out[off + 1] = 1 - out[off];
    },
    minorReward: (x, u) => x - u,
    majorReward: (x0, u0) => x0 - u0,
  };
  validateGame(game);
  return game;
}

/** Every (t, row) in two ranges (the second starting mid-table), generated vs generic: bitwise. */
function expectFlowsEqual(problem: Problem, minorPolicy: Float64Array): InterpolatedNext {
  const { nX, nU, nU0, T } = problem.game;
  const unrolled = unrolledInterpolatedFlow(nX, nU, nU0);
  expect(unrolled).toBeDefined();
  const placement = new LatticeInterpolator(problem.grid);
  const total = T * problem.rows;
  const want = allocateInterpolatedNext(problem);
  interpolatedFlowRangeGeneric(problem, minorPolicy, want, placement, 0, total);
  const got = allocateInterpolatedNext(problem);
  got.nextVertex.fill(-7);
  got.nextWeight.fill(Number.NaN);
  const mid = Math.floor(total / 3) + 1;
  unrolled!(problem, minorPolicy, got, placement, 0, mid);
  interpolatedFlowRange(problem, minorPolicy, got, placement, mid, total); // the dispatcher picks it too
  expect(sameBits(got.nextVertex, want.nextVertex), 'vertices').toBe(true);
  expect(sameBits(got.nextWeight, want.nextWeight), 'weights').toBe(true);
  return want;
}

describe('generated interpolated flow', () => {
  for (const [name, params, bins] of nearestCases) {
    it(`is bitwise equal to the generic loop (${name} ${JSON.stringify(params)}, lattice M = ${bins})`, () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins, 'lattice');
      const a = allocateTables(problem);
      randomPolicies(a, game.nU, game.nU0, new SeededRandom(31));
      const next = expectFlowsEqual(problem, a.minorPolicy);
      // real interpolation: most entries spread over more than one vertex
      let spread = 0;
      for (let i = 0; i < next.nextWeight.length; i += game.nX) if (next.nextWeight[i] < 1) spread++;
      expect(spread).toBeGreaterThan(0.5 * (next.nextWeight.length / game.nX));
    });
  }

  // sizes the generator accepts, nX = 2..8 (sorting networks of 1..7 fractional parts), nU0 = 1..8
  const sizes: Array<[number, number, number]> = [[2, 2, 1], [2, 3, 3], [3, 2, 2], [3, 3, 1], [4, 2, 3], [4, 3, 2], [5, 2, 2], [5, 4, 1], [6, 3, 2], [8, 2, 8]];
  for (const [nX, nU, nU0] of sizes) {
    it(`is bitwise equal on random and on tie-heavy inputs (nX = ${nX}, nU = ${nU}, nU0 = ${nU0})`, () => {
      for (const oneHot of [false, true]) {
        const game = flowGame(nX, nU, nU0, oneHot, 100 * nX + nU);
        const problem = new Problem(game, nX > 5 ? 3 : 4, 'lattice'); // 120 cells at nX = 8
        const rng = new SeededRandom(5);
        const policy = allocateTables(problem).minorPolicy;
        for (let i = 0; i < policy.length; i += nU) {
          if (!oneHot) rng.simplex(nU, policy.subarray(i, i + nU));
          else for (let u = 0; u < nU; u++) policy[i + u] = 0;
          if (oneHot) {
            // 1 on one action or 1/2 on two
            const a = rng.int(nU), b = rng.int(nU);
            policy[i + a] += 0.5;
            policy[i + b] += 0.5;
          }
        }
        const next = expectFlowsEqual(problem, policy);
        if (oneHot && nX > 2) {
          // ties happened: a weight-0 slot before a positive one (equal fractional parts)
          let ties = 0;
          for (let i = 0; i < next.nextWeight.length; i += nX) {
            for (let j = 1; j < nX - 1; j++) if (next.nextWeight[i + j] === 0 && next.nextWeight[i + nX - 1] > 0) ties++;
          }
          expect(ties).toBeGreaterThan(0);
        }
      }
    });
  }

  it('throws place()\'s error on a mean field that is not a distribution', () => {
    const game = flowGame(3, 2, 2, false, 9);
    const problem = new Problem(game, 4, 'lattice');
    const policy = allocateTables(problem).minorPolicy.fill(5); // rows summing to 10: mu' far off the simplex
    const next = allocateInterpolatedNext(problem);
    const placement = new LatticeInterpolator(problem.grid);
    expect(() => unrolledInterpolatedFlow(3, 2, 2)!(problem, policy, next, placement, 0, problem.rows)).toThrow(/interpolation: mu = .* is not a distribution/);
    expect(() => interpolatedFlowRangeGeneric(problem, policy, next, placement, 0, problem.rows)).toThrow(/interpolation: mu = .* is not a distribution/);
  });
});

const denseCases: Array<[string, Record<string, number>, number]> = [
  ['sis', { T: 5 }, 6],
  ['advertisement', { T: 5 }, 6],
  ['buffet', { T: 4, L: 3, F: 2 }, 4],
  ['cyber', { T: 4 }, 3],
];

describe('interpolated backward step vs a dense dynamic program', () => {
  for (const [name, params, bins] of denseCases) {
    it(`${name} ${JSON.stringify(params)}, lattice M = ${bins}: flow weights, single steps and a full sweep agree`, () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins, 'lattice');
      const grid = problem.grid as LatticeGrid;
      const { nX, nU, nU0, T } = game;
      const rows = problem.rows;
      const C = grid.cells;
      const tables = allocateTables(problem);
      randomPolicies(tables, nU, nU0, new SeededRandom(3));
      const inp: DenseInput = { game, grid, tables, rows };

      // the flow: the kernel's (vertex, weight) pairs as dense rows equal the definitions' to rounding
      const next: InterpolatedNext = allocateInterpolatedNext(problem);
      interpolatedFlowRange(problem, tables.minorPolicy, next, new LatticeInterpolator(grid), 0, T * rows);
      const W = denseWeights(inp);
      let spread = 0;
      for (let t = 0; t < T; t++) for (let r = 0; r < rows; r++) for (let u0 = 0; u0 < nU0; u0++) {
        const i = (t * rows + r) * nU0 + u0;
        const want = W[i]; // same flat order: (t, x0, c, u0) with r = x0 * C + c
        const got = new Float64Array(C);
        for (let j = 0; j < nX; j++) got[next.nextVertex[i * nX + j]] += next.nextWeight[i * nX + j];
        for (let c2 = 0; c2 < C; c2++) if (!(Math.abs(got[c2] - want[c2]) <= 1e-14)) expect.fail(`weights of entry ${i}, cell ${c2}: ${got[c2]} vs ${want[c2]}`);
        if (want.filter((w) => w > 0).length > 1) spread++;
      }
      // the interpolation is exercised: most next mean fields are not lattice points
      expect(spread).toBeGreaterThan(0.5 * T * rows * nU0);

      const dense: DenseValues[] = [];
      dense[T] = emptyValues(nX, rows); // V[T] = 0
      for (let t = T - 1; t >= 0; t--) dense[t] = denseStep(inp, W, t, dense[t + 1]);

      // single steps, fed the dense V[t+1], in two row ranges
      const scratch = interpolatedScratch(problem);
      let checked = 0;
      for (let t = T - 1; t >= 0; t--) {
        loadSlot(tables, dense[t + 1], nX, rows, (t + 1) & 1);
        const split = 1 + (t % (rows - 1));
        interpolatedBackwardRange(problem, tables, next, t, 0, split, scratch);
        interpolatedBackwardRange(problem, tables, next, t, split, rows, scratch);
        checked += expectSlot(tables, dense[t], nX, rows, t & 1, `step t=${t}`);
      }
      // (Cyber: the two minor actions tie by design, so mostly major entries are checked there)
      expect(checked).toBeGreaterThan(0.15 * T * rows * (nX + 1));

      // full sweep from garbage, the terminal slot cleared as the solver does
      for (const v of VALUES) tables[v].fill(123.456);
      for (const v of VALUES) {
        const w = v.startsWith('minor') ? nX : 1;
        tables[v].fill(0, (T & 1) * rows * w, ((T & 1) + 1) * rows * w);
      }
      for (let t = T - 1; t >= 0; t--) interpolatedBackwardRange(problem, tables, next, t, 0, rows, scratch);
      expectSlot(tables, dense[0], nX, rows, 0, 'sweep t=0');
    });
  }
});
