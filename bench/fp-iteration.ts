// Seconds per FP iteration, one thread (inline executor), for the paper's games and Cyber, next to the
// reference code's figures (measured on a machine like this one; see the issue that set the targets).
// Usage: npm run bench [-- --quick]   (prints a table; writes bench/results/fp-iteration.json)

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
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/fp-iteration.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 1));
