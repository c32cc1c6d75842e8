// The cell whose policies the players use at a mean field mu that is not a grid point (the N-player
// simulation, the report's trajectory, the exact mean-field check):
//   nearest:      c = proj(mu)                                    (the paper's scheme; the uniform u is not used)
//   interpolate:  c = c_j with probability w_j, {(c_j, w_j)} = interpolate(mu), j = min{ j : u < w_0 + .. + w_j }
// u is one uniform number in [0, 1) per step, shared by the major player and every minor player: the
// interpolated scheme's mean field is one random vertex of the simplex around mu, the same for everyone, so a
// shared draw is the strategy whose values the scheme computes (docs/discretisation.md, "N-player check").

import type { MeanFieldGrid } from './grid.ts';
import { LatticeInterpolator } from './kernels/interpolate.ts';

export type Projection = 'nearest' | 'interpolate';

export interface PolicyCell {
  /** The policy cell at mu[off..off+nX), given one uniform u in [0, 1). */
  cellAt(mu: ArrayLike<number>, off: number, u: number): number;
}

export function policyCell(grid: MeanFieldGrid, projection: Projection): PolicyCell {
  if (projection === 'nearest') return { cellAt: (mu, off) => grid.project(mu, off) };
  const interp = new LatticeInterpolator(grid);
  const nX = grid.nX;
  const cells = new Int32Array(nX);
  const weights = new Float64Array(nX);
  return {
    cellAt(mu, off, u) {
      interp.place(mu, off, cells, weights, 0);
      // the first vertex whose cumulative weight exceeds u; never a zero-weight slot (u >= the rounded total
      // weight, about 1e-16 likely, takes the last positive one)
      let acc = 0;
      let pick = 0;
      for (let j = 0; j < nX; j++) {
        if (weights[j] === 0) continue;
        pick = j;
        acc += weights[j];
        if (u < acc) break;
      }
      return cells[pick];
    },
  };
}
