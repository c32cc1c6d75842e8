// Policy update for slice t over a range of rows, from the greedy actions of the step just computed
// (games.md, "fictitious play"):
//   FP (average): pi <- (pi * (n + 1) + onehot(greedy)) / (n + 2)   at iteration n (the reference's order)
//   FPI (replace): pi <- onehot(greedy)
// Slice t is never read again by the sweep once its step is done, so it can be updated in place right away.

import type { Problem } from '../problem.ts';
import type { SolverTables } from '../tables.ts';

export type UpdateRule = { kind: 'average'; iteration: number } | { kind: 'replace' };

export function updateRange(
  problem: Problem,
  tables: SolverTables,
  t: number,
  rowFrom: number,
  rowTo: number,
  rule: UpdateRule,
): void {
  const { nX, nU, nU0 } = problem.game;
  const rows = problem.rows;
  const { minorPolicy, majorPolicy, minorGreedy, majorGreedy } = tables;
  for (let r = rowFrom; r < rowTo; r++) {
    const tr = t * rows + r;
    mergeOneHot(majorPolicy, tr * nU0, nU0, majorGreedy[r], rule);
    for (let x = 0; x < nX; x++) mergeOneHot(minorPolicy, (tr * nX + x) * nU, nU, minorGreedy[r * nX + x], rule);
  }
}

function mergeOneHot(policy: Float64Array, off: number, n: number, action: number, rule: UpdateRule): void {
  if (rule.kind === 'replace') {
    for (let a = 0; a < n; a++) policy[off + a] = a === action ? 1 : 0;
    return;
  }
  const k = rule.iteration + 1;
  const k1 = rule.iteration + 2;
  for (let a = 0; a < n; a++) policy[off + a] = (policy[off + a] * k + (a === action ? 1 : 0)) / k1;
}
