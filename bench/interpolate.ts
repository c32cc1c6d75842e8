// Cost per row of the interpolated scheme against the nearest projection, one thread, on lattice grids:
//   step:  one backward step over all rows, each scheme's dispatched kernel (the generated, unrolled one where
//          the game's sizes allow it: backwardRange, interpolatedBackwardRange) and its plain loops (...Generic)
//   flow:  the next mean field of every (t, row): flowRange vs interpolatedFlowRange (the generated kernel of
//          flow-interpolated-unrolled.ts where the sizes allow it) and its plain loops (...Generic)
// Uniform random policies, random next values. Reports nanoseconds per row (step) and per (t, row) (flow) and
// the interpolated / nearest ratios. A shared, busy machine makes every figure noisy: compare ratios from one
// run, re-measure on a quiet machine before quoting absolute times.
// Usage: npm run bench:interpolate [-- --quick]   (writes bench/results/interpolate.json)

import { mkdirSync, writeFileSync } from 'node:fs';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { SeededRandom } from '../shared/random.ts';
import { allocateTables } from '../shared/tables.ts';
import { buildGame } from '../shared/validate.ts';
import { flowRange } from '../shared/kernels/flow.ts';
import { backwardRange, backwardRangeGeneric, backwardScratch } from '../shared/kernels/backward.ts';
import { LatticeInterpolator } from '../shared/kernels/interpolate.ts';
import { allocateInterpolatedNext, interpolatedFlowRange, interpolatedFlowRangeGeneric } from '../shared/kernels/flow-interpolated.ts';
import { interpolatedBackwardRange, interpolatedBackwardRangeGeneric, interpolatedScratch } from '../shared/kernels/backward-interpolated.ts';

const quick = process.argv.includes('--quick');
const budget = quick ? 0.3 : 1.5; // seconds per round of measurements
const repeats = quick ? 5 : 9; // the median of this many interleaved rounds

// the horizon only sets how many slices the tables hold; the cost per row does not depend on it
const cases: Array<[string, Record<string, number>, number]> = [
  ['sis', { T: 20 }, 120],
  ['sis', { T: 20 }, 2000],
  ['advertisement', { T: 20 }, 120],
  ['cyber', { T: 10 }, 20],
  ['cyber', { T: 10 }, 50],
];

/**
 * Median seconds per call of each fn. The functions are measured in interleaved rounds (each round runs every
 * fn for about `budget` / fns.length seconds), so a load change on a shared machine hits them alike.
 */
function time(fns: Array<() => void>): number[] {
  const per = fns.map((fn) => {
    fn(); // warm-up (JIT)
    const t0 = performance.now();
    fn();
    const once = Math.max(1e-6, (performance.now() - t0) / 1000);
    return Math.max(1, Math.round(budget / fns.length / once));
  });
  const samples: number[][] = fns.map(() => []);
  for (let k = 0; k < repeats; k++) {
    fns.forEach((fn, f) => {
      const s = performance.now();
      for (let i = 0; i < per[f]; i++) fn();
      samples[f].push((performance.now() - s) / 1000 / per[f]);
    });
  }
  return samples.map((xs) => xs.sort((a, b) => a - b)[xs.length >> 1]);
}

interface Row {
  game: string; bins: number; cells: number; rows: number;
  stepNearestNs: number; stepNearestGenericNs: number; stepInterpolatedNs: number; stepInterpolatedGenericNs: number;
  flowNearestNs: number; flowInterpolatedNs: number; flowInterpolatedGenericNs: number;
  stepRatio: number; stepRatioGeneric: number; flowRatio: number; flowGeneratedSpeedup: number;
}
const results: Row[] = [];
for (const [name, params, bins] of cases) {
  const game = buildGame(builtinGames[name], params);
  const problem = new Problem(game, bins, 'lattice');
  const { nU, nU0, T } = game;
  const rows = problem.rows;
  const rng = new SeededRandom(1);
  const tables = allocateTables(problem);
  for (const [pol, n] of [[tables.minorPolicy, nU], [tables.majorPolicy, nU0]] as const) {
    for (let i = 0; i < pol.length; i += n) rng.simplex(n, pol.subarray(i, i + n));
  }
  for (const v of [tables.minorBR, tables.minorEval, tables.majorBR, tables.majorEval]) for (let i = 0; i < v.length; i++) v[i] = rng.next();
  const next = allocateInterpolatedNext(problem);
  const ip = new LatticeInterpolator(problem.grid);
  const [flowNearest, flowInterp, flowInterpGeneric] = time([
    () => flowRange(problem, tables.minorPolicy, tables.nextCell, 0, T * rows),
    () => interpolatedFlowRange(problem, tables.minorPolicy, next, ip, 0, T * rows),
    () => interpolatedFlowRangeGeneric(problem, tables.minorPolicy, next, ip, 0, T * rows),
  ]).map((s) => s / (T * rows));
  // a step at every t in turn (each t has its own next tables), so the measurement is not one slice in cache
  const bs = backwardScratch(problem);
  const is = interpolatedScratch(problem);
  const sweep = (step: (t: number) => void) => () => {
    for (let t = T - 1; t >= 0; t--) step(t);
  };
  const [stepNearest, stepGeneric, stepInterp, stepInterpGeneric] = time([
    sweep((t) => backwardRange(problem, tables, t, 0, rows, bs)),
    sweep((t) => backwardRangeGeneric(problem, tables, t, 0, rows, bs)),
    sweep((t) => interpolatedBackwardRange(problem, tables, next, t, 0, rows, is)),
    sweep((t) => interpolatedBackwardRangeGeneric(problem, tables, next, t, 0, rows, is)),
  ]).map((s) => s / (T * rows));
  const row: Row = {
    game: name, bins, cells: problem.cells, rows,
    stepNearestNs: stepNearest * 1e9, stepNearestGenericNs: stepGeneric * 1e9,
    stepInterpolatedNs: stepInterp * 1e9, stepInterpolatedGenericNs: stepInterpGeneric * 1e9,
    flowNearestNs: flowNearest * 1e9, flowInterpolatedNs: flowInterp * 1e9, flowInterpolatedGenericNs: flowInterpGeneric * 1e9,
    stepRatio: stepInterp / stepNearest, stepRatioGeneric: stepInterpGeneric / stepGeneric, flowRatio: flowInterp / flowNearest,
    flowGeneratedSpeedup: flowInterpGeneric / flowInterp,
  };
  results.push(row);
  const ns = (x: number) => x.toFixed(1).padStart(8);
  console.log(
    `${name.padEnd(6)} M=${String(bins).padEnd(5)} rows=${String(rows).padEnd(7)} ` +
      `step ns/row: nearest ${ns(row.stepNearestNs)} (generic ${ns(row.stepNearestGenericNs)})  ` +
      `interpolated ${ns(row.stepInterpolatedNs)} (generic ${ns(row.stepInterpolatedGenericNs)})  ` +
      `ratio ${row.stepRatio.toFixed(2)} (generic/generic ${row.stepRatioGeneric.toFixed(2)})   ` +
      `flow ns/row: nearest ${ns(row.flowNearestNs)}  interpolated ${ns(row.flowInterpolatedNs)} (generic ${ns(row.flowInterpolatedGenericNs)})  ` +
      `ratio ${row.flowRatio.toFixed(2)}  generic/generated ${row.flowGeneratedSpeedup.toFixed(2)}`,
  );
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/interpolate.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, results }, null, 1));
