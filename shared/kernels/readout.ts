// The end of a backward step for one row r, once its Q rows are summed (games.md): best-response values
// V = max_a Q with the greedy action (argmax.ts), policy values V = sum_a pi(a) Q(a) in numpy's order (the
// first term plus the sequential sum of the rest), and optionally the Q rows themselves. The same operations
// for every kernel that forms Q its own way: backward.ts's and backward-interpolated.ts's plain loops.

import type { SolverTables } from '../tables.ts';
import { firstMaximum, greedyAction } from './argmax.ts';

export interface RowQ {
  q0br: Float64Array;
  q0ev: Float64Array;
  qbr: Float64Array;
  qev: Float64Array;
}

/**
 * Writes row r's values into value slot `cur` (curRowBase = cur * rows), its greedy actions, and with storeQ
 * its Q rows. tr = t * rows + r indexes the policies.
 */
export function readOutRow(
  nX: number,
  nU: number,
  nU0: number,
  tables: SolverTables,
  q: RowQ,
  r: number,
  tr: number,
  curRowBase: number,
  storeQ: boolean,
): void {
  const { minorPolicy, majorPolicy, minorBR, minorEval, majorBR, majorEval, minorGreedy, majorGreedy } = tables;
  const { q0br, q0ev, qbr, qev } = q;
  if (storeQ) {
    for (let u0 = 0; u0 < nU0; u0++) {
      tables.majorQbr[r * nU0 + u0] = q0br[u0];
      tables.majorQev[r * nU0 + u0] = q0ev[u0];
    }
    for (let xu = 0; xu < nX * nU; xu++) {
      tables.minorQbr[r * nX * nU + xu] = qbr[xu];
      tables.minorQev[r * nX * nU + xu] = qev[xu];
    }
  }

  // major
  const pi0 = tr * nU0;
  const g0 = firstMaximum(q0br, 0, nU0); // strict first maximum, as numpy's argmax (argmax.ts)
  majorBR[curRowBase + r] = q0br[g0];
  majorGreedy[r] = g0;
  let rest0 = 0;
  for (let u0 = 1; u0 < nU0; u0++) rest0 += majorPolicy[pi0 + u0] * q0ev[u0];
  majorEval[curRowBase + r] = majorPolicy[pi0] * q0ev[0] + rest0;

  // minor
  const pol = tr * nX * nU;
  for (let x = 0; x < nX; x++) {
    const o = x * nU;
    let best = qbr[o];
    for (let u = 1; u < nU; u++) if (qbr[o + u] > best) best = qbr[o + u];
    minorBR[(curRowBase + r) * nX + x] = best;
    minorGreedy[r * nX + x] = greedyAction(qbr, o, nU, best);
    let rest = 0;
    for (let u = 1; u < nU; u++) rest += minorPolicy[pol + o + u] * qev[o + u];
    minorEval[(curRowBase + r) * nX + x] = minorPolicy[pol + o] * qev[o] + rest;
  }
}
