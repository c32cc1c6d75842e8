// Preview of the discretisation experiment (docs/discretisation.md), until the solver runs the interpolated
// scheme itself. Runs directly on the kernels, one thread, for the nearest projection (midpoint and lattice
// grids) and for barycentric interpolation (lattice), over M:
//   --mode fixed (default): a FIXED policy that does not depend on mu (--policy first|last|uniform, as
//     --init) is evaluated by each scheme (one flow, one backward sweep) and by the exact mean-field dynamics
//     mu_{t+1} = Phi(mu_t) without any grid, averaged over sampled major-state paths (Monte Carlo, seeded;
//     the +- is a 95% interval). This isolates the discretisation error: same policy, no finite-N noise;
//   --mode fp: greedy fictitious play (--iterations); each scheme's prediction for its final policies (their
//     values at mu0) against the exact mean-field value of the same policies played as a feedback on the
//     exact mean field (the N -> infinity limit of the N-player check, by Monte Carlo over major paths):
//     nearest looks the tables up at proj(mu_t), interpolate draws one vertex of mu_t with its weight (one
//     draw shared by all players: the scheme's chain) and plays that cell's policies.
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
import { policyCell } from '../shared/policy-cell.ts';

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
function sweeps(bins: number, scheme: Scheme, init: InitialPolicy, iterations: number, update: boolean) {
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
    // with update, one last sweep evaluates the final policies (the ones the exact value below is taken of)
    const last = update && n === iterations - 1;
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
      if (update && !last) updateRange(problem, tables, t, 0, rows, rule);
    }
    value = interp ? interpolatedStartValues(problem, tables, interp) : startValues(problem, tables);
  }
  const v = value!;
  const exploitability = v.majorBestResponse - v.majorPolicy + v.minorBestResponse - v.minorPolicy;
  return { value: v, exploitability, seconds: (performance.now() - start) / 1000, problem, tables, interp };
}

/** The policies the players use at (t, x0, mu): minor pi[x * nU + u], major pi0[u0]. */
type PolicyAt = (t: number, x0: number, mu: Float64Array, rng: SeededRandom) => { pi: ArrayLike<number>; pi0: ArrayLike<number>; piOff: number; pi0Off: number };

/** A policy that does not depend on mu: one-hot first / last, or uniform (as --init). */
function fixedPolicy(init: InitialPolicy): PolicyAt {
  const { nX, nU, nU0 } = buildGame(builtinGames[gameName]);
  const oneHot = (n: number) => Float64Array.from({ length: n }, (_, a) => (init === 'uniform' ? 1 / n : +(a === (init === 'first' ? 0 : n - 1))));
  const pi = new Float64Array(nX * nU);
  for (let x = 0; x < nX; x++) pi.set(oneHot(nU), x * nU);
  const fixed = { pi, pi0: oneHot(nU0), piOff: 0, pi0Off: 0 };
  return () => fixed;
}

/**
 * The policy tables of a scheme as a feedback on the exact mean field: nearest looks them up at proj(mu);
 * interpolate draws one vertex c_j of mu with probability w_j (one draw shared by everyone: the scheme's
 * chain) and uses that cell's policies.
 */
function tablePolicy(r: ReturnType<typeof sweeps>): PolicyAt {
  const { problem, tables, interp } = r;
  const { nX, nU, nU0 } = problem.game;
  const { rows, cells } = problem;
  const pc = policyCell(problem.grid, interp ? 'interpolate' : 'nearest');
  return (t, x0, mu, rng) => {
    const c = pc.cellAt(mu, 0, interp ? rng.next() : 0);
    const tr = t * rows + x0 * cells + c;
    return { pi: tables.minorPolicy, piOff: tr * nX * nU, pi0: tables.majorPolicy, pi0Off: tr * nU0 };
  };
}

/**
 * The exact mean-field value (no grid, N -> infinity) of a feedback policy: mu_{t+1} = Phi(mu_t) on the
 * simplex along sampled major paths; the mean and the 95% half-width of the major and minor values at
 * (nu0, mu0). The representative minor player's state is distributed as mu_t, so her value is the sum of
 * sum_x mu_t(x) sum_u pi(u | x) r(x, u, x0, u0, mu_t).
 */
function exactValue(policyAt: PolicyAt, nPaths: number) {
  const game = buildGame(builtinGames[gameName]);
  const { nX, nU, nX0, nU0, T } = game;
  const rng = new SeededRandom(20240101);
  const draw = (p: ArrayLike<number>, off: number, n: number) => {
    const z = rng.next();
    let acc = 0;
    for (let i = 0; i < n - 1; i++) if (z < (acc += p[off + i])) return i;
    return n - 1;
  };
  const mu = new Float64Array(nX), mu1 = new Float64Array(nX), P = new Float64Array(nX), P0 = new Float64Array(nX0);
  const stats = { major: [0, 0], minor: [0, 0] };
  for (let k = 0; k < nPaths; k++) {
    mu.set(game.mu0);
    let x0 = draw(game.nu0, 0, nX0);
    let major = 0, minor = 0;
    for (let t = 0; t < T; t++) {
      const { pi, pi0, piOff, pi0Off } = policyAt(t, x0, mu, rng);
      const u0 = draw(pi0, pi0Off, nU0);
      major += game.majorReward(x0, u0, mu);
      mu1.fill(0);
      for (let x = 0; x < nX; x++) for (let u = 0; u < nU; u++) {
        const p = pi[piOff + x * nU + u];
        if (p === 0) continue;
        minor += mu[x] * p * game.minorReward(x, u, x0, u0, mu);
        game.minorKernel(x, u, x0, u0, mu, P, 0);
        for (let y = 0; y < nX; y++) mu1[y] += mu[x] * p * P[y];
      }
      game.majorKernel(x0, u0, mu, P0, 0);
      x0 = draw(P0, 0, nX0);
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

const pm = (v: { mean: number; half: number }) => `${v.mean.toFixed(3)} +- ${v.half.toFixed(3)}`;

const schemes: Scheme[] = ['nearest-midpoint', 'nearest-lattice', 'interpolate-lattice'];
const results: Array<Record<string, number | string>> = [];
if (mode === 'fixed') {
  const exact = exactValue(fixedPolicy(policy), paths);
  console.log(`${gameName}, fixed policy '${policy}': exact mean-field value (${paths} major paths)  major ${pm(exact.major)}  minor ${pm(exact.minor)}`);
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
  console.log(`${gameName}, greedy FP, ${iterations} iterations: each scheme's prediction for its final policies, and their exact mean-field value (${paths} major paths)`);
  for (const bins of binsList) {
    for (const scheme of schemes) {
      const r = sweeps(bins, scheme, 'first', iterations, true);
      const exact = exactValue(tablePolicy(r), paths);
      const v = r.value;
      results.push({
        scheme, bins, major: v.majorPolicy, minor: v.minorPolicy, exploitability: r.exploitability, seconds: r.seconds,
        exactMajor: exact.major.mean, exactMajorHalfWidth: exact.major.half, exactMinor: exact.minor.mean, exactMinorHalfWidth: exact.minor.half,
      });
      console.log(
        `M=${String(bins).padEnd(4)} ${scheme.padEnd(20)} major ${v.majorPolicy.toFixed(3).padStart(9)} vs exact ${pm(exact.major).padStart(18)}` +
          `   minor ${v.minorPolicy.toFixed(3).padStart(8)} vs exact ${pm(exact.minor).padStart(17)}   exploitability ${r.exploitability.toExponential(2)}`,
      );
    }
  }
}
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/discretisation-preview-${gameName}-${mode}.json`;
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), game: gameName, mode, policy, paths, iterations, results }, null, 1));
