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
import { allocateInterpolatedNext, interpolatedFlowRange, type InterpolatedNext } from '../shared/kernels/flow-interpolated.ts';
import { interpolatedBackwardRange, interpolatedBackwardRangeGeneric, interpolatedScratch } from '../shared/kernels/backward-interpolated.ts';
import { unrolledInterpolatedBackward } from '../shared/kernels/backward-interpolated-unrolled.ts';
import { interpolatedStartValues } from '../shared/kernels/start-interpolated.ts';
import { sameBits } from './helpers/same-bits.ts';

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

// ---- the dense dynamic program ----

interface DenseInput {
  game: GameDefinition;
  grid: LatticeGrid;
  tables: SolverTables;
  rows: number;
}

/** W[((t * nX0 + x0) * C + c) * nU0 + u0][c'] : the vertex weights of mu' as dense rows (from the definitions). */
function denseWeights({ game, grid, tables, rows }: DenseInput): Float64Array[] {
  const { nX, nU, nX0, nU0, T } = game;
  const C = grid.cells;
  const ip = new LatticeInterpolator(grid);
  const P = new Float64Array(nX);
  const mu1 = new Float64Array(nX);
  const vc = new Int32Array(nX);
  const vw = new Float64Array(nX);
  const out: Float64Array[] = [];
  for (let t = 0; t < T; t++) for (let x0 = 0; x0 < nX0; x0++) for (let c = 0; c < C; c++) for (let u0 = 0; u0 < nU0; u0++) {
    const mu = grid.point(c);
    mu1.fill(0);
    for (let x = 0; x < nX; x++) for (let u = 0; u < nU; u++) {
      game.minorKernel(x, u, x0, u0, mu, P, 0);
      const pi = tables.minorPolicy[((t * rows + x0 * C + c) * nX + x) * nU + u];
      for (let y = 0; y < nX; y++) mu1[y] += mu[x] * pi * P[y];
    }
    ip.place(mu1, 0, vc, vw, 0);
    const row = new Float64Array(C);
    for (let j = 0; j < nX; j++) row[vc[j]] += vw[j];
    out.push(row);
  }
  return out;
}

interface DenseValues {
  vBR: Float64Array; vEv: Float64Array; v0BR: Float64Array; v0Ev: Float64Array; // [x][x0][c], [x0][c]
  g: Int32Array; gap: Float64Array; g0: Int32Array; gap0: Float64Array;
}

function emptyValues(nX: number, rows: number): DenseValues {
  return {
    vBR: new Float64Array(nX * rows), vEv: new Float64Array(nX * rows), v0BR: new Float64Array(rows), v0Ev: new Float64Array(rows),
    g: new Int32Array(nX * rows), gap: new Float64Array(nX * rows), g0: new Int32Array(rows), gap0: new Float64Array(rows),
  };
}

/** One plain Bellman backup at t over the full state, every next (x', x0', c') summed with P P0 W. */
function denseStep(inp: DenseInput, W: Float64Array[], t: number, next: DenseValues): DenseValues {
  const { game, grid, tables, rows } = inp;
  const { nX, nU, nX0, nU0 } = game;
  const C = grid.cells;
  const P = new Float64Array(nX), P0 = new Float64Array(nX0);
  const vi = (x: number, x0: number, c: number) => (x * nX0 + x0) * C + c;
  const d = emptyValues(nX, rows);
  const best = (q: number[]) => {
    let a = 0;
    for (let i = 1; i < q.length; i++) if (q[i] > q[a]) a = i;
    return { a, v: q[a], gap: q.length < 2 ? Infinity : q[a] - Math.max(...q.filter((_, i) => i !== a)) };
  };
  for (let x0 = 0; x0 < nX0; x0++) for (let c = 0; c < C; c++) {
    const mu = grid.point(c);
    const r = x0 * C + c;
    const pi0 = (u0: number) => tables.majorPolicy[(t * rows + r) * nU0 + u0];
    const q0br: number[] = [], q0ev: number[] = [];
    for (let u0 = 0; u0 < nU0; u0++) {
      game.majorKernel(x0, u0, mu, P0, 0);
      const w = W[((t * nX0 + x0) * C + c) * nU0 + u0];
      let sbr = 0, sev = 0;
      for (let y0 = 0; y0 < nX0; y0++) for (let c2 = 0; c2 < C; c2++) {
        sbr += P0[y0] * w[c2] * next.v0BR[y0 * C + c2];
        sev += P0[y0] * w[c2] * next.v0Ev[y0 * C + c2];
      }
      const r0 = game.majorReward(x0, u0, mu);
      q0br.push(r0 + sbr);
      q0ev.push(r0 + sev);
    }
    const b0 = best(q0br);
    [d.v0BR[r], d.g0[r], d.gap0[r]] = [b0.v, b0.a, b0.gap];
    d.v0Ev[r] = q0ev.reduce((s, q, u0) => s + pi0(u0) * q, 0);
    for (let x = 0; x < nX; x++) {
      const qbr: number[] = [], qev: number[] = [];
      for (let u = 0; u < nU; u++) {
        let sbr = 0, sev = 0;
        for (let u0 = 0; u0 < nU0; u0++) {
          game.minorKernel(x, u, x0, u0, mu, P, 0);
          game.majorKernel(x0, u0, mu, P0, 0);
          const w = W[((t * nX0 + x0) * C + c) * nU0 + u0];
          let ebr = 0, eev = 0;
          for (let y = 0; y < nX; y++) for (let y0 = 0; y0 < nX0; y0++) for (let c2 = 0; c2 < C; c2++) {
            const p = P[y] * P0[y0] * w[c2];
            ebr += p * next.vBR[vi(y, y0, c2)];
            eev += p * next.vEv[vi(y, y0, c2)];
          }
          const rr = game.minorReward(x, u, x0, u0, mu);
          sbr += pi0(u0) * (rr + ebr);
          sev += pi0(u0) * (rr + eev);
        }
        qbr.push(sbr);
        qev.push(sev);
      }
      const b = best(qbr);
      const i = vi(x, x0, c);
      [d.vBR[i], d.g[i], d.gap[i]] = [b.v, b.a, b.gap];
      d.vEv[i] = qev.reduce((s, q, u) => s + tables.minorPolicy[((t * rows + r) * nX + x) * nU + u] * q, 0);
    }
  }
  return d;
}

/** Writes dense values into value slot s of the tables ([x][x0][c] -> (s * rows + r) * nX + x). */
function loadSlot(tables: SolverTables, d: DenseValues, nX: number, rows: number, s: number) {
  for (let r = 0; r < rows; r++) {
    tables.majorBR[s * rows + r] = d.v0BR[r];
    tables.majorEval[s * rows + r] = d.v0Ev[r];
    for (let x = 0; x < nX; x++) {
      tables.minorBR[(s * rows + r) * nX + x] = d.vBR[x * rows + r];
      tables.minorEval[(s * rows + r) * nX + x] = d.vEv[x * rows + r];
    }
  }
}

/** Compares slot s and the greedy actions with the dense values; returns the greedy entries checked. */
function expectSlot(tables: SolverTables, d: DenseValues, nX: number, rows: number, s: number, label: string): number {
  let checked = 0;
  const close = (got: number, want: number, what: string) => {
    if (!(Math.abs(got - want) <= 1e-12)) expect.fail(`${label} ${what}: kernel ${got} vs dense ${want}`);
  };
  for (let r = 0; r < rows; r++) {
    close(tables.majorBR[s * rows + r], d.v0BR[r], `majorBR row ${r}`);
    close(tables.majorEval[s * rows + r], d.v0Ev[r], `majorEval row ${r}`);
    if (d.gap0[r] > 1e-9) {
      expect(tables.majorGreedy[r], `${label} majorGreedy row ${r}`).toBe(d.g0[r]);
      checked++;
    }
    for (let x = 0; x < nX; x++) {
      close(tables.minorBR[(s * rows + r) * nX + x], d.vBR[x * rows + r], `minorBR row ${r} x ${x}`);
      close(tables.minorEval[(s * rows + r) * nX + x], d.vEv[x * rows + r], `minorEval row ${r} x ${x}`);
      if (d.gap[x * rows + r] > 1e-9) {
        expect(tables.minorGreedy[r * nX + x], `${label} minorGreedy row ${r} x ${x}`).toBe(d.g[x * rows + r]);
        checked++;
      }
    }
  }
  return checked;
}

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
