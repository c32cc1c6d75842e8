// Dense dynamic-programming cross-check of the sparse kernels (games.md, "The discretized best responses").
//
// On small random games (nX = 3, nX0 = 2, nU = nU0 = 2, T = 4, M = 5) whose kernels and rewards depend
// smoothly on mu, with random (mixed) policies, a slow and obvious reference:
//   - next cells: mu' from the game's own kernel at grid.point(c), projected by the brute-force scan;
//   - Q / Q0 over the full state (x, x0, cell), summing over EVERY next state (x', x0', c') with the indicator
//     [c' == next(t, x0, u0, c)] — a dense transition, no sparse shortcuts, kernels called at the grid point;
//   - best-response values (max), policy values (policy average), greedy actions
//   (the backups are test/helpers/dense-interpolated.ts's denseStep, with one-hot rows as the placement).
// It is compared with flowRange, with backwardRange one step at a time (fed the dense V[t+1]) and over a full
// sweep from a cleared terminal slot (as coordinator/solver.ts does), and with the startValues read-out.
// A second test checks updateRange's FP average and FPI replace rules against the formulas.

import { describe, expect, it } from 'vitest';
import type { GameDefinition } from '../shared/model.ts';
import { validateGame } from '../shared/validate.ts';
import { Problem } from '../shared/problem.ts';
import { MidpointGrid } from '../shared/grid.ts';
import { SeededRandom } from '../shared/random.ts';
import { allocateTables, type SolverTables } from '../shared/tables.ts';
import { flowRange } from '../shared/kernels/flow.ts';
import { backwardRange } from '../shared/kernels/backward.ts';
import { updateRange } from '../shared/kernels/update.ts';
import { startValues } from '../shared/kernels/exploitability.ts';
import { denseStep, emptyValues, expectSlot, loadSlot as loadDenseSlot, type DenseValues } from './helpers/dense-interpolated.ts';

const nX = 3, nX0 = 2, nU = 2, nU0 = 2, T = 4, M = 5;
// values are O(1..10); the sparse and dense sums differ only in rounding (expectSlot compares values to the same
// 1e-12, and greedy actions where the best Q beats the runner-up by more than 1e-9)
const TOL = 1e-12;

/** base[i] + sum_k w[i * nX + k] * mu_k */
const affine = (base: Float64Array, w: Float64Array, i: number, mu: Float64Array) => base[i] + w[i * nX] * mu[0] + w[i * nX + 1] * mu[1] + w[i * nX + 2] * mu[2];
const table = (rng: SeededRandom, n: number, scale: number) => Float64Array.from({ length: n }, () => scale * (2 * rng.next() - 1));

/** softmax of base[b..b+n) + sum_k w[(b+i)*nX + k] * mu_k (+ a quadratic term), written to out[off..off+n). */
function softmaxRow(base: Float64Array, w: Float64Array, b: number, n: number, mu: Float64Array, out: Float64Array, off: number) {
  let s = 0;
  for (let i = 0; i < n; i++) {
    let z = base[b + i];
    for (let k = 0; k < nX; k++) z += w[(b + i) * nX + k] * mu[k] + 0.5 * w[(b + i) * nX + k] * mu[k] * mu[(k + 1) % nX];
    out[off + i] = Math.exp(z);
    s += out[off + i];
  }
  for (let i = 0; i < n; i++) out[off + i] /= s;
}

function randomGame(seed: number): GameDefinition {
  const rng = new SeededRandom(seed);
  const nMinor = nX * nU * nX0 * nU0; // rows of the minor kernel, each over nX next states
  const pB = table(rng, nMinor * nX, 1.5), pW = table(rng, nMinor * nX * nX, 3);
  const p0B = table(rng, nX0 * nU0 * nX0, 1.5), p0W = table(rng, nX0 * nU0 * nX0 * nX, 3);
  const rB = table(rng, nMinor, 2), rW = table(rng, nMinor * nX, 2);
  const r0B = table(rng, nX0 * nU0, 2), r0W = table(rng, nX0 * nU0 * nX, 2);
  const minorRow = (x: number, u: number, x0: number, u0: number) => ((x * nU + u) * nX0 + x0) * nU0 + u0;
  return {
    name: `random-${seed}`, nX, nU, nX0, nU0, T, params: {},
    mu0: rng.simplex(nX), nu0: rng.simplex(nX0),
    minorKernel(x, u, x0, u0, mu, out, off) {
      softmaxRow(pB, pW, minorRow(x, u, x0, u0) * nX, nX, mu, out, off);
    },
    majorKernel(x0, u0, mu, out, off) {
      // one deterministic row exercises the sparse support (zero entries are dropped from the tables)
      if (x0 === 1 && u0 === 1) return void out.set([0, 1], off);
      softmaxRow(p0B, p0W, (x0 * nU0 + u0) * nX0, nX0, mu, out, off);
    },
    minorReward: (x, u, x0, u0, mu) => affine(rB, rW, minorRow(x, u, x0, u0), mu) - mu[x] * mu[x],
    majorReward: (x0, u0, mu) => affine(r0B, r0W, x0 * nU0 + u0, mu) + Math.sin(3 * mu[0]),
  };
}

/** Random mixed policies; some major rows one-hot so the backward pass's zero-weight skip is exercised. */
function randomPolicies(rng: SeededRandom, tables: SolverTables) {
  const fill = (pol: Float64Array, n: number, oneHotShare: number) => {
    for (let off = 0; off < pol.length; off += n) {
      const a = rng.next() < oneHotShare ? rng.int(n) : -1;
      pol.set(a < 0 ? rng.simplex(n) : Array.from({ length: n }, (_, i) => +(i === a)), off);
    }
  };
  fill(tables.minorPolicy, nU, 0);
  fill(tables.majorPolicy, nU0, 0.2);
}

interface Dense {
  C: number;
  next: Int32Array; // [t][x0][c][u0]
  // V[t] for t = 0..T (V[T] = 0) with the greedy actions and their margins (test/helpers/dense-interpolated.ts)
  values: DenseValues[];
}

/** The dense reference DP, reading policies from the tables' documented layouts and kernels from the game. */
function denseDP(game: GameDefinition, grid: MidpointGrid, tables: SolverTables): Dense {
  const C = grid.cells, rows = nX0 * C;
  const piMinor = (t: number, x: number, x0: number, c: number, u: number) => tables.minorPolicy[((t * rows + x0 * C + c) * nX + x) * nU + u];
  const P = new Float64Array(nX), mu1 = new Float64Array(nX);

  const next = new Int32Array(T * rows * nU0);
  for (let t = 0; t < T; t++) for (let x0 = 0; x0 < nX0; x0++) for (let c = 0; c < C; c++) for (let u0 = 0; u0 < nU0; u0++) {
    const mu = grid.point(c);
    mu1.fill(0);
    for (let x = 0; x < nX; x++) {
      const pbar = new Float64Array(nX);
      for (let u = 0; u < nU; u++) {
        game.minorKernel(x, u, x0, u0, mu, P, 0);
        for (let y = 0; y < nX; y++) pbar[y] += piMinor(t, x, x0, c, u) * P[y];
      }
      for (let y = 0; y < nX; y++) mu1[y] += mu[x] * pbar[y];
    }
    next[((t * nX0 + x0) * C + c) * nU0 + u0] = grid.projectByScan(mu1);
  }

  // the nearest scheme's transition to the next cell as dense one-hot rows [c' == next]
  const W = Array.from(next, (cn) => {
    const row = new Float64Array(C);
    row[cn] = 1;
    return row;
  });
  const values: DenseValues[] = [];
  values[T] = emptyValues(nX, rows);
  for (let t = T - 1; t >= 0; t--) values[t] = denseStep({ game, grid, tables, rows }, W, t, values[t + 1]);
  return { C, next, values };
}

/** Writes the dense V[t] into value slot t mod 2 of the tables. */
function loadSlot(tables: SolverTables, d: Dense, t: number) {
  loadDenseSlot(tables, d.values[t], nX, nX0 * d.C, t & 1);
}

/** Compares slot t mod 2 and the greedy actions with the dense step t; returns the number of checked greedy entries. */
function expectStep(tables: SolverTables, d: Dense, t: number, label: string): number {
  return expectSlot(tables, d.values[t], nX, nX0 * d.C, t & 1, `${label} t=${t}`);
}

function setup(seed: number) {
  const game = randomGame(seed);
  validateGame(game);
  const problem = new Problem(game, M);
  const tables = allocateTables(problem);
  randomPolicies(new SeededRandom(seed * 7919 + 1), tables);
  flowRange(problem, tables.minorPolicy, tables.nextCell, 0, T * problem.rows);
  const grid = new MidpointGrid(nX, M);
  return { game, problem, tables, grid, dense: denseDP(game, grid, tables) };
}

const SEEDS = [1, 2, 3, 4, 5];

describe('sparse backward step vs a dense dynamic program', () => {
  it.each(SEEDS)('seed %i: next cells, single steps, full sweep and start values agree', (seed) => {
    const { game, problem, tables, grid, dense } = setup(seed);
    const C = grid.cells, rows = problem.rows;
    expect(problem.cells).toBe(C);
    expect(problem.majorWidth).toBe(2);

    // the flow: the dense next cells (same table layout) must equal flowRange's
    expect(Array.from(tables.nextCell)).toEqual(Array.from(dense.next));
    // ... and must not be constant, or the cell dimension would not be tested
    expect(new Set(dense.next).size).toBeGreaterThan(3);

    // single steps: feed dense V[t+1], run one backwardRange in two row ranges, compare with dense V[t]
    let greedyChecked = 0;
    for (let t = T - 1; t >= 0; t--) {
      loadSlot(tables, dense, t + 1);
      const split = 1 + ((seed * 5) % (rows - 1));
      backwardRange(problem, tables, t, 0, split);
      backwardRange(problem, tables, t, split, rows);
      greedyChecked += expectStep(tables, dense, t, 'step');
    }
    expect(greedyChecked).toBeGreaterThan(0.9 * T * rows * (nX + 1));

    // full sweep from garbage value tables, clearing the terminal slot as the solver does
    const terminal = T & 1;
    for (const [v, w] of [[tables.minorBR, nX], [tables.minorEval, nX], [tables.majorBR, 1], [tables.majorEval, 1]] as const) {
      v.fill(123.456);
      v.fill(0, terminal * rows * w, (terminal + 1) * rows * w);
    }
    for (let t = T - 1; t >= 0; t--) {
      backwardRange(problem, tables, t, 0, rows);
      expectStep(tables, dense, t, 'sweep');
    }

    // exploitability read-out at t = 0 and proj(mu0)
    const c0 = grid.projectByScan(game.mu0);
    expect(problem.initialCell).toBe(c0);
    let major = [0, 0], minor = [0, 0];
    for (let x0 = 0; x0 < nX0; x0++) {
      major = [major[0] + game.nu0[x0] * dense.values[0].v0BR[x0 * C + c0], major[1] + game.nu0[x0] * dense.values[0].v0Ev[x0 * C + c0]];
      for (let x = 0; x < nX; x++) {
        const w = game.mu0[x] * game.nu0[x0], i = (x * nX0 + x0) * C + c0;
        minor = [minor[0] + w * dense.values[0].vBR[i], minor[1] + w * dense.values[0].vEv[i]];
      }
    }
    const sv = startValues(problem, tables);
    const got = [sv.majorBestResponse, sv.majorPolicy, sv.minorBestResponse, sv.minorPolicy];
    [...major, ...minor].forEach((want, i) => expect(Math.abs(got[i] - want), `start value ${i}`).toBeLessThanOrEqual(TOL));
    // best responses dominate the policies' own values (exploitability >= 0)
    expect(sv.majorBestResponse).toBeGreaterThanOrEqual(sv.majorPolicy - TOL);
    expect(sv.minorBestResponse).toBeGreaterThanOrEqual(sv.minorPolicy - TOL);
  });
});

describe('policy update (FP average, FPI replace)', () => {
  it.each(SEEDS)('seed %i: matches the formulas, touches only slice t and the rows in range', (seed) => {
    const problem = new Problem(randomGame(seed), M);
    const tables = allocateTables(problem);
    const rng = new SeededRandom(seed + 1000);
    const rows = problem.rows;
    for (let n = 0; n < 4; n++) {
      randomPolicies(rng, tables);
      tables.minorGreedy.forEach((_, i) => (tables.minorGreedy[i] = rng.int(nU)));
      tables.majorGreedy.forEach((_, i) => (tables.majorGreedy[i] = rng.int(nU0)));
      const before = { minor: tables.minorPolicy.slice(), major: tables.majorPolicy.slice() };
      const t = rng.int(T), from = rng.int(rows), to = from + 1 + rng.int(rows - from);
      const rule = n % 2 === 0 ? ({ kind: 'average', iteration: 3 * n + 1 } as const) : ({ kind: 'replace' } as const);
      updateRange(problem, tables, t, from, to, rule);
      const expected = (old: number, a: number, greedy: number) =>
        rule.kind === 'replace' ? +(a === greedy) : (old * (rule.iteration + 1) + +(a === greedy)) / (rule.iteration + 2);
      for (let tt = 0; tt < T; tt++) for (let r = 0; r < rows; r++) {
        const inRange = tt === t && r >= from && r < to;
        const tr = tt * rows + r;
        for (let u0 = 0; u0 < nU0; u0++) {
          const i = tr * nU0 + u0;
          const want = inRange ? expected(before.major[i], u0, tables.majorGreedy[r]) : before.major[i];
          expect(Math.abs(tables.majorPolicy[i] - want), `major t=${tt} r=${r} u0=${u0}`).toBeLessThanOrEqual(1e-15);
        }
        for (let x = 0; x < nX; x++) {
          let mass = 0;
          for (let u = 0; u < nU; u++) {
            const i = (tr * nX + x) * nU + u;
            const want = inRange ? expected(before.minor[i], u, tables.minorGreedy[r * nX + x]) : before.minor[i];
            expect(Math.abs(tables.minorPolicy[i] - want), `minor t=${tt} r=${r} x=${x} u=${u}`).toBeLessThanOrEqual(1e-15);
            mass += tables.minorPolicy[i];
          }
          expect(Math.abs(mass - 1)).toBeLessThanOrEqual(1e-12);
        }
      }
    }
  });
});
