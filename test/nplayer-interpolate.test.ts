// The N-player check of interpolated runs: the players act on one vertex of the lattice simplex around the
// empirical mean field, drawn with its barycentric weight by one uniform per step shared by everyone
// (shared/policy-cell.ts, shared/episodes.ts). Checked against exact enumeration with brute-force weights,
// for bitwise determinism over threads and splits, and end to end through `m3fg nplayer`.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LatticeGrid } from '../shared/lattice-grid.ts';
import { EpisodeSimulator, summarize, type Sampler } from '../shared/episodes.ts';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { policyStartValues } from '../shared/policy-value.ts';
import { buildGame } from '../shared/validate.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';
import { collectSource } from '../shared/table-source.ts';
import { runCli } from './helpers/cli.ts';
import { InlineEpisodeRunner, PiscinaEpisodeRunner, type EpisodeJob } from '../coordinator/nplayer.ts';
import { exactReturns, expectMeansMatch, nearestLaw, randomPolicies, tinyGame, type CellLaw } from './helpers/nplayer-exact.ts';
import { sameBits } from './helpers/same-bits.ts';

const Z = 6;

/**
 * The interpolated law for nX = 2 by hand: s = M mu(0) lies between the lattice points k_0 = floor(s) and
 * floor(s) + 1, with weights 1 - f and f (f = s - floor(s)); cells found by scanning the grid's points.
 */
function interpolatedLaw(grid: LatticeGrid): CellLaw {
  const M = grid.M;
  const cellOf = (k0: number) => {
    for (let c = 0; c < grid.cells; c++) if (Math.round(grid.points[c * 2] * M) === k0) return c;
    throw new Error(`no cell with k_0 = ${k0}`);
  };
  return (mu) => {
    const s = M * mu[0];
    const a = Math.floor(s + 1e-9);
    const f = Math.max(0, s - a);
    return f < 1e-9 ? [[cellOf(a), 1]] : [[cellOf(a), 1 - f], [cellOf(a + 1), f]];
  };
}

describe('interpolated N-player simulator against exact enumeration (tiny game, T = 3, lattice M = 3)', () => {
  const game = tinyGame(3);
  // M = 3 and N = 2, 4: every empirical mean field but the corners lies strictly inside a lattice segment
  const grid = new LatticeGrid(2, 3);
  const policies = randomPolicies(game, grid.cells, 2025);

  it('the law by hand reproduces mu and differs from nearest (the check below has power)', () => {
    const law = interpolatedLaw(grid);
    for (const m0 of [0.25, 0.5, 0.75, 1 / 3]) {
      const mu = Float64Array.of(m0, 1 - m0);
      const mean = law(mu).reduce((acc, [c, w]) => acc + w * grid.points[c * 2], 0);
      expect(mean).toBeCloseTo(m0, 14);
    }
    const N = 4;
    const exact = exactReturns(game, grid, policies, N, law);
    const nearest = exactReturns(game, grid, policies, N, nearestLaw(grid));
    const sim = new EpisodeSimulator(game, grid, policies, N, 'counts', 'interpolate');
    const episodes = 240_000; // (about 19 standard errors here)
    const major = new Float64Array(episodes);
    const minor = new Float64Array(episodes);
    sim.runRange(5, 0, episodes, major, minor);
    const se = (v: Float64Array) => summarize(v).stdev / Math.sqrt(episodes);
    // acting on the nearest cell instead would be caught: it moves an exact mean by more than Z + 5 standard errors
    const shift = Math.max(Math.abs(exact.major - nearest.major) / se(major), Math.abs(exact.minor - nearest.minor) / se(minor));
    expect(shift).toBeGreaterThan(Z + 5);
  }, 30_000);

  for (const N of [1, 2, 4]) {
    for (const sampler of ['players', 'counts'] as Sampler[]) {
      it(`${sampler} sampler, N = ${N}: means match the exact expectation`, () => {
        const exact = exactReturns(game, grid, policies, N, interpolatedLaw(grid));
        expectMeansMatch(new EpisodeSimulator(game, grid, policies, N, sampler, 'interpolate'), 200 + N, 60_000, exact, Z);
      }, 30_000);
    }
  }

  it('interpolate needs the lattice grid', () => {
    expect(() => new EpisodeSimulator(game, { ...grid, kind: 'midpoint' } as never, policies, 2, 'counts', 'interpolate')).toThrow(/lattice/);
  });
});

describe('interpolated episodes: the same bits for any thread count and split', () => {
  const runners: PiscinaEpisodeRunner[] = [];
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.close()));
  });
  const game = buildGame(builtinGames.sis);
  const problem = new Problem(game, 12, 'lattice');
  const policies = randomPolicies(game, problem.cells, 11);

  for (const sampler of ['counts', 'players'] as Sampler[]) {
    it(`${sampler}: inline, 2 threads in two chunkings, and by hand in two ranges`, async () => {
      const job: EpisodeJob = { spec: { game: 'sis', params: {}, bins: 12, grid: 'lattice', projection: 'interpolate' }, policies, players: 40, sampler, seed: 9, episodes: 60 };
      const inline = await new InlineEpisodeRunner().run(job);
      for (const chunkSize of [7, undefined]) {
        const runner = new PiscinaEpisodeRunner({ threads: 2, chunkSize });
        runners.push(runner);
        const r = await runner.run(job);
        expect(sameBits(r.major, inline.major)).toBe(true);
        expect(sameBits(r.minor, inline.minor)).toBe(true);
      }
      const sim = new EpisodeSimulator(game, problem.grid, policies, 40, sampler, 'interpolate');
      const major = new Float64Array(60);
      const minor = new Float64Array(60);
      sim.runRange(9, 30, 60, major, minor, 30);
      sim.runRange(9, 0, 30, major, minor, 0);
      expect(sameBits(major, inline.major)).toBe(true);
      // the scheme matters: nearest on the same lattice gives other returns
      const nearest = await new InlineEpisodeRunner().run({ ...job, spec: { ...job.spec, projection: 'nearest' } });
      expect(sameBits(nearest.major, inline.major)).toBe(false);
    }, 60_000);
  }
});

/**
 * The interpolated scheme's values by a forward pass over its chain, with the weights by hand: the law of
 * (x0, cell, x) of the major state, the chain's cell and one minor player's state, started at
 * nu0(x0) w_j(mu0) mu0(x), moved by D'(x0', c_j, x') += D(x0, c, x) pi0(u0) pi(u | x) P(x' | ..., p_c) P0(x0' | ...)
 * w_j(Phi(p_c)); the values are the expected rewards summed over t. The solver's evaluation runs backward.
 */
function forwardValues(game: ReturnType<typeof tinyGame>, grid: LatticeGrid, pol: ReturnType<typeof randomPolicies>) {
  const { nX, nU, nX0, nU0, T } = game;
  const C = grid.cells;
  const rows = nX0 * C;
  const law = interpolatedLaw(grid);
  let D = new Float64Array(nX0 * C * nX);
  for (const [c, w] of law(Float64Array.from(game.mu0))) {
    for (let x0 = 0; x0 < nX0; x0++) for (let x = 0; x < nX; x++) D[(x0 * C + c) * nX + x] += game.nu0[x0] * w * game.mu0[x];
  }
  const P = new Float64Array(nX);
  const P0 = new Float64Array(nX0);
  let major = 0;
  let minor = 0;
  for (let t = 0; t < T; t++) {
    const next = new Float64Array(D.length);
    for (let x0 = 0; x0 < nX0; x0++) {
      for (let c = 0; c < C; c++) {
        const p = grid.points.subarray(c * nX, c * nX + nX);
        const row = t * rows + x0 * C + c;
        let mass = 0;
        for (let x = 0; x < nX; x++) mass += D[(x0 * C + c) * nX + x];
        if (mass === 0) continue;
        for (let u0 = 0; u0 < nU0; u0++) {
          const q0 = pol.majorPolicy[row * nU0 + u0];
          major += mass * q0 * game.majorReward(x0, u0, p);
          // the chain's next cells: the weights of Phi(p_c) under the policy at (t, x0, c)
          const mu1 = new Float64Array(nX);
          for (let x = 0; x < nX; x++) for (let u = 0; u < nU; u++) {
            game.minorKernel(x, u, x0, u0, p, P, 0);
            for (let y = 0; y < nX; y++) mu1[y] += p[x] * pol.minorPolicy[(row * nX + x) * nU + u] * P[y];
          }
          game.majorKernel(x0, u0, p, P0, 0);
          for (let x = 0; x < nX; x++) {
            const d = D[(x0 * C + c) * nX + x] * q0;
            for (let u = 0; u < nU; u++) {
              const q = d * pol.minorPolicy[(row * nX + x) * nU + u];
              minor += q * game.minorReward(x, u, x0, u0, p);
              game.minorKernel(x, u, x0, u0, p, P, 0);
              for (const [cj, w] of law(mu1)) {
                for (let x0n = 0; x0n < nX0; x0n++) for (let y = 0; y < nX; y++) next[(x0n * C + cj) * nX + y] += q * P0[x0n] * w * P[y];
              }
            }
          }
        }
      }
    }
    D = next;
  }
  return { major, minor };
}

describe('interpolated mean-field prediction', () => {
  it('the backward evaluation equals a forward pass over the scheme\'s chain with hand weights (tiny game)', () => {
    const game = tinyGame(3);
    for (const M of [3, 5]) {
      const grid = new LatticeGrid(2, M);
      const pol = randomPolicies(game, grid.cells, 40 + M);
      const v = policyStartValues(new Problem(game, M, 'lattice', 'interpolate'), pol.minorPolicy, pol.majorPolicy);
      const f = forwardValues(game, grid, pol);
      expect(v.majorPolicy).toBeCloseTo(f.major, 12);
      expect(v.minorPolicy).toBeCloseTo(f.minor, 12);
      // and the nearest evaluation is a different number (the forward pass is not trivially nearest's)
      const near = policyStartValues(new Problem(game, M, 'lattice'), pol.minorPolicy, pol.majorPolicy);
      expect(Math.abs(near.majorPolicy - f.major) + Math.abs(near.minorPolicy - f.minor)).toBeGreaterThan(1e-6);
    }
  });
});

describe('interpolated runs end to end', () => {
  it('the prediction of 5 FP iterations\' policies is the 6th iteration\'s curve value, to the bit (SIS, lattice M = 10)', async () => {
    const game = buildGame(builtinGames.sis);
    const run = async (iterations: number) => {
      const problem = new Problem(game, 10, 'lattice', 'interpolate');
      const r = await solve({ game: 'sis', params: {}, bins: 10, projection: 'interpolate' }, problem, new InlineExecutor(), { algorithm: 'fp', iterations });
      return { problem, curve: r.curve, minor: await collectSource(r.policies.minorPolicy), major: await collectSource(r.policies.majorPolicy) };
    };
    const five = await run(5);
    const six = await run(6);
    const v = policyStartValues(five.problem, five.minor, five.major);
    expect(v.majorPolicy).toBe(six.curve[5].value.majorPolicy);
    expect(v.minorPolicy).toBe(six.curve[5].value.minorPolicy);
  }, 60_000);

  it('m3fg nplayer on an interpolated solve: the table names the scheme, the JSON records it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'm3fg-nplayer-interp-'));
    const results = join(dir, 'run');
    const solved = runCli(['solve', '--game', 'sis', '--bins', '8', '--grid', 'lattice', '--projection', 'interpolate', '--iterations', '4', '--threads', '1', '--out', results, '--quiet']);
    expect(solved.code, solved.stderr).toBe(0);
    const res = runCli(['nplayer', '--from', results, '--players', '20,200', '--episodes', '50', '--threads', '1']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/sis M=8 interpolated/);
    const json = JSON.parse(readFileSync(join(results, 'nplayer.json'), 'utf8'));
    expect(json.projection).toBe('interpolate');
    const game = buildGame(builtinGames.sis);
    const { tables } = await import('../coordinator/results.ts').then((m) => m.readPolicies(join(results, 'policies.bin')));
    const v = policyStartValues(new Problem(game, 8, 'lattice', 'interpolate'), tables.minorPolicy, tables.majorPolicy);
    expect(json.mfPrediction).toEqual({ major: v.majorPolicy, minor: v.minorPolicy });
    expect(json.rows.map((r: { players: number }) => r.players)).toEqual([20, 200]);
  }, 120_000);
});
