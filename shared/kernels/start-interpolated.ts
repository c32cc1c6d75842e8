// Start values of the interpolated scheme: the values at mu0 are interpolated like every other value,
//   V0(mu0) = sum_j w_j V0[0][x0][c_j],   {(c_j, w_j)} = interpolate(mu0),
// then averaged as exploitability.ts does (major: sum_x0 nu0(x0) V0; minor: sum_x mu0(x) sum_x0 nu0(x0) V),
// every sum from 0 upwards, so with the nearest placement ((proj mu0, 1), zeros) this is startValues bitwise.

import type { Problem } from '../problem.ts';
import type { SolverTables } from '../tables.ts';
import type { StartValues } from './exploitability.ts';
import type { VertexPlacement } from './interpolate.ts';

export function interpolatedStartValues(problem: Problem, tables: SolverTables, placement: VertexPlacement): StartValues {
  const { nX, nX0, mu0, nu0 } = problem.game;
  const C = problem.cells;
  const vertex = new Int32Array(nX);
  const weight = new Float64Array(nX);
  placement.place(mu0, 0, vertex, weight, 0);
  // slot 0 holds t = 0; the value of row (x0, mu0) at component `at` of a row stride `width`
  const at = (v: Float64Array, x0: number, width: number, x: number) => {
    let s = 0;
    for (let j = 0; j < nX; j++) s += weight[j] * v[(x0 * C + vertex[j]) * width + x];
    return s;
  };
  const major = (v: Float64Array) => {
    let s = 0;
    for (let x0 = 0; x0 < nX0; x0++) s += nu0[x0] * at(v, x0, 1, 0);
    return s;
  };
  const minor = (v: Float64Array) => {
    let s = 0;
    for (let x = 0; x < nX; x++) {
      let inner = 0;
      for (let x0 = 0; x0 < nX0; x0++) inner += nu0[x0] * at(v, x0, nX, x);
      s += mu0[x] * inner;
    }
    return s;
  };
  return {
    majorBestResponse: major(tables.majorBR),
    majorPolicy: major(tables.majorEval),
    minorBestResponse: minor(tables.minorBR),
    minorPolicy: minor(tables.minorEval),
  };
}
