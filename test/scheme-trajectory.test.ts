// The report's predicted trajectory (coordinator/report/scheme-trajectory.ts): the scheme's chain on cells
// given an episode's major path. Nearest: one cell at a time, no spread. Interpolate: its mean moves like the
// exact mean field one step ahead (the weights reproduce Phi(p_c)), checked at t = 1 by hand.

import { describe, expect, it } from 'vitest';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { LatticeInterpolator } from '../shared/kernels/interpolate.ts';
import { schemeTrajectory } from '../coordinator/report/scheme-trajectory.ts';
import { randomPolicies } from './helpers/nplayer-exact.ts';

describe('scheme trajectory', () => {
  const game = buildGame(builtinGames.sis);
  const M = 12;
  const path = Array.from({ length: game.T }, (_, t) => (t >> 3) & 1);

  it('nearest with a pure major policy: one lattice point per step, no spread', () => {
    const problem = new Problem(game, M, 'lattice');
    const pol = randomPolicies(game, problem.cells, 5);
    // (a mixed major action would spread the chain over the cells its actions lead to, in either scheme)
    pol.majorPolicy.fill(0);
    for (let i = 0; i < pol.majorPolicy.length; i += game.nU0) pol.majorPolicy[i] = 1;
    const pts = schemeTrajectory(problem, pol.minorPolicy, pol.majorPolicy, path);
    expect(pts.length).toBeGreaterThan(1);
    for (const p of pts) {
      expect(p.sd1).toBe(0);
      expect(Math.abs(p.mu1 * M - Math.round(p.mu1 * M))).toBeLessThan(1e-9);
    }
  });

  it('interpolate: starts at mu0 and its mean at t = 1 is the conditioned expectation of Phi(p_c) (by hand)', () => {
    const problem = new Problem(game, M, 'lattice', 'interpolate');
    const pol = randomPolicies(game, problem.cells, 6);
    const pts = schemeTrajectory(problem, pol.minorPolicy, pol.majorPolicy, path);
    expect(pts[0].mu1).toBeCloseTo(game.mu0[1], 14);
    // by hand: D_0 = the weights of mu0; E[mu_1(1)] = sum_c D_0(c) sum_u0 pi0 P0(x0_1) Phi_{u0}(p_c)(1) / the same without Phi
    const v = new Int32Array(2);
    const w = new Float64Array(2);
    new LatticeInterpolator(problem.grid).place(game.mu0, 0, v, w, 0);
    const C = problem.cells;
    const P = new Float64Array(2);
    const P0 = new Float64Array(game.nX0);
    let num = 0;
    let den = 0;
    for (let j = 0; j < 2; j++) {
      if (w[j] === 0) continue;
      const c = v[j];
      const p = problem.grid.points.subarray(2 * c, 2 * c + 2);
      const r = path[0] * C + c;
      for (let u0 = 0; u0 < game.nU0; u0++) {
        game.majorKernel(path[0], u0, p, P0, 0);
        const q = w[j] * pol.majorPolicy[r * game.nU0 + u0] * P0[path[1]];
        let phi1 = 0;
        for (let x = 0; x < 2; x++) for (let u = 0; u < game.nU; u++) {
          game.minorKernel(x, u, path[0], u0, p, P, 0);
          phi1 += p[x] * pol.minorPolicy[(r * 2 + x) * game.nU + u] * P[1];
        }
        num += q * phi1;
        den += q;
      }
    }
    expect(pts[1].mu1).toBeCloseTo(num / den, 12);
    expect(pts.some((p) => p.sd1 > 0)).toBe(true);
    for (const p of pts) expect(p.sd1).toBeLessThan(0.5);
  });
});
