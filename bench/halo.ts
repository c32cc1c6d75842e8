// Row orders and shard cuts for the cluster, measured on real next-cell tables (docs/cluster.md, "Halo"):
// solves a few FP iterations inline, takes the next cells of the last flow, and counts for each order and
// shard count the value rows a sweep must move between nodes ((t, row, reader) triples), against
// replication (every node receives every row it does not own).
//   npx tsx bench/halo.ts [iterations]     (Cyber M = 60; Buffet L = 3 M = 60 with T = 20 to fit memory)
// Writes bench/results/halo.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import type { SolverTables, TableOptions } from '../shared/tables.ts';
import { cutShards, haloVolume, rowOrder, type RowOrderKind } from '../shared/cluster-partition.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';
import type { ProblemSpec } from '../coordinator/executor.ts';

/** The inline executor, keeping a handle on its tables (the bench reads the next cells). */
class Peek extends InlineExecutor {
  peeked?: SolverTables;
  protected override async openTables(spec: ProblemSpec, problem: Problem, options: TableOptions): Promise<SolverTables> {
    this.peeked = await super.openTables(spec, problem, options);
    return this.peeked;
  }
}

const iterations = Number(process.argv[2] ?? 3);
const ORDERS: RowOrderKind[] = ['lexicographic', 'cell-major', 'morton', 'morton-cell-major'];
const SHARDS = [2, 4, 16];
const cases: ProblemSpec[] = [
  { game: 'cyber', params: {}, bins: 60 },
  { game: 'buffet', params: { L: 3, T: 20 }, bins: 60 },
];
const out: unknown[] = [];
for (const spec of cases) {
  const problem = new Problem(buildGame(builtinGames[spec.game], spec.params), spec.bins);
  const { T, nX, nX0 } = problem.game;
  const ex = new Peek();
  const t0 = performance.now();
  await solve(spec, problem, ex, { algorithm: 'fp', iterations });
  const nextCell = ex.peeked!.nextCell;
  const valueRowBytes = (2 + 2 * nX) * 8;
  const triples = (T - 1) * problem.rows;
  console.log(`\n${spec.game} ${JSON.stringify(spec.params)} M=${spec.bins}: ${problem.rows} rows (nX0 = ${nX0}, ${problem.cells} cells), T = ${T}; next cells after ${iterations} FP iterations (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  console.log(`  halo per sweep, % of the (t, row) value rows [MiB]; replication = every row to every other node`);
  console.log(`  ${'order'.padEnd(20)}${SHARDS.map((s) => `${s} shards`.padStart(22)).join('')}`);
  for (const kind of ORDERS) {
    const order = rowOrder(kind, nX0, problem.cells, problem.grid.points, nX, spec.bins);
    const cells: string[] = [];
    for (const shards of SHARDS) {
      const { received, perShard } = haloVolume(problem, nextCell, T, order, cutShards(problem.rows, Array(shards).fill(1)));
      const pct = (100 * received) / triples;
      cells.push(`${pct.toFixed(1)}% [${((received * valueRowBytes) / 2 ** 20).toFixed(1)}]`.padStart(22));
      out.push({ game: spec.game, params: spec.params, bins: spec.bins, rows: problem.rows, T, order: kind, shards, received, maxPerShard: Math.max(...perShard), percentOfRows: pct, bytes: received * valueRowBytes });
    }
    console.log(`  ${kind.padEnd(20)}${cells.join('')}`);
  }
  const rep = SHARDS.map((s) => `${(100 * (s - 1)).toFixed(0)}% [${(((s - 1) * triples * valueRowBytes) / 2 ** 20).toFixed(1)}]`.padStart(22));
  console.log(`  ${'replication'.padEnd(20)}${rep.join('')}`);
  await ex.close();
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/halo.json', JSON.stringify(out, null, 1));
