// Mean-field flow of the interpolated scheme: the next mean field is a distribution over the nX vertices of
// the lattice simplex that contains mu' (interpolate.ts), instead of the one nearest cell:
//   mu'(x') = sum_x mu_c(x) Pbar(x' | x),   Pbar(x' | x) = sum_u pi[t][x][x0][c](u) P(x' | x, u, x0, u0, mu_c),
//   next(t, x0, u0, c) = { (c_j, w_j) : j = 0..nX-1 },   sum_j w_j p(c_j) = mu',  w_j >= 0,  sum_j w_j = 1.
// mu' is formed exactly as flow.ts forms it (Pbar over u upwards, then over x upwards), so with the nearest
// projection as the placement this writes flow.ts's next cells (a test checks it bitwise).
//
// Table layout (one entry per vertex; nX times the nearest scheme's nextCell):
//   nextVertex[((t * rows + r) * nU0 + u0) * nX + j] = c_j,   nextWeight[same] = w_j
// Slots of weight 0 repeat c_0 (never a cell outside the simplex). Independent across (t, row): any range
// of the flat index i = t * rows + r.

import type { Problem } from '../problem.ts';
import { LatticeInterpolator, type VertexPlacement } from './interpolate.ts';
import { unrolledInterpolatedFlow } from './flow-interpolated-unrolled.ts';

/** The interpolated scheme's next-mean-field tables (layout in the header). */
export interface InterpolatedNext {
  readonly nextVertex: Int32Array;
  readonly nextWeight: Float64Array;
}

/** Entries of each table: slices * rows * nU0 * nX (slices = T, or 1 for a stationary policy). */
export function interpolatedNextLength(problem: Problem, slices: number = problem.game.T): number {
  const { nX, nU0 } = problem.game;
  return slices * problem.rows * nU0 * nX;
}

export function allocateInterpolatedNext(
  problem: Problem,
  slices: number = problem.game.T,
  makeBuffer: (bytes: number) => ArrayBufferLike = (n) => new ArrayBuffer(n),
): InterpolatedNext {
  const n = interpolatedNextLength(problem, slices);
  return { nextVertex: new Int32Array(makeBuffer(4 * n), 0, n), nextWeight: new Float64Array(makeBuffer(8 * n), 0, n) };
}

/** The flow of [from, to): the generated kernel (flow-interpolated-unrolled.ts) for the lattice interpolator where the game's sizes allow it. */
export function interpolatedFlowRange(
  problem: Problem,
  minorPolicy: Float64Array,
  next: InterpolatedNext,
  placement: VertexPlacement,
  from: number,
  to: number,
): void {
  const { nX, nU, nU0 } = problem.game;
  if (placement instanceof LatticeInterpolator) {
    const unrolled = unrolledInterpolatedFlow(nX, nU, nU0);
    if (unrolled) return unrolled(problem, minorPolicy, next, placement, from, to);
  }
  interpolatedFlowRangeGeneric(problem, minorPolicy, next, placement, from, to);
}

/** The plain loops, any placement; flow-interpolated-unrolled.ts generates the same operations for small sizes. */
export function interpolatedFlowRangeGeneric(
  problem: Problem,
  minorPolicy: Float64Array,
  next: InterpolatedNext,
  placement: VertexPlacement,
  from: number,
  to: number,
): void {
  const { nX, nU, nU0 } = problem.game;
  const { rows, cells, minorP } = problem;
  const { nextVertex, nextWeight } = next;
  const points = problem.grid.points;
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
      placement.place(muNext, 0, nextVertex, nextWeight, (i * nU0 + u0) * nX);
    }
    if (++c === cells) c = 0;
    if (++r === rows) {
      r = 0;
      c = 0;
    }
  }
}
