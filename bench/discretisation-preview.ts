// Preview of the discretisation experiment (docs/discretisation.md), until the solver runs the interpolated
// scheme itself. Runs directly on the kernels, one thread, for the nearest projection (midpoint and lattice
// grids) and for barycentric interpolation (lattice), over M:
//   --mode fixed (default): a FIXED policy that does not depend on mu (--policy first|last|uniform, as
//     --init) is evaluated by each scheme (one flow, one backward sweep) and by the exact mean-field dynamics
//     mu_{t+1} = Phi(mu_t) without any grid, averaged over sampled major-state paths (Monte Carlo, seeded;
//     the +- is a 95% interval). This isolates the discretisation error: same policy, no finite-N noise;
//   --mode fp: greedy fictitious play (--iterations) and the mean-field prediction of each scheme (the policy
//     values at mu0 after the last iteration). Each scheme finds its own policies, so these numbers mix the
//     discretisation error with differences between the equilibria found; no N-player simulation here.
// Usage: npx tsx bench/discretisation-preview.ts [--game sis] [--mode fixed|fp] [--policy first] [--paths 100000]
//        [--iterations 1000] [--bins 15,30,60,120]   (writes bench/results/discretisation-preview-<game>-<mode>.json)

import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import type { GridKind } from '../shared/grid.ts';
import { allocateTables, initPolicies, type InitialPolicy } from '../shared/tables.ts';
import { SeededRandom } from '../shared/random.ts';
import { buildGame } from '../shared/validate.ts';
import { flowRange } from '../shared/kernels/flow.ts';
import { backwardRange, backwardScratch } from '../shared/kernels/backward.ts';
import { startValues, type StartValues } from '../shared/kernels/exploitability.ts';
import { updateRange } from '../shared/kernels/update.ts';
import { LatticeInterpolator } from '../shared/kernels/interpolate.ts';
import { allocateInterpolatedNext, interpolatedFlowRange } from '../shared/kernels/flow-interpolated.ts';
import { interpolatedBackwardRange, interpolatedScratch } from '../shared/kernels/backward-interpolated.ts';
import { interpolatedStartValues } from '../shared/kernels/start-interpolated.ts';

const { values: args } = parseArgs({
  options: {
    game: { type: 'string', default: 'sis' },
    mode: { type: 'string', default: 'fixed' },
    policy: { type: 'string', default: 'first' },
    paths: { type: 'string', default: '100000' },
    iterations: { type: 'string', default: '1000' },
    bins: { type: 'string', default: '15,30,60,120' },
  },
});
const mode = args.mode!;
const policy = args.policy! as InitialPolicy;
const paths = Number(args.paths);
const gameName = args.game!;
const iterations = Number(args.iterations);
const binsList = args.bins!.split(',').map(Number);
const badArgs =
  !builtinGames[gameName] || !['fixed', 'fp'].includes(mode) || !['first', 'last', 'uniform'].includes(policy) ||
  !(iterations >= 1) || !(paths >= 1) || binsList.some((b) => !(Number.isInteger(b) && b >= 1));
if (badArgs) {
  console.error('m3fg: usage: tsx bench/discretisation-preview.ts [--game sis|buffet|advertisement|cyber] [--mode fixed|fp] [--policy first|last|uniform] [--paths P] [--iterations K] [--bins 15,30,60]');
  process.exit(2);
}

type Scheme = 'nearest-midpoint' | 'nearest-lattice' | 'interpolate-lattice';

/**
 * `iterations` sweeps of greedy FP from the initial policy `init` (with `update` false: one evaluation of the
 * fixed initial policy); the values at mu0 of the last sweep's input policies.
 */
function sweeps(bins: number, scheme: Scheme, init: InitialPolicy, iterations: number, update: boolean): { value: StartValues; exploitability: number; seconds: number } {
  const game = buildGame(builtinGames[gameName]);
  const grid: GridKind = scheme === 'nearest-midpoint' ? 'midpoint' : 'lattice';
  const problem = new Problem(game, bins, grid);
  const { T, nX } = game;
  const rows = problem.rows;
  const tables = allocateTables(problem);
  initPolicies(problem, tables, init);
  const interp = scheme === 'interpolate-lattice' ? new LatticeInterpolator(problem.grid) : undefined;
  const next = interp ? allocateInterpolatedNext(problem) : undefined;
  const bs = backwardScratch(problem);
  const is = interpolatedScratch(problem);
  let value: StartValues | undefined;
  const start = performance.now();
  for (let n = 0; n < iterations; n++) {
    if (interp) interpolatedFlowRange(problem, tables.minorPolicy, next!, interp, 0, T * rows);
    else flowRange(problem, tables.minorPolicy, tables.nextCell, 0, T * rows);
    const terminal = T & 1;
    for (const [v, w] of [[tables.majorBR, 1], [tables.majorEval, 1], [tables.minorBR, nX], [tables.minorEval, nX]] as const) {
      v.fill(0, terminal * rows * w, (terminal + 1) * rows * w);
    }
    const rule = { kind: 'average', iteration: n } as const;
    for (let t = T - 1; t >= 0; t--) {
      if (interp) interpolatedBackwardRange(problem, tables, next!, t, 0, rows, is);
      else backwardRange(problem, tables, t, 0, rows, bs);
      if (update) updateRange(problem, tables, t, 0, rows, rule);
    }
    value = interp ? interpolatedStartValues(problem, tables, interp) : startValues(problem, tables);
  }
  const v = value!;
  const exploitability = v.majorBestResponse - v.majorPolicy + v.minorBestResponse - v.minorPolicy;
  return { value: v, exploitability, seconds: (performance.now() - start) / 1000 };
}

/**
 * The exact mean-field value of a mu-independent policy: mu_{t+1} = Phi(mu_t) on the simplex (no grid) along
 * sampled major paths; returns the mean and the 95% half-width of the major and minor values at (nu0, mu0).
 */
function exactFixedPolicy(init: InitialPolicy, nPaths: number) {
  const game = buildGame(builtinGames[gameName]);
  const { nX, nU, nX0, nU0, T } = game;
  const oneHot = (n: number) => Float64Array.from({ length: n }, (_, a) => (init === 'uniform' ? 1 / n : +(a === (init === 'first' ? 0 : n - 1))));
  const pi = oneHot(nU);
  const pi0 = oneHot(nU0);
  const rng = new SeededRandom(20240101);
  const draw = (p: ArrayLike<number>, n: number) => {
    const z = rng.next();
    let acc = 0;
    for (let i = 0; i < n - 1; i++) if (z < (acc += p[i])) return i;
    return n - 1;
  };
  const mu = new Float64Array(nX), mu1 = new Float64Array(nX), P = new Float64Array(nX), P0 = new Float64Array(nX0);
  const stats = { major: [0, 0], minor: [0, 0] };
  for (let k = 0; k < nPaths; k++) {
    mu.set(game.mu0);
    let x0 = draw(game.nu0, nX0);
    let major = 0, minor = 0;
    for (let t = 0; t < T; t++) {
      const u0 = draw(pi0, nU0);
      major += game.majorReward(x0, u0, mu);
      mu1.fill(0);
      for (let x = 0; x < nX; x++) for (let u = 0; u < nU; u++) {
        // the representative minor player's state is distributed as mu_t
        minor += mu[x] * pi[u] * game.minorReward(x, u, x0, u0, mu);
        game.minorKernel(x, u, x0, u0, mu, P, 0);
        for (let y = 0; y < nX; y++) mu1[y] += mu[x] * pi[u] * P[y];
      }
      game.majorKernel(x0, u0, mu, P0, 0);
      x0 = draw(P0, nX0);
      mu.set(mu1);
    }
    stats.major[0] += major; stats.major[1] += major * major;
    stats.minor[0] += minor; stats.minor[1] += minor * minor;
  }
  const summary = ([s1, s2]: number[]) => {
    const mean = s1 / nPaths;
    return { mean, half: 1.96 * Math.sqrt(Math.max(0, s2 / nPaths - mean * mean) / nPaths) };
  };
  return { major: summary(stats.major), minor: summary(stats.minor) };
}

const schemes: Scheme[] = ['nearest-midpoint', 'nearest-lattice', 'interpolate-lattice'];
const results: Array<Record<string, number | string>> = [];
if (mode === 'fixed') {
  const exact = exactFixedPolicy(policy, paths);
  console.log(`${gameName}, fixed policy '${policy}': exact mean-field value (${paths} major paths)` +
    `  major ${exact.major.mean.toFixed(3)} +- ${exact.major.half.toFixed(3)}  minor ${exact.minor.mean.toFixed(3)} +- ${exact.minor.half.toFixed(3)}`);
  results.push({ scheme: 'exact', bins: 0, major: exact.major.mean, majorHalfWidth: exact.major.half, minor: exact.minor.mean, minorHalfWidth: exact.minor.half });
  for (const bins of binsList) {
    for (const scheme of schemes) {
      const r = sweeps(bins, scheme, policy, 1, false);
      const dMajor = r.value.majorPolicy - exact.major.mean, dMinor = r.value.minorPolicy - exact.minor.mean;
      results.push({ scheme, bins, major: r.value.majorPolicy, minor: r.value.minorPolicy, majorError: dMajor, minorError: dMinor });
      console.log(
        `M=${String(bins).padEnd(4)} ${scheme.padEnd(20)} major ${r.value.majorPolicy.toFixed(3).padStart(10)} (error ${dMajor.toFixed(3).padStart(8)})` +
          `  minor ${r.value.minorPolicy.toFixed(3).padStart(10)} (error ${dMinor.toFixed(3).padStart(8)})`,
      );
    }
  }
} else {
  console.log(`${gameName}, greedy FP, ${iterations} iterations: mean-field predictions (policy values at mu0)`);
  for (const bins of binsList) {
    for (const scheme of schemes) {
      const r = sweeps(bins, scheme, 'first', iterations, true);
      results.push({ scheme, bins, major: r.value.majorPolicy, minor: r.value.minorPolicy, exploitability: r.exploitability, seconds: r.seconds });
      console.log(
        `M=${String(bins).padEnd(4)} ${scheme.padEnd(20)} major ${r.value.majorPolicy.toFixed(3).padStart(10)}  minor ${r.value.minorPolicy.toFixed(3).padStart(10)}` +
          `  exploitability ${r.exploitability.toExponential(2)}  (${r.seconds.toFixed(1)} s)`,
      );
    }
  }
}
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/discretisation-preview-${gameName}-${mode}.json`;
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), game: gameName, mode, policy, paths, iterations, results }, null, 1));
