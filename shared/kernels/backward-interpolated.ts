// One backward step of the interpolated scheme at time t over a range of rows r = x0 * cells + c. The next
// mean field is the distribution {(c_j, w_j)} of flow-interpolated.ts, so a value at it is the weighted sum
// of the vertex values (piecewise-linear interpolation of V[t+1] over the lattice):
//   Vbar0(x0')     = sum_j w_j V0[t+1][x0'][c_j],        Vbar(x', x0') = sum_j w_j V[t+1][x'][x0'][c_j]
//   Q0(u0)   = r0(x0, u0, mu_c) + sum_{x0'} P0(x0' | x0, u0, mu_c) Vbar0(x0')
//   Q(x, u)  = sum_u0 pi0(u0) ( r(x, u, x0, u0, mu_c) + sum_{x'} P(x' | x, u, x0, u0, mu_c) A_u0(x') ),
//   A_u0(x') = sum_{x0'} P0(x0' | x0, u0, mu_c) Vbar(x', x0'),     {(c_j, w_j)} = next(t, x0, u0, c)
// on the best-response values (V = max Q, greedy action) and on the policy values (V = sum pi Q), as
// backward.ts. Floating-point order: every sum starts at 0 and adds its terms upwards (j, then x0' in the
// support order, then x'), the read-out is readout.ts's. With one-hot weights (c_0, 1), (c_0, 0)... the
// interpolation returns V[c_0] exactly (0 + 1 V + 0 V... = V), so the step is bitwise backward.ts's step
// on the nearest cells (a test checks it).
// Work per row: nU0 * |supp P0| * nX * (1 + nX) reads for the interpolation (nX times the nearest gather)
// plus backward.ts's nU0 * nX * nU * nX for the minor Q; no allocation in the loop.
// Reads value slot (t+1) mod 2 (or slot ^ 1), writes slot t mod 2 (or options.slot) and the greedy actions.
// tables.nextCell is not read.

import type { Problem } from '../problem.ts';
import type { SolverTables } from '../tables.ts';
import { backwardScratch, type BackwardScratch, type StepOptions } from './backward.ts';
import type { InterpolatedNext } from './flow-interpolated.ts';
import { readOutRow } from './readout.ts';
import { unrolledInterpolatedBackward, type UnrolledInterpolatedStep } from './backward-interpolated-unrolled.ts';
import { fixedMinorBlock, fullSupport } from './row-structure.ts';

/** The generated step of each problem (null: none for its sizes), specialised to its rows (row-structure.ts). */
const steps = new WeakMap<Problem, UnrolledInterpolatedStep | null>();

/** backward.ts's scratch plus the interpolated values at one (x0', u0); reuse across calls (no allocation). */
export interface InterpolatedScratch extends BackwardScratch {
  vbr: Float64Array;
  vev: Float64Array;
}

export function interpolatedScratch(problem: Problem): InterpolatedScratch {
  const nX = problem.game.nX;
  return { ...backwardScratch(problem), vbr: new Float64Array(nX), vev: new Float64Array(nX) };
}

export function interpolatedBackwardRange(
  problem: Problem,
  tables: SolverTables,
  next: InterpolatedNext,
  t: number,
  rowFrom: number,
  rowTo: number,
  scratch: InterpolatedScratch = interpolatedScratch(problem),
  options: StepOptions = {},
): void {
  const { nX, nU, nU0 } = problem.game;
  let unrolled = steps.get(problem);
  if (unrolled === undefined) {
    unrolled = unrolledInterpolatedBackward(nX, nU, nU0, { fixed: fixedMinorBlock(problem), support: fullSupport(problem) }) ?? null;
    steps.set(problem, unrolled);
  }
  if (!unrolled) return interpolatedBackwardRangeGeneric(problem, tables, next, t, rowFrom, rowTo, scratch, options);
  const discount = options.discount ?? 1, slot = options.slot ?? t & 1, storeQ = options.storeQ ?? false;
  const redoRow = (r: number) => interpolatedBackwardRangeGeneric(problem, tables, next, t, r, r + 1, scratch, { discount, slot, storeQ });
  unrolled(problem, tables, next, t, rowFrom, rowTo, discount, slot, storeQ, scratch, redoRow);
}

/** The plain loops; backward-interpolated-unrolled.ts generates the same operations for small sizes. */
export function interpolatedBackwardRangeGeneric(
  problem: Problem,
  tables: SolverTables,
  next: InterpolatedNext,
  t: number,
  rowFrom: number,
  rowTo: number,
  scratch: InterpolatedScratch = interpolatedScratch(problem),
  options: StepOptions = {},
): void {
  const { nX, nU, nU0 } = problem.game;
  const discount = options.discount ?? 1;
  const storeQ = options.storeQ ?? false;
  const { rows, cells, minorP, minorR, majorR, majorCount, majorTo, majorP, majorWidth } = problem;
  const { majorPolicy, minorBR, minorEval, majorBR, majorEval } = tables;
  const { nextVertex, nextWeight } = next;
  const { q0br, q0ev, qbr, qev, abr, aev, vbr, vev } = scratch;
  const cur = options.slot ?? t & 1;
  const nextRowBase = (cur ^ 1) * rows; // value slot of t + 1, in rows
  const curRowBase = cur * rows;

  for (let r = rowFrom; r < rowTo; r++) {
    const tr = t * rows + r;
    for (let i = 0; i < nX * nU; i++) qbr[i] = 0;
    for (let i = 0; i < nX * nU; i++) qev[i] = 0;
    for (let u0 = 0; u0 < nU0; u0++) {
      const slot = r * nU0 + u0;
      const nb = (tr * nU0 + u0) * nX; // the nX vertices of next(t, x0, u0, c)
      const cnt = majorCount[slot];
      const sb = slot * majorWidth;
      // minor: skip major actions the policy never takes (adds exact zeros otherwise)
      const w = majorPolicy[tr * nU0 + u0];
      let s0br = 0;
      let s0ev = 0;
      for (let y = 0; y < nX; y++) {
        abr[y] = 0;
        aev[y] = 0;
      }
      for (let j = 0; j < cnt; j++) {
        const p = majorP[sb + j];
        const base = nextRowBase + majorTo[sb + j] * cells; // row of (t+1, x0', cell 0)
        let v0br = 0;
        let v0ev = 0;
        for (let v = 0; v < nX; v++) {
          const wt = nextWeight[nb + v];
          const idx = base + nextVertex[nb + v];
          v0br += wt * majorBR[idx];
          v0ev += wt * majorEval[idx];
        }
        s0br += p * v0br;
        s0ev += p * v0ev;
        if (w === 0) continue;
        for (let y = 0; y < nX; y++) {
          vbr[y] = 0;
          vev[y] = 0;
        }
        for (let v = 0; v < nX; v++) {
          const wt = nextWeight[nb + v];
          const vb = (base + nextVertex[nb + v]) * nX;
          for (let y = 0; y < nX; y++) {
            vbr[y] += wt * minorBR[vb + y];
            vev[y] += wt * minorEval[vb + y];
          }
        }
        for (let y = 0; y < nX; y++) {
          abr[y] += p * vbr[y];
          aev[y] += p * vev[y];
        }
      }
      q0br[u0] = majorR[slot] + discount * s0br;
      q0ev[u0] = majorR[slot] + discount * s0ev;
      if (w === 0) continue;
      for (let xu = 0; xu < nX * nU; xu++) {
        const kb = (slot * nX * nU + xu) * nX;
        let sbr = 0;
        let sev = 0;
        for (let y = 0; y < nX; y++) {
          const p = minorP[kb + y];
          sbr += p * abr[y];
          sev += p * aev[y];
        }
        const rr = minorR[slot * nX * nU + xu];
        qbr[xu] += w * (rr + discount * sbr);
        qev[xu] += w * (rr + discount * sev);
      }
    }
    readOutRow(nX, nU, nU0, tables, scratch, r, tr, curRowBase, storeQ);
  }
}
