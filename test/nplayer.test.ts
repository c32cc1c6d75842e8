// Finite-player checks (shared/episodes.ts, shared/sampling.ts, coordinator/nplayer.ts, `m3fg nplayer`).
//
// Statistical tests use fixed seeds, so each always gives the same verdict; their thresholds are chosen so
// that a correct sampler would fail for a random seed with probability below 1e-6 in all: means are compared
// at |z| < 6 (two-sided normal tail 2e-9 per comparison, about 30 comparisons), chi-square statistics at
// their 1 - 1e-8 quantile (Wilson-Hilferty, about 12 tests). Sample sizes keep the standard errors small
// enough that the comparisons still catch real mistakes (see the power check on the tiny game).

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinGames } from '../shared/games/index.ts';
import { MidpointGrid } from '../shared/grid.ts';
import type { GameDefinition } from '../shared/model.ts';
import { Problem } from '../shared/problem.ts';
import { policyStartValues } from '../shared/policy-value.ts';
import { SeededRandom } from '../shared/random.ts';
import { EpisodeRandom } from '../shared/sampling.ts';
import { buildGame, validateGame } from '../shared/validate.ts';
import { EpisodeSimulator, summarize, type EpisodePolicies, type Sampler } from '../shared/episodes.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';
import { collectSource } from '../shared/table-source.ts';
import { InlineEpisodeRunner, PiscinaEpisodeRunner, type EpisodeJob, type EpisodeReturns } from '../coordinator/nplayer.ts';
import { runCli } from './helpers/cli.ts';
import { sameBits } from './helpers/same-bits.ts';
import { exactReturns, expectMeansMatch, randomPolicies, tinyGame } from './helpers/nplayer-exact.ts';

const Z = 6;

/** The 1 - 1e-8 quantile of chi-square with d degrees of freedom (Wilson-Hilferty; z = 5.61). */
function chiSquareBound(d: number): number {
  const z = 5.61;
  return d * (1 - 2 / (9 * d) + z * Math.sqrt(2 / (9 * d))) ** 3;
}

/** Pearson's statistic over the cells with expected count >= 10 (the rest pooled into one cell). */
function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>): { stat: number; df: number } {
  let stat = 0;
  let cells = 0;
  let restObs = 0;
  let restExp = 0;
  for (let i = 0; i < expected.length; i++) {
    if (expected[i] >= 10) {
      stat += (observed[i] - expected[i]) ** 2 / expected[i];
      cells++;
    } else {
      restObs += observed[i];
      restExp += expected[i];
    }
  }
  if (restExp >= 10) {
    stat += (restObs - restExp) ** 2 / restExp;
    cells++;
  }
  return { stat, df: cells - 1 };
}

function binomialPmf(n: number, p: number): Float64Array {
  const logFact = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) logFact[i] = logFact[i - 1] + Math.log(i);
  const out = new Float64Array(n + 1);
  for (let k = 0; k <= n; k++) out[k] = Math.exp(logFact[n] - logFact[k] - logFact[n - k] + k * Math.log(p) + (n - k) * Math.log1p(-p));
  return out;
}

/** z statistic of the difference of two independent sample means. */
function zDiff(a: Float64Array, b: Float64Array): number {
  const sa = summarize(a);
  const sb = summarize(b);
  return (sa.mean - sb.mean) / Math.sqrt(sa.stdev ** 2 / sa.n + sb.stdev ** 2 / sb.n);
}

describe('discrete samplers', () => {
  // (n, p): inversion (n min(p, 1-p) < 10), BTRD near the mode (|k - m| <= 15) and in the squeeze (> 15),
  // and p > 1/2 (drawn as n - Binomial(n, 1 - p))
  const cases: Array<[number, number]> = [
    [7, 0.3],
    [100, 0.05],
    [100000, 0.00004],
    [30, 0.5],
    [100, 0.3],
    [100, 0.7],
    [500, 0.97],
    [10000, 0.3],
    [2000000, 0.45],
  ];
  for (const [n, p] of cases) {
    it(`Binomial(${n}, ${p}) follows the exact pmf (chi-square)`, () => {
      const draws = 200_000;
      const rng = new EpisodeRandom(17);
      const counts = new Map<number, number>();
      let bad = 0;
      for (let i = 0; i < draws; i++) {
        if (i % 1000 === 0) rng.startEpisode(i / 1000);
        const k = rng.binomial(n, p);
        if (!(Number.isInteger(k) && k >= 0 && k <= n)) bad++;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      expect(bad).toBe(0);
      // compare on a window of +-12 standard deviations (the pmf outside it is below 1e-30)
      const mean = n * p;
      const sd = Math.sqrt(n * p * (1 - p));
      const lo = Math.max(0, Math.floor(mean - 12 * sd - 2));
      const hi = Math.min(n, Math.ceil(mean + 12 * sd + 2));
      const pmf = n <= 20000 ? binomialPmf(n, p) : null;
      const expected = new Float64Array(hi - lo + 1);
      const observed = new Float64Array(hi - lo + 1);
      for (let k = lo; k <= hi; k++) {
        expected[k - lo] = draws * (pmf ? pmf[k] : normalApprox(k, mean, sd));
        observed[k - lo] = counts.get(k) ?? 0;
      }
      let inWindow = 0;
      for (const v of observed) inWindow += v;
      expect(inWindow).toBe(draws);
      if (!pmf) {
        // n = 2e6: no exact pmf table here; check the first two moments instead
        let s = 0;
        let ss = 0;
        for (const [k, c] of counts) {
          s += k * c;
          ss += k * k * c;
        }
        const m = s / draws;
        const v = ss / draws - m * m;
        expect(Math.abs(m - mean) / (sd / Math.sqrt(draws))).toBeLessThan(Z);
        // variance of the sample variance of a near-normal variable: 2 sd^4 / draws
        expect(Math.abs(v - sd * sd) / (Math.SQRT2 * sd * sd / Math.sqrt(draws))).toBeLessThan(Z);
        return;
      }
      const { stat, df } = chiSquare(observed, expected);
      expect(stat, `chi-square ${stat} on ${df} degrees of freedom`).toBeLessThan(chiSquareBound(df));
    }, 30_000);
  }

  it('Multinomial(6, p) follows the exact pmf, also when p does not sum to 1 exactly', () => {
    const p = Float64Array.of(0.2, 0, 0.5, 0.3 + 1e-13);
    const n = 6;
    const draws = 100_000;
    const rng = new EpisodeRandom(5);
    const out = new Float64Array(4);
    const observed = new Map<string, number>();
    let bad = 0;
    for (let i = 0; i < draws; i++) {
      if (i % 1000 === 0) rng.startEpisode(i);
      rng.multinomial(n, p, 0, 4, out, 0);
      if (out[0] + out[1] + out[2] + out[3] !== n || out[1] !== 0) bad++;
      const key = Array.from(out).join(',');
      observed.set(key, (observed.get(key) ?? 0) + 1);
    }
    expect(bad).toBe(0);
    const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
    const total = p[0] + p[2] + p[3];
    const exp: number[] = [];
    const obs: number[] = [];
    for (let a = 0; a <= n; a++) {
      for (let c = 0; a + c <= n; c++) {
        const d = n - a - c;
        const prob = (fact(n) / (fact(a) * fact(c) * fact(d))) * (p[0] / total) ** a * (p[2] / total) ** c * (p[3] / total) ** d;
        exp.push(draws * prob);
        obs.push(observed.get(`${a},0,${c},${d}`) ?? 0);
      }
    }
    const { stat, df } = chiSquare(obs, exp);
    expect(stat).toBeLessThan(chiSquareBound(df));
  }, 30_000);

  it('categorical draws follow the row and never pick a zero-probability entry', () => {
    const p = Float64Array.of(0, 0.1, 0.6, 0, 0.3);
    const rng = new EpisodeRandom(9);
    const draws = 100_000;
    const observed = new Float64Array(5);
    for (let i = 0; i < draws; i++) observed[rng.categorical(p, 0, 5)]++;
    expect(observed[0]).toBe(0);
    expect(observed[3]).toBe(0);
    const { stat, df } = chiSquare([observed[1], observed[2], observed[4]], [draws * 0.1, draws * 0.6, draws * 0.3]);
    expect(stat).toBeLessThan(chiSquareBound(df));
  });

  it('the stream of (seed, k) does not depend on what ran before', () => {
    const a = new EpisodeRandom(123);
    a.startEpisode(7);
    const first = [a.uniform(), a.uniform(), a.binomial(1000, 0.3)];
    const b = new EpisodeRandom(123);
    b.startEpisode(3);
    for (let i = 0; i < 50; i++) b.uniform();
    b.startEpisode(7);
    expect([b.uniform(), b.uniform(), b.binomial(1000, 0.3)]).toEqual(first);
    const c = new EpisodeRandom(124);
    c.startEpisode(7);
    expect(c.uniform()).not.toBe(first[0]);
    expect(() => new EpisodeRandom(-1)).toThrow(/seed must be a non-negative safe integer/);
  });
});

function normalApprox(k: number, mean: number, sd: number): number {
  return Math.exp(-((k - mean) ** 2) / (2 * sd * sd)) / (sd * Math.sqrt(2 * Math.PI));
}


describe('N-player simulator against exact enumeration (tiny game, T = 3, M = 4)', () => {
  const game = tinyGame(3);
  const grid = new MidpointGrid(2, 4);
  const policies = randomPolicies(game, grid.cells, 2024);

  it('the enumeration is a proper law (hand check at T = 1, N = 1)', () => {
    // T = 1, N = 1: E[J0] = sum_x mu0(x) sum_x0 nu0(x0) sum_u0 pi0(u0 | x0, proj(e_x)) r0(x0, u0, e_x)
    const g1 = tinyGame(1);
    const p1 = randomPolicies(g1, grid.cells, 7);
    let major = 0;
    let minor = 0;
    for (let x = 0; x < 2; x++) {
      const mu = new Float64Array(2);
      mu[x] = 1;
      const c = grid.projectByScan(mu);
      for (let x0 = 0; x0 < 2; x0++) {
        for (let u0 = 0; u0 < 2; u0++) {
          const w = g1.mu0[x] * g1.nu0[x0] * p1.majorPolicy[(x0 * grid.cells + c) * 2 + u0];
          major += w * g1.majorReward(x0, u0, mu);
          for (let u = 0; u < 2; u++) minor += w * p1.minorPolicy[((x0 * grid.cells + c) * 2 + x) * 2 + u] * g1.minorReward(x, u, x0, u0, mu);
        }
      }
    }
    const exact = exactReturns(g1, grid, p1, 1);
    expect(exact.major).toBeCloseTo(major, 14);
    expect(exact.minor).toBeCloseTo(minor, 14);
  });

  for (const N of [1, 2, 3, 4]) {
    for (const sampler of ['players', 'counts'] as Sampler[]) {
      it(`${sampler} sampler, N = ${N}: means match the exact expectation`, () => {
        const exact = exactReturns(game, grid, policies, N);
        expectMeansMatch(new EpisodeSimulator(game, grid, policies, N, sampler), 100 + N, 60_000, exact, Z);
      }, 30_000);
    }
  }

  it('the kernels see the empirical mean field, not its projection (the check above has power)', () => {
    // with the kernels and rewards taken at the projected cell instead, the exact means move by many standard
    // errors of the simulated means, so the comparison above would catch that mistake
    const N = 3;
    const exact = exactReturns(game, grid, policies, N);
    const atCell = (mu: Float64Array) => grid.point(grid.projectByScan(mu));
    const projected: GameDefinition = {
      ...game,
      minorKernel: (x, u, x0, u0, mu, out, o) => game.minorKernel(x, u, x0, u0, atCell(mu), out, o),
      majorKernel: (x0, u0, mu, out, o) => game.majorKernel(x0, u0, atCell(mu), out, o),
      minorReward: (x, u, x0, u0, mu) => game.minorReward(x, u, x0, u0, atCell(mu)),
      majorReward: (x0, u0, mu) => game.majorReward(x0, u0, atCell(mu)),
    };
    const wrong = exactReturns(projected, grid, policies, N);
    const sim = new EpisodeSimulator(game, grid, policies, N, 'counts');
    const episodes = 60_000;
    const major = new Float64Array(episodes);
    const minor = new Float64Array(episodes);
    sim.runRange(77, 0, episodes, major, minor);
    const se = (v: Float64Array) => summarize(v).stdev / Math.sqrt(episodes);
    // (12 and 38 standard errors here; a shift of Z + 5 standard errors passes |z| < Z with probability < 3e-7)
    expect(Math.abs(exact.major - wrong.major) / se(major)).toBeGreaterThan(Z + 5);
    expect(Math.abs(exact.minor - wrong.minor) / se(minor)).toBeGreaterThan(Z + 5);
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------------------
// Solved games: the two samplers agree; determinism over threads and splits; the MF prediction

async function solved(name: string, bins: number, iterations: number) {
  const game = buildGame(builtinGames[name]);
  const problem = new Problem(game, bins);
  const result = await solve({ game: name, params: {}, bins }, problem, new InlineExecutor(), { algorithm: 'fp', iterations });
  return {
    game,
    problem,
    curve: result.curve,
    policies: { minorPolicy: await collectSource(result.policies.minorPolicy), majorPolicy: await collectSource(result.policies.majorPolicy) },
  };
}

describe('the two samplers agree on solved games (M = 10, 20 FP iterations)', () => {
  const cases: Array<[string, number[], number]> = [
    ['sis', [10, 60], 3000],
    ['buffet', [10, 40], 2000],
  ];
  for (const [name, Ns, episodes] of cases) {
    for (const N of Ns) {
      it(`${name}, N = ${N}: counts and per-player means agree (|z| < ${Z})`, async () => {
        const { game, problem, policies } = await solved(name, 10, 20);
        const run = (sampler: Sampler, seed: number) => {
          const sim = new EpisodeSimulator(game, problem.grid, policies, N, sampler);
          const major = new Float64Array(episodes);
          const minor = new Float64Array(episodes);
          sim.runRange(seed, 0, episodes, major, minor);
          return { major, minor };
        };
        // different seeds: the two samples are independent
        const counts = run('counts', 11);
        const players = run('players', 12);
        const zMajor = zDiff(counts.major, players.major);
        const zMinor = zDiff(counts.minor, players.minor);
        expect(Math.abs(zMajor), `major z = ${zMajor}`).toBeLessThan(Z);
        expect(Math.abs(zMinor), `minor z = ${zMinor}`).toBeLessThan(Z);
        expect(summarize(counts.major).stdev).toBeGreaterThan(0);
      }, 60_000);
    }
  }
});

describe('determinism over threads and splits', () => {
  let sis: Awaited<ReturnType<typeof solved>>;
  const runners: PiscinaEpisodeRunner[] = [];
  beforeAll(async () => {
    sis = await solved('sis', 10, 20);
  });
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.close()));
  });

  for (const sampler of ['counts', 'players'] as Sampler[]) {
    it(`${sampler}: the same bits inline, on 1 and 2 threads, and for different splits`, async () => {
      const job: EpisodeJob = { spec: { game: 'sis', params: {}, bins: 10 }, policies: sis.policies, players: 30, sampler, seed: 42, episodes: 120 };
      const inline = await new InlineEpisodeRunner().run(job);
      const results: EpisodeReturns[] = [];
      for (const [threads, chunkSize] of [
        [1, 120],
        [2, 7],
        [2, 50],
        [2, undefined],
      ] as Array<[number, number | undefined]>) {
        const runner = new PiscinaEpisodeRunner({ threads, chunkSize });
        runners.push(runner);
        results.push(await runner.run(job));
      }
      // by hand: episodes 0..49 and 50..119 in two calls
      const sim = new EpisodeSimulator(sis.game, sis.problem.grid, sis.policies, 30, sampler);
      const major = new Float64Array(120);
      const minor = new Float64Array(120);
      sim.runRange(42, 50, 120, major, minor, 50);
      sim.runRange(42, 0, 50, major, minor, 0);
      results.push({ major, minor });
      for (const r of results) {
        expect(sameBits(r.major, inline.major)).toBe(true);
        expect(sameBits(r.minor, inline.minor)).toBe(true);
        expect(summarize(r.major)).toEqual(summarize(inline.major));
      }
      const other = await new InlineEpisodeRunner().run({ ...job, seed: 43 });
      expect(sameBits(other.major, inline.major)).toBe(false);
    }, 60_000);
  }
});

describe('mean-field prediction', () => {
  it('one evaluation sweep of the saved policies gives the next solver iteration\'s policy values, to the bit', async () => {
    const five = await solved('sis', 10, 5);
    const six = await solved('sis', 10, 6);
    const v = policyStartValues(five.problem, five.policies.minorPolicy, five.policies.majorPolicy);
    expect(v.majorPolicy).toBe(six.curve[5].value.majorPolicy);
    expect(v.minorPolicy).toBe(six.curve[5].value.minorPolicy);
    // and not the last curve point of the five-iteration run (the policy before its last update)
    expect(v.majorPolicy).not.toBe(five.curve[4].value.majorPolicy);
  }, 30_000);
});

describe('m3fg nplayer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'm3fg-nplayer-'));
  const results = join(dir, 'sis');
  beforeAll(() => {
    const res = runCli(['solve', '--game', 'sis', '--bins', '10', '--iterations', '5', '--out', results, '--quiet']);
    expect(res.code, res.stderr).toBe(0);
  });

  it('prints the table and writes the JSON', async () => {
    const out = join(dir, 'np.json');
    const res = runCli(['nplayer', '--from', results, '--players', '3,20', '--episodes', '50', '--threads', '2', '--seed', '5', '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/mean-field prediction of the saved policies: major -?\d+\.\d+, minor -?\d+\.\d+/);
    expect(res.stdout).toMatch(/^\s*3\s+-?\d+\.\d+ ± \d+\.\d+/m);
    expect(res.stdout).toMatch(/^\s*20\s+-?\d+\.\d+ ± \d+\.\d+/m);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    expect(json.rows.map((r: { players: number }) => r.players)).toEqual([3, 20]);
    expect(json).toMatchObject({ game: 'sis', bins: 10, episodes: 50, seed: 5, sampler: 'counts', threads: 2 });
    // the same run inline gives the same numbers
    const out1 = join(dir, 'np1.json');
    const res1 = runCli(['nplayer', '--from', results, '--players', '3,20', '--episodes', '50', '--threads', '1', '--seed', '5', '--out', out1, '--quiet']);
    expect(res1.code, res1.stderr).toBe(0);
    expect(res1.stdout).toBe('');
    const json1 = JSON.parse(readFileSync(out1, 'utf8'));
    expect(json1.rows.map((r: { major: unknown; minor: unknown }) => [r.major, r.minor])).toEqual(
      json.rows.map((r: { major: unknown; minor: unknown }) => [r.major, r.minor]),
    );
    // the MF prediction is the evaluation of the saved policies
    const game = buildGame(builtinGames.sis);
    const { tables } = await import('../coordinator/results.ts').then((m) => m.readPolicies(join(results, 'policies.bin')));
    const v = policyStartValues(new Problem(game, 10), tables.minorPolicy, tables.majorPolicy);
    expect(json.mfPrediction).toEqual({ major: v.majorPolicy, minor: v.minorPolicy });
  }, 120_000);

  const bad: Array<[string[], RegExp]> = [
    [[], /--from: required/],
    [['--from', join(dir, 'nothing')], /--from: no policies\.bin in/],
    [['--players', '2,x'], /--players: expected comma-separated integers/],
    [['--players', '0'], /--players: expected comma-separated integers/],
    [['--episodes', '0'], /--episodes: expected a positive integer, got '0'/],
    [['--sampler', 'exact'], /--sampler: unknown sampler 'exact' \(one of: counts, players\)/],
    [['--seed', '1.5'], /--seed: expected a non-negative integer, got '1.5'/],
    [['--threads', 'many'], /--threads: expected a positive integer, got 'many'/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.join(' ') || 'a missing --from'}`, () => {
      const withFrom = args.includes('--from') || args.length === 0 ? args : ['--from', results, ...args];
      const res = runCli(['nplayer', ...withFrom, '--out', join(dir, 'never.json')]);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      const lines = res.stderr.trimEnd().split('\n');
      expect(lines, res.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^m3fg: /);
      expect(lines[0]).toMatch(message);
    });
  }
});
