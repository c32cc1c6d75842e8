// Start values of the interpolated scheme: the values at mu0 are interpolated like every other value,
//   V0(mu0) = sum_j w_j V0[0][x0][c_j],   {(c_j, w_j)} = interpolate(mu0),
// then averaged as exploitability.ts does (major: sum_x0 nu0(x0) V0; minor: sum_x mu0(x) sum_x0 nu0(x0) V),
// every sum from 0 upwards, so with the nearest placement ((proj mu0, 1), zeros) this is startValues bitwise.
// The interpolation works on packed value rows (exploitability.ts's startValuesFromRows layout), so a cluster
// coordinator that gathers the vertex rows from the nodes owning them gets the same bits.

import type { Problem } from '../problem.ts';
import type { SolverTables } from '../tables.ts';
import { startValuesFromRows, valueRowsAt, type StartValues } from './exploitability.ts';
import type { VertexPlacement } from './interpolate.ts';

/** The nX vertex cells and weights of mu0 (slots of weight 0 repeat the first cell). */
export function startVertices(problem: Problem, placement: VertexPlacement): { cells: Int32Array; weights: Float64Array } {
  const nX = problem.game.nX;
  const cells = new Int32Array(nX);
  const weights = new Float64Array(nX);
  placement.place(problem.game.mu0, 0, cells, weights, 0);
  return { cells, weights };
}

/** The start values from the packed rows of each vertex slot j (rowsOf(j)), interpolated with `weights`. */
export function interpolatedStartFromRows(game: Problem['game'], weights: Float64Array, rowsOf: (j: number) => Float64Array): StartValues {
  const n = rowsOf(0).length;
  const at = new Float64Array(n);
  for (let j = 0; j < weights.length; j++) {
    const rows = rowsOf(j);
    const wj = weights[j];
    for (let k = 0; k < n; k++) at[k] += wj * rows[k];
  }
  return startValuesFromRows(game, at);
}

export function interpolatedStartValues(problem: Problem, tables: SolverTables, placement: VertexPlacement): StartValues {
  const { cells, weights } = startVertices(problem, placement);
  return interpolatedStartFromRows(problem.game, weights, (j) => valueRowsAt(problem, tables, cells[j]));
}
