// A dense dynamic program for either scheme, from the game's own functions: mu' from the kernels at the cell's
// point, its placement as a dense cells x cells matrix W (the interpolated scheme's vertex weights, or one-hot
// rows at the nearest cell), and plain Bellman backups over the full state (x, x0, cell) summing over EVERY
// next (x', x0', c') with probability P P0 W. The slow, obvious reference of test/dense-dp.test.ts,
// test/interpolated-kernels.test.ts and test/conformance-interpolate.test.ts.

import { expect } from 'vitest';
import type { GameDefinition } from '../../shared/model.ts';
import type { LatticeGrid } from '../../shared/lattice-grid.ts';
import type { MeanFieldGrid } from '../../shared/grid.ts';
import type { SolverTables } from '../../shared/tables.ts';
import { LatticeInterpolator } from '../../shared/kernels/interpolate.ts';

/** The game, its grid (a lattice for the interpolated weights; any grid for denseStep), tables and rows. */
export interface DenseInput<G extends MeanFieldGrid = LatticeGrid> {
  game: GameDefinition;
  grid: G;
  tables: SolverTables;
  rows: number;
}

/** W[((t * nX0 + x0) * C + c) * nU0 + u0][c'] : the vertex weights of mu' as dense rows (from the definitions). */
export function denseWeights({ game, grid, tables, rows }: DenseInput): Float64Array[] {
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

export interface DenseValues {
  vBR: Float64Array; vEv: Float64Array; v0BR: Float64Array; v0Ev: Float64Array; // [x][x0][c], [x0][c]
  g: Int32Array; gap: Float64Array; g0: Int32Array; gap0: Float64Array;
}

export function emptyValues(nX: number, rows: number): DenseValues {
  return {
    vBR: new Float64Array(nX * rows), vEv: new Float64Array(nX * rows), v0BR: new Float64Array(rows), v0Ev: new Float64Array(rows),
    g: new Int32Array(nX * rows), gap: new Float64Array(nX * rows), g0: new Int32Array(rows), gap0: new Float64Array(rows),
  };
}

/** One plain Bellman backup at t over the full state, every next (x', x0', c') summed with P P0 W. */
export function denseStep(inp: DenseInput<MeanFieldGrid>, W: Float64Array[], t: number, next: DenseValues): DenseValues {
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
export function loadSlot(tables: SolverTables, d: DenseValues, nX: number, rows: number, s: number) {
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
export function expectSlot(tables: SolverTables, d: DenseValues, nX: number, rows: number, s: number, label: string): number {
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

