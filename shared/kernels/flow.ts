// Mean-field flow (games.md, "The discretized best responses"):
//   next(t, x0, u0, c) = proj( mu' ),  mu'(x') = sum_x mu_c(x) Pbar(x' | x),
//   Pbar(x' | x) = sum_u pi[t][x][x0][c](u) P(x' | x, u, x0, u0, mu_c).
// Summation order is the reference's: Pbar over u upwards, then mu' over x upwards, then the projection
// with its float-distance tie-break. Independent across (t, row): any range of the flat index t * rows + r.

import type { Problem } from '../problem.ts';
import { unrolledFlow } from './flow-unrolled.ts';

export function flowRange(
  problem: Problem,
  minorPolicy: Float64Array,
  nextCell: Int32Array,
  from: number,
  to: number,
): void {
  const { nX, nU, nU0 } = problem.game;
  const unrolled = unrolledFlow(nX, nU, nU0);
  if (unrolled) unrolled(problem, minorPolicy, nextCell, from, to);
  else flowRangeGeneric(problem, minorPolicy, nextCell, from, to);
}

/** The plain loops; flow-unrolled.ts generates the same operations for small sizes. */
export function flowRangeGeneric(
  problem: Problem,
  minorPolicy: Float64Array,
  nextCell: Int32Array,
  from: number,
  to: number,
): void {
  const { nX, nU, nU0 } = problem.game;
  const { rows, cells, minorP } = problem;
  const grid = problem.grid;
  const points = grid.points;
  const muNext = new Float64Array(nX);
  const block = nX * nU * nX; // kernel entries per (row, u0)
  let r = from % rows;
  let c = r % cells;
  for (let i = from; i < to; i++) {
    const pol = i * nX * nU;
    const pt = c * nX;
    for (let u0 = 0; u0 < nU0; u0++) {
      const kbase = (r * nU0 + u0) * block;
      for (let y = 0; y < nX; y++) muNext[y] = 0;
      for (let x = 0; x < nX; x++) {
        const m = points[pt + x];
        const px = pol + x * nU;
        const kx = kbase + x * nU * nX;
        for (let y = 0; y < nX; y++) {
          let pbar = 0;
          for (let u = 0; u < nU; u++) pbar += minorPolicy[px + u] * minorP[kx + u * nX + y];
          muNext[y] += m * pbar;
        }
      }
      nextCell[i * nU0 + u0] = grid.project(muNext, 0);
    }
    if (++c === cells) c = 0;
    if (++r === rows) {
      r = 0;
      c = 0;
    }
  }
}
