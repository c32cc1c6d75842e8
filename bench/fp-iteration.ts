// Seconds per FP iteration, one thread (inline executor), for the paper's games and Cyber, next to the
// reference code's figures (measured on a machine like this one; see the issue that set the targets).
// Then the interpolated scheme (--projection interpolate) against the nearest projection on the same lattice
// grid: whole FP iterations, nanoseconds per (t, row), the two schemes measured in interleaved rounds of one
// run (a load change on a shared machine hits both alike), and their ratio.
// Usage: npm run bench [-- --quick]   (prints tables; writes bench/results/fp-iteration.json)

import { mkdirSync, writeFileSync } from 'node:fs';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';

const quick = process.argv.includes('--quick');

// Reference seconds per iteration (paper's code, numpy, same machine kind), where known.
const REFERENCE: Record<string, number> = {
  'sis/20': 0.28,
  'sis/50': 0.94,
  'advertisement/20': 0.25,
  'advertisement/50': 1.1,
  'buffet/20': 4.6,
};
const cases: Array<[string, number]> = [
  ['sis', 20], ['sis', 50], ['sis', 120],
  ['buffet', 20], ['buffet', 50], ['buffet', 120],
  ['advertisement', 20], ['advertisement', 50], ['advertisement', 120],
  ['cyber', 20], ['cyber', 50],
];

interface Row { game: string; bins: number; cells: number; rows: number; setupSeconds: number; iterations: number; secondsPerIteration: number; reference?: number; speedup?: number }
const results: Row[] = [];
for (const [name, bins] of cases) {
  const family = builtinGames[name];
  const t0 = performance.now();
  const problem = new Problem(buildGame(family), bins);
  const setupSeconds = (performance.now() - t0) / 1000;
  const spec = { game: name, params: {}, bins };
  // warm up the JIT on a short run, then time one run long enough to last about `budget` seconds: the steady
  // state of the solver loop (one executor, tables allocated once)
  const budget = quick ? 0.3 : 2;
  const warm = performance.now();
  const warmIterations = 5;
  await solve(spec, problem, new InlineExecutor(), { algorithm: 'fp', iterations: warmIterations });
  const guess = (performance.now() - warm) / 1000 / warmIterations;
  const iterations = Math.max(3, Math.min(1000, Math.round(budget / guess)));
  const start = performance.now();
  await solve(spec, problem, new InlineExecutor(), { algorithm: 'fp', iterations });
  const elapsed = (performance.now() - start) / 1000;
  const secondsPerIteration = elapsed / iterations;
  const reference = REFERENCE[`${name}/${bins}`];
  const row: Row = { game: name, bins, cells: problem.cells, rows: problem.rows, setupSeconds, iterations, secondsPerIteration, reference, speedup: reference ? reference / secondsPerIteration : undefined };
  results.push(row);
  console.log(
    `${name.padEnd(14)} M=${String(bins).padEnd(4)} cells=${String(problem.cells).padEnd(7)} ` +
      `${(secondsPerIteration * 1000).toFixed(3).padStart(9)} ms/iteration` +
      (reference ? `   reference ${reference} s -> ${Math.round(reference / secondsPerIteration)}x` : ''),
  );
}

// ---- interpolate vs nearest, lattice grid ----
const projectionCases: Array<[string, number]> = quick
  ? [['sis', 120], ['cyber', 10]]
  : [['sis', 120], ['sis', 500], ['advertisement', 120], ['buffet', 20], ['cyber', 20]];
interface ProjectionRow { game: string; bins: number; rows: number; T: number; iterations: number; nearestNsPerRow: number; interpolateNsPerRow: number; ratio: number }
const projections: ProjectionRow[] = [];
console.log('\nlattice grid, FP iteration per (t, row): nearest vs interpolate (interleaved rounds, median)');
for (const [name, bins] of projectionCases) {
  const game = buildGame(builtinGames[name]);
  const runs = (['nearest', 'interpolate'] as const).map((projection) => {
    const problem = new Problem(game, bins, 'lattice', projection);
    const spec = { game: name, params: {}, bins, projection };
    return { problem, once: (iterations: number) => solve(spec, problem, new InlineExecutor(), { algorithm: 'fp', iterations }) };
  });
  const { rows } = runs[0].problem;
  // warm-up, and an iteration count that lasts about `budget` seconds per round for the slower scheme
  const w0 = performance.now();
  for (const r of runs) await r.once(3);
  const guess = (performance.now() - w0) / 1000 / 6;
  const iterations = Math.max(2, Math.min(500, Math.round((quick ? 0.3 : 1) / guess / 1.5)));
  const samples: number[][] = [[], []];
  for (let round = 0; round < (quick ? 3 : 5); round++) {
    for (let k = 0; k < 2; k++) {
      const s0 = performance.now();
      await runs[k].once(iterations);
      samples[k].push((performance.now() - s0) / 1000 / iterations);
    }
  }
  const median = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  const perRow = samples.map((a) => (median(a) / (game.T * rows)) * 1e9);
  const row: ProjectionRow = { game: name, bins, rows, T: game.T, iterations, nearestNsPerRow: perRow[0], interpolateNsPerRow: perRow[1], ratio: perRow[1] / perRow[0] };
  projections.push(row);
  console.log(
    `${name.padEnd(14)} M=${String(bins).padEnd(4)} rows=${String(rows).padEnd(7)} ` +
      `nearest ${perRow[0].toFixed(0).padStart(6)} ns/row   interpolate ${perRow[1].toFixed(0).padStart(6)} ns/row   ratio ${row.ratio.toFixed(2)}`,
  );
}

mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/fp-iteration.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, results, projections }, null, 1));
