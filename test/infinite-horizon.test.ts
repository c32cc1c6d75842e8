// Infinite-horizon discounted values against a plain dense value iteration written from games.md: from
// V = 0, V <- max (or policy average) [r + gamma sum P V] while sum |V_new - V| > 1e-5, evaluated with the
// game's own functions at the grid points and the brute-force projection.
import { describe, expect, it } from 'vitest';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';

const gamma = 0.99;

describe('infinite horizon', () => {
  for (const name of ['sis', 'advertisement']) {
    it(`matches a dense value iteration at the first iteration (${name}, M = 6)`, async () => {
      const game = buildGame(builtinGames[name]);
      const problem = new Problem(game, 6);
      const { nX, nU, nX0, nU0, mu0, nu0 } = game;
      const grid = problem.grid;
      const C = grid.cells;
      const { curve } = await solve({ game: name, params: {}, bins: 6 }, problem, new InlineExecutor(), {
        algorithm: 'fp',
        iterations: 1,
        horizon: 'infinite',
        discount: gamma,
      });
      // initial policies: one-hot on action 0 for both players
      const P = (x: number, u: number, x0: number, u0: number, c: number) => {
        const out = new Float64Array(nX);
        game.minorKernel(x, u, x0, u0, grid.point(c), out, 0);
        return out;
      };
      const P0 = (x0: number, u0: number, c: number) => {
        const out = new Float64Array(nX0);
        game.majorKernel(x0, u0, grid.point(c), out, 0);
        return out;
      };
      const next = (x0: number, u0: number, c: number) => {
        const mu = new Float64Array(nX);
        for (let x = 0; x < nX; x++) {
          const row = P(x, 0, x0, u0, c);
          for (let y = 0; y < nX; y++) mu[y] += grid.point(c)[x] * row[y];
        }
        return grid.projectByScan(mu);
      };
      // major best response
      let V0 = new Float64Array(nX0 * C);
      for (let eps = Infinity; eps > 1e-5; ) {
        const W = new Float64Array(nX0 * C);
        for (let x0 = 0; x0 < nX0; x0++) for (let c = 0; c < C; c++) {
          let best = -Infinity;
          for (let u0 = 0; u0 < nU0; u0++) {
            const p0 = P0(x0, u0, c);
            const cn = next(x0, u0, c);
            let s = 0;
            for (let y0 = 0; y0 < nX0; y0++) s += p0[y0] * V0[y0 * C + cn];
            best = Math.max(best, game.majorReward(x0, u0, grid.point(c)) + gamma * s);
          }
          W[x0 * C + c] = best;
        }
        eps = 0;
        for (let i = 0; i < W.length; i++) eps += Math.abs(W[i] - V0[i]);
        V0 = W;
      }
      // minor policy value under pi = pi0 = action 0
      let V = new Float64Array(nX * nX0 * C);
      for (let eps = Infinity; eps > 1e-5; ) {
        const W = new Float64Array(V.length);
        for (let x = 0; x < nX; x++) for (let x0 = 0; x0 < nX0; x0++) for (let c = 0; c < C; c++) {
          const p = P(x, 0, x0, 0, c);
          const p0 = P0(x0, 0, c);
          const cn = next(x0, 0, c);
          let s = 0;
          for (let y = 0; y < nX; y++) for (let y0 = 0; y0 < nX0; y0++) s += p[y] * p0[y0] * V[(y * nX0 + y0) * C + cn];
          W[(x * nX0 + x0) * C + c] = game.minorReward(x, 0, x0, 0, grid.point(c)) + gamma * s;
        }
        eps = 0;
        for (let i = 0; i < W.length; i++) eps += Math.abs(W[i] - V[i]);
        V = W;
      }
      const c0 = grid.projectByScan(mu0);
      let major = 0;
      for (let x0 = 0; x0 < nX0; x0++) major += nu0[x0] * V0[x0 * C + c0];
      let minor = 0;
      for (let x = 0; x < nX; x++) for (let x0 = 0; x0 < nX0; x0++) minor += mu0[x] * nu0[x0] * V[(x * nX0 + x0) * C + c0];
      expect(curve[0].value.majorBestResponse).toBeCloseTo(major, 8);
      expect(curve[0].value.minorPolicy).toBeCloseTo(minor, 8);
      expect(curve[0].value.majorBestResponse).toBeGreaterThanOrEqual(curve[0].value.majorPolicy - 1e-9);
      expect(curve[0].value.minorBestResponse).toBeGreaterThanOrEqual(curve[0].value.minorPolicy - 1e-9);
      void nU;
    });
  }
});
