// One backward step at time t over a range of rows r = x0 * cells + c (games.md):
//   Q0(u0)   = r0(x0, u0, mu_c) + sum_{x0'} P0(x0' | x0, u0, mu_c) V0[t+1][x0'][c'_u0]
//   Q(x, u)  = sum_u0 pi0(u0) ( r(x, u, x0, u0, mu_c) + sum_{x'} P(x' | x, u, x0, u0, mu_c) A_u0(x') ),
//   A_u0(x') = sum_{x0'} P0(x0' | x0, u0, mu_c) V[t+1][x'][x0'][c'_u0],   c'_u0 = next(t, x0, u0, c)
// computed twice, once on the best-response values (V = max_a Q, greedy action recorded) and once on the
// policy values (V = sum_a pi(a) Q(a), numpy's order: first term + the sequential sum of the rest).
// The deviating minor player does not move the mean field; the major policy pi0 enters her Q.
// Work per row: nU0 * (|supp P0| * (1 + nX) + nX * nU * nX) multiply-adds, no allocation in the loop.
// Reads value slot (t+1) mod 2, writes slot t mod 2 and the greedy actions of the rows in range.
// Options: `discount` gamma multiplies every expectation (Q = r + gamma sum P V; 1 for a finite horizon, where
// multiplying by 1 is exact); `slot` overrides the slot written (value iteration alternates slots at a fixed
// t); `storeQ` also writes the Q rows (tables.minorQbr/minorQev/majorQbr/majorQev) for softmax and OMD updates.

import type { Problem } from '../problem.ts';
import type { SolverTables } from '../tables.ts';
import { readOutRow } from './readout.ts';
import { unrolledBackward, type UnrolledStep } from './backward-unrolled.ts';
import { fixedMinorBlock, fullSupport } from './row-structure.ts';

/** Scratch arrays for one caller; reuse across calls to keep the loop allocation-free. */
export interface BackwardScratch {
  q0br: Float64Array;
  q0ev: Float64Array;
  qbr: Float64Array;
  qev: Float64Array;
  abr: Float64Array;
  aev: Float64Array;
}

export function backwardScratch(problem: Problem): BackwardScratch {
  const { nX, nU, nU0 } = problem.game;
  return {
    q0br: new Float64Array(nU0),
    q0ev: new Float64Array(nU0),
    qbr: new Float64Array(nX * nU),
    qev: new Float64Array(nX * nU),
    abr: new Float64Array(nX),
    aev: new Float64Array(nX),
  };
}

/** The generated step of each problem (null: none for its sizes); specialised to its rows (row-structure.ts). */
const steps = new WeakMap<Problem, UnrolledStep | null>();

export interface StepOptions {
  discount?: number;
  slot?: number;
  storeQ?: boolean;
}

export function backwardRange(
  problem: Problem,
  tables: SolverTables,
  t: number,
  rowFrom: number,
  rowTo: number,
  scratch?: BackwardScratch,
  options: StepOptions = {},
): void {
  const { nX, nU, nU0 } = problem.game;
  let unrolled = steps.get(problem);
  if (unrolled === undefined) {
    unrolled = unrolledBackward(nX, nU, nU0, { fixed: fixedMinorBlock(problem), support: fullSupport(problem) }) ?? null;
    steps.set(problem, unrolled);
  }
  const discount = options.discount ?? 1;
  const slot = options.slot ?? t & 1;
  const storeQ = options.storeQ ?? false;
  if (unrolled) {
    const redoRow = (r: number) => backwardRangeGeneric(problem, tables, t, r, r + 1, scratch, { discount, slot, storeQ });
    unrolled(problem, tables, t, rowFrom, rowTo, discount, slot, storeQ, redoRow);
  } else backwardRangeGeneric(problem, tables, t, rowFrom, rowTo, scratch ?? backwardScratch(problem), options);
}

/** The plain loops; backward-unrolled.ts generates the same operations for small sizes. */
export function backwardRangeGeneric(
  problem: Problem,
  tables: SolverTables,
  t: number,
  rowFrom: number,
  rowTo: number,
  scratch: BackwardScratch = backwardScratch(problem),
  options: StepOptions = {},
): void {
  const { nX, nU, nU0 } = problem.game;
  const discount = options.discount ?? 1;
  const storeQ = options.storeQ ?? false;
  const { rows, cells, minorP, minorR, majorR, majorCount, majorTo, majorP, majorWidth } = problem;
  const { majorPolicy, nextCell, minorBR, minorEval, majorBR, majorEval } = tables;
  const { q0br, q0ev, qbr, qev, abr, aev } = scratch;
  const cur = options.slot ?? t & 1;
  const nxt = cur ^ 1;
  const nextRowBase = nxt * rows; // value slot of t + 1, in rows
  const curRowBase = cur * rows;

  for (let r = rowFrom; r < rowTo; r++) {
    const tr = t * rows + r;
    const pi0 = tr * nU0;
    for (let i = 0; i < nX * nU; i++) qbr[i] = 0;
    for (let i = 0; i < nX * nU; i++) qev[i] = 0;
    for (let u0 = 0; u0 < nU0; u0++) {
      const slot = r * nU0 + u0;
      const cNext = nextCell[tr * nU0 + u0];
      const cnt = majorCount[slot];
      const sb = slot * majorWidth;
      // major: expectation of the next major values
      let s0br = 0;
      let s0ev = 0;
      for (let j = 0; j < cnt; j++) {
        const p = majorP[sb + j];
        const idx = nextRowBase + majorTo[sb + j] * cells + cNext;
        s0br += p * majorBR[idx];
        s0ev += p * majorEval[idx];
      }
      q0br[u0] = majorR[slot] + discount * s0br;
      q0ev[u0] = majorR[slot] + discount * s0ev;

      // minor: skip major actions the policy never takes (adds exact zeros otherwise)
      const w = majorPolicy[pi0 + u0];
      if (w === 0) continue;
      for (let y = 0; y < nX; y++) {
        abr[y] = 0;
        aev[y] = 0;
      }
      for (let j = 0; j < cnt; j++) {
        const p = majorP[sb + j];
        const vbase = (nextRowBase + majorTo[sb + j] * cells + cNext) * nX;
        for (let y = 0; y < nX; y++) {
          abr[y] += p * minorBR[vbase + y];
          aev[y] += p * minorEval[vbase + y];
        }
      }
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
