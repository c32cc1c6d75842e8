// The mean field a scheme predicts along one episode's major-state path (the report's trajectory figure):
// the discretised mean field is a chain on the grid's cells, D_t(c) = P(cell c at t | x0_0..x0_t), moved by
//   D_{t+1}(c_j) ∝ sum_c D_t(c) sum_u0 pi0(u0 | x0_t, c) P0(x0_{t+1} | x0_t, u0, p_c) w_j(t, x0_t, u0, c)
// (next(t, x0, u0, c) = {(c_j, w_j)}: one cell with weight 1 for nearest, the vertices of the lattice simplex
// around Phi(p_c) for interpolate), conditioned on the path the episode took. The figure shows its mean
// E[mu_t] = sum_c D_t(c) p_c, which under interpolation moves as the true mean field does (the weights reproduce
// Phi(p_c) exactly), and its standard deviation in state 1: the chain's spread over cells, from the vertices
// (numerical diffusion, at most one cell per step) and from mixed major actions (in either scheme); it is not
// the randomness of the finite game.

import type { Problem } from '../../shared/problem.ts';
import { allocateTables } from '../../shared/tables.ts';
import { LatticeInterpolator } from '../../shared/kernels/interpolate.ts';
import { schemeKernels } from '../../shared/kernels/scheme.ts';

export interface SchemePoint {
  t: number;
  /** E[mu_t(1)] under the scheme's chain given the major path. */
  mu1: number;
  /** Its standard deviation over the chain's cells (0 for nearest's single cell). */
  sd1: number;
}

export function schemeTrajectory(problem: Problem, minorPolicy: Float64Array, majorPolicy: Float64Array, majorPath: ArrayLike<number>): SchemePoint[] {
  const { game, cells: C, rows } = problem;
  const { nX, nX0, nU0, T } = game;
  const tables = allocateTables(problem);
  tables.minorPolicy.set(minorPolicy);
  tables.majorPolicy.set(majorPolicy);
  schemeKernels(problem).flow(tables, 0, T * rows);
  const interpolate = problem.projection === 'interpolate';
  const slots = interpolate ? nX : 1;
  const points = problem.grid.points;
  let D = new Float64Array(C);
  if (interpolate) {
    const v = new Int32Array(nX);
    const w = new Float64Array(nX);
    new LatticeInterpolator(problem.grid).place(game.mu0, 0, v, w, 0);
    for (let j = 0; j < nX; j++) D[v[j]] += w[j];
  } else D[problem.initialCell] = 1;
  const P0 = new Float64Array(nX0);
  const out: SchemePoint[] = [];
  for (let t = 0; t < T && t < majorPath.length; t++) {
    let m = 0;
    let s = 0;
    for (let c = 0; c < C; c++) {
      m += D[c] * points[c * nX + 1];
      s += D[c] * points[c * nX + 1] ** 2;
    }
    out.push({ t, mu1: m, sd1: Math.sqrt(Math.max(0, s - m * m)) });
    if (t + 1 >= T || t + 1 >= majorPath.length) break;
    const x0 = majorPath[t];
    const x0Next = majorPath[t + 1];
    const next = new Float64Array(C);
    let total = 0;
    for (let c = 0; c < C; c++) {
      if (D[c] === 0) continue;
      const r = t * rows + x0 * C + c;
      for (let u0 = 0; u0 < nU0; u0++) {
        const q = D[c] * majorPolicy[r * nU0 + u0];
        if (q === 0) continue;
        game.majorKernel(x0, u0, points.subarray(c * nX, c * nX + nX), P0, 0);
        const p = q * P0[x0Next];
        if (p === 0) continue;
        const base = (r * nU0 + u0) * slots;
        for (let j = 0; j < slots; j++) {
          const w = interpolate ? tables.nextWeight[base + j] : 1;
          if (w === 0) continue;
          next[interpolate ? tables.nextVertex[base + j] : tables.nextCell[base]] += p * w;
          total += p * w;
        }
      }
    }
    // the path has probability 0 under the scheme (a major move its policies never make): stop there
    if (!(total > 0)) break;
    for (let c = 0; c < C; c++) next[c] /= total;
    D = next;
  }
  return out;
}
