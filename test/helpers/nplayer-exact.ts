// The exact expectation of the N-player returns of a tiny game, by enumerating the joint states: the slow,
// obvious computation the N-player simulator (shared/episodes.ts) is checked against, for both schemes.

import { MidpointGrid } from '../../shared/grid.ts';
import type { GameDefinition } from '../../shared/model.ts';
import { SeededRandom } from '../../shared/random.ts';
import { validateGame } from '../../shared/validate.ts';
import { expect } from 'vitest';
import { summarize, type EpisodePolicies, type EpisodeSimulator } from '../../shared/episodes.ts';

export function tinyGame(T: number): GameDefinition {
  const game: GameDefinition = {
    name: 'tiny',
    nX: 2,
    nU: 2,
    nX0: 2,
    nU0: 2,
    T,
    mu0: Float64Array.of(0.6, 0.4),
    nu0: Float64Array.of(0.3, 0.7),
    params: {},
    minorKernel(x, u, x0, u0, mu, out, o) {
      const up = x === 0 ? 0.1 + 0.25 * u + 0.15 * x0 + 0.1 * u0 + 0.3 * mu[1] : 0.8 - 0.3 * u - 0.2 * mu[0] * u0;
      out[o + 1] = up;
      out[o] = 1 - up;
    },
    majorKernel(x0, u0, mu, out, o) {
      const flip = 0.2 + 0.5 * mu[1] * (u0 === 1 ? 1 : 0.4);
      out[o + 1 - x0] = flip;
      out[o + x0] = 1 - flip;
    },
    minorReward(x, u, x0, u0, mu) {
      return (x === 1 ? -1 : 0.5) - 0.3 * u + 0.7 * mu[x] * (x0 + 1) - 0.2 * u0;
    },
    majorReward(x0, u0, mu) {
      return -2 * mu[1] + 0.5 * x0 - 0.4 * u0 + mu[0] * mu[1];
    },
  };
  validateGame(game);
  return game;
}

export function randomPolicies(game: GameDefinition, cells: number, seed: number): EpisodePolicies {
  const rng = new SeededRandom(seed);
  const rows = game.nX0 * cells;
  const minorPolicy = new Float64Array(game.T * rows * game.nX * game.nU);
  const majorPolicy = new Float64Array(game.T * rows * game.nU0);
  for (let i = 0; i < minorPolicy.length; i += game.nU) minorPolicy.set(rng.simplex(game.nU), i);
  for (let i = 0; i < majorPolicy.length; i += game.nU0) majorPolicy.set(rng.simplex(game.nU0), i);
  return { minorPolicy, majorPolicy };
}

/** The policy cells at an empirical mean field with their probabilities (one cell with 1 for nearest). */
export type CellLaw = (mu: Float64Array) => Array<[cell: number, weight: number]>;

/** The nearest scheme's law: the brute-force projection, probability 1. */
export const nearestLaw = (grid: { projectByScan(mu: Float64Array): number }): CellLaw => (mu) => [[grid.projectByScan(mu), 1]];

/**
 * E[J0] and E[J] of the N-player system by enumeration: the law of the joint state (x0, x_1..x_N) forward in
 * time; at each t every policy cell of the empirical mean field (with its probability; everyone acts on the
 * same cell), every major action, every joint minor action vector and every joint next state, with the
 * kernels and rewards at the empirical mean field itself.
 */
export function exactReturns(
  game: GameDefinition,
  grid: { cells: number },
  policies: EpisodePolicies,
  N: number,
  law: CellLaw = nearestLaw(grid as MidpointGrid),
): { major: number; minor: number } {
  const { nX, nU, nX0, nU0, T } = game;
  const cells = grid.cells;
  const rows = nX0 * cells;
  const configs = nX ** N;
  const actions = nU ** N;
  const digits = (code: number, base: number, out: number[]) => {
    for (let i = 0; i < N; i++) {
      out[i] = code % base;
      code = Math.floor(code / base);
    }
  };
  let dist = new Float64Array(nX0 * configs);
  const xs: number[] = [];
  const us: number[] = [];
  const ys: number[] = [];
  for (let s = 0; s < configs; s++) {
    digits(s, nX, xs);
    let p = 1;
    for (const x of xs) p *= game.mu0[x];
    for (let x0 = 0; x0 < nX0; x0++) dist[x0 * configs + s] = game.nu0[x0] * p;
  }
  const mu = new Float64Array(nX);
  const row0 = new Float64Array(nX0);
  const kernel = new Float64Array(nX);
  let major = 0;
  let minor = 0;
  for (let t = 0; t < T; t++) {
    const next = new Float64Array(nX0 * configs);
    for (let x0 = 0; x0 < nX0; x0++) {
      for (let s = 0; s < configs; s++) {
        const P = dist[x0 * configs + s];
        if (P === 0) continue;
        digits(s, nX, xs);
        mu.fill(0);
        for (const x of xs) mu[x] += 1;
        for (let x = 0; x < nX; x++) mu[x] /= N;
        for (const [cell, pc] of law(mu)) {
          const row = t * rows + x0 * cells + cell;
          for (let u0 = 0; u0 < nU0; u0++) {
            const w0 = P * pc * policies.majorPolicy[row * nU0 + u0];
            if (w0 === 0) continue;
            major += w0 * game.majorReward(x0, u0, mu);
            game.majorKernel(x0, u0, mu, row0, 0);
            for (let a = 0; a < actions; a++) {
              digits(a, nU, us);
              let w = w0;
              let r = 0;
              for (let i = 0; i < N; i++) {
                w *= policies.minorPolicy[(row * nX + xs[i]) * nU + us[i]];
                r += game.minorReward(xs[i], us[i], x0, u0, mu);
              }
              if (w === 0) continue;
              minor += (w * r) / N;
              if (t === T - 1) continue;
              for (let y = 0; y < configs; y++) {
                digits(y, nX, ys);
                let py = w;
                for (let i = 0; i < N; i++) {
                  game.minorKernel(xs[i], us[i], x0, u0, mu, kernel, 0);
                  py *= kernel[ys[i]];
                }
                for (let x0n = 0; x0n < nX0; x0n++) next[x0n * configs + y] += py * row0[x0n];
              }
            }
          }
        }
      }
    }
    dist = next;
  }
  return { major, minor };
}

/**
 * Simulates `episodes` episodes with `sim` from `seed` and checks both players' mean returns against the exact
 * expectation: |z| < zMax, z = (mean - exact) / (stdev / sqrt(n)).
 */
export function expectMeansMatch(sim: EpisodeSimulator, seed: number, episodes: number, exact: { major: number; minor: number }, zMax: number): void {
  const major = new Float64Array(episodes);
  const minor = new Float64Array(episodes);
  sim.runRange(seed, 0, episodes, major, minor);
  for (const [values, expected, what] of [
    [major, exact.major, 'major'],
    [minor, exact.minor, 'minor'],
  ] as const) {
    const s = summarize(values);
    const z = (s.mean - expected) / (s.stdev / Math.sqrt(s.n));
    expect(Math.abs(z), `${what}: mean ${s.mean} vs exact ${expected} (z = ${z})`).toBeLessThan(zMax);
  }
}
