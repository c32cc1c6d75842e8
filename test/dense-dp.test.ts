// Dense dynamic-programming cross-check of the sparse kernels (games.md, "The discretized best responses").
//
// On small random games (nX = 3, nX0 = 2, nU = nU0 = 2, T = 4, M = 5) whose kernels and rewards depend
// smoothly on mu, with random (mixed) policies, a slow and obvious reference:
//   - next cells: mu' from the game's own kernel at grid.point(c), projected by the brute-force scan;
//   - Q / Q0 over the full state (x, x0, cell), summing over EVERY next state (x', x0', c') with the indicator
//     [c' == next(t, x0, u0, c)] — a dense transition, no sparse shortcuts, kernels called at the grid point;
//   - best-response values (max), policy values (policy average), greedy actions.
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

const nX = 3, nX0 = 2, nU = 2, nU0 = 2, T = 4, M = 5;
const TOL = 1e-12; // values are O(1..10); the sparse and dense sums differ only in rounding
const GAP = 1e-9; // greedy actions are compared where the best Q beats the runner-up by more than this

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
  // V[t] for t = 0..T (V[T] = 0), flat [x][x0][c] (minor) and [x0][c] (major)
  vBR: Float64Array[]; vEv: Float64Array[]; v0BR: Float64Array[]; v0Ev: Float64Array[];
  // greedy actions and their margin (best Q minus runner-up) per t
  g: Int32Array[]; gap: Float64Array[]; g0: Int32Array[]; gap0: Float64Array[];
}

/** The dense reference DP, reading policies from the tables' documented layouts and kernels from the game. */
function denseDP(game: GameDefinition, grid: MidpointGrid, tables: SolverTables): Dense {
  const C = grid.cells, rows = nX0 * C;
  const piMinor = (t: number, x: number, x0: number, c: number, u: number) => tables.minorPolicy[((t * rows + x0 * C + c) * nX + x) * nU + u];
  const piMajor = (t: number, x0: number, c: number, u0: number) => tables.majorPolicy[(t * rows + x0 * C + c) * nU0 + u0];
  const P = new Float64Array(nX), P0 = new Float64Array(nX0), mu1 = new Float64Array(nX);

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

  const vi = (x: number, x0: number, c: number) => (x * nX0 + x0) * C + c;
  const d: Dense = { C, next, vBR: [], vEv: [], v0BR: [], v0Ev: [], g: [], gap: [], g0: [], gap0: [] };
  [d.vBR[T], d.vEv[T], d.v0BR[T], d.v0Ev[T]] = [new Float64Array(nX * rows), new Float64Array(nX * rows), new Float64Array(rows), new Float64Array(rows)];
  const best = (q: number[]) => {
    let a = 0;
    for (let i = 1; i < q.length; i++) if (q[i] > q[a]) a = i;
    const others = q.filter((_, i) => i !== a);
    return { a, v: q[a], gap: q[a] - Math.max(...others) };
  };
  for (let t = T - 1; t >= 0; t--) {
    const [VBR, VEv, V0BR, V0Ev] = [d.vBR[t + 1], d.vEv[t + 1], d.v0BR[t + 1], d.v0Ev[t + 1]];
    const vBR = new Float64Array(nX * rows), vEv = new Float64Array(nX * rows);
    const v0BR = new Float64Array(rows), v0Ev = new Float64Array(rows);
    const g = new Int32Array(nX * rows), gap = new Float64Array(nX * rows), g0 = new Int32Array(rows), gap0 = new Float64Array(rows);
    for (let x0 = 0; x0 < nX0; x0++) for (let c = 0; c < C; c++) {
      const mu = grid.point(c);
      // major: Q0(u0) = r0 + sum over all (x0', c') of P0 [c' == next] V0[t+1]
      const q0br: number[] = [], q0ev: number[] = [];
      for (let u0 = 0; u0 < nU0; u0++) {
        game.majorKernel(x0, u0, mu, P0, 0);
        const cn = next[((t * nX0 + x0) * C + c) * nU0 + u0];
        let sbr = 0, sev = 0;
        for (let y0 = 0; y0 < nX0; y0++) for (let c2 = 0; c2 < C; c2++) {
          const w = P0[y0] * (c2 === cn ? 1 : 0);
          sbr += w * V0BR[y0 * C + c2];
          sev += w * V0Ev[y0 * C + c2];
        }
        const r0 = game.majorReward(x0, u0, mu);
        q0br.push(r0 + sbr);
        q0ev.push(r0 + sev);
      }
      const b0 = best(q0br);
      v0BR[x0 * C + c] = b0.v; g0[x0 * C + c] = b0.a; gap0[x0 * C + c] = b0.gap;
      v0Ev[x0 * C + c] = q0ev.reduce((s, q, u0) => s + piMajor(t, x0, c, u0) * q, 0);
      // minor: Q(x, u) = sum_u0 pi0(u0) (r + sum over all (x', x0', c') of P P0 [c' == next] V[t+1])
      for (let x = 0; x < nX; x++) {
        const qbr: number[] = [], qev: number[] = [];
        for (let u = 0; u < nU; u++) {
          let sbr = 0, sev = 0;
          for (let u0 = 0; u0 < nU0; u0++) {
            game.minorKernel(x, u, x0, u0, mu, P, 0);
            game.majorKernel(x0, u0, mu, P0, 0);
            const cn = next[((t * nX0 + x0) * C + c) * nU0 + u0];
            let ebr = 0, eev = 0;
            for (let y = 0; y < nX; y++) for (let y0 = 0; y0 < nX0; y0++) for (let c2 = 0; c2 < C; c2++) {
              const w = P[y] * P0[y0] * (c2 === cn ? 1 : 0);
              ebr += w * VBR[vi(y, y0, c2)];
              eev += w * VEv[vi(y, y0, c2)];
            }
            const r = game.minorReward(x, u, x0, u0, mu);
            const p0 = piMajor(t, x0, c, u0);
            sbr += p0 * (r + ebr);
            sev += p0 * (r + eev);
          }
          qbr.push(sbr);
          qev.push(sev);
        }
        const b = best(qbr);
        vBR[vi(x, x0, c)] = b.v; g[vi(x, x0, c)] = b.a; gap[vi(x, x0, c)] = b.gap;
        vEv[vi(x, x0, c)] = qev.reduce((s, q, u) => s + piMinor(t, x, x0, c, u) * q, 0);
      }
    }
    [d.vBR[t], d.vEv[t], d.v0BR[t], d.v0Ev[t], d.g[t], d.gap[t], d.g0[t], d.gap0[t]] = [vBR, vEv, v0BR, v0Ev, g, gap, g0, gap0];
  }
  return d;
}

/** Writes the dense V[t] into value slot t mod 2 of the tables. */
function loadSlot(tables: SolverTables, d: Dense, t: number) {
  const C = d.C, rows = nX0 * C, s = t & 1;
  for (let x0 = 0; x0 < nX0; x0++) for (let c = 0; c < C; c++) {
    const r = x0 * C + c;
    tables.majorBR[s * rows + r] = d.v0BR[t][r];
    tables.majorEval[s * rows + r] = d.v0Ev[t][r];
    for (let x = 0; x < nX; x++) {
      tables.minorBR[(s * rows + r) * nX + x] = d.vBR[t][(x * nX0 + x0) * C + c];
      tables.minorEval[(s * rows + r) * nX + x] = d.vEv[t][(x * nX0 + x0) * C + c];
    }
  }
}

/** Compares slot t mod 2 and the greedy actions with the dense step t; returns the number of checked greedy entries. */
function expectStep(tables: SolverTables, d: Dense, t: number, label: string): number {
  const C = d.C, rows = nX0 * C, s = t & 1;
  let checked = 0;
  const close = (got: number, want: number, what: string) => {
    if (!(Math.abs(got - want) <= TOL)) expect.fail(`${label} t=${t} ${what}: sparse ${got} vs dense ${want}`);
  };
  for (let x0 = 0; x0 < nX0; x0++) for (let c = 0; c < C; c++) {
    const r = x0 * C + c;
    close(tables.majorBR[s * rows + r], d.v0BR[t][r], `majorBR x0=${x0} c=${c}`);
    close(tables.majorEval[s * rows + r], d.v0Ev[t][r], `majorEval x0=${x0} c=${c}`);
    if (d.gap0[t][r] > GAP) {
      expect(tables.majorGreedy[r], `${label} t=${t} majorGreedy x0=${x0} c=${c}`).toBe(d.g0[t][r]);
      checked++;
    }
    for (let x = 0; x < nX; x++) {
      const i = (x * nX0 + x0) * C + c;
      close(tables.minorBR[(s * rows + r) * nX + x], d.vBR[t][i], `minorBR x=${x} x0=${x0} c=${c}`);
      close(tables.minorEval[(s * rows + r) * nX + x], d.vEv[t][i], `minorEval x=${x} x0=${x0} c=${c}`);
      if (d.gap[t][i] > GAP) {
        expect(tables.minorGreedy[r * nX + x], `${label} t=${t} minorGreedy x=${x} x0=${x0} c=${c}`).toBe(d.g[t][i]);
        checked++;
      }
    }
  }
  return checked;
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
      major = [major[0] + game.nu0[x0] * dense.v0BR[0][x0 * C + c0], major[1] + game.nu0[x0] * dense.v0Ev[0][x0 * C + c0]];
      for (let x = 0; x < nX; x++) {
        const w = game.mu0[x] * game.nu0[x0], i = (x * nX0 + x0) * C + c0;
        minor = [minor[0] + w * dense.vBR[0][i], minor[1] + w * dense.vEv[0][i]];
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
