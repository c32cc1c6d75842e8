// A node's halo plans for one sweep (haloPlanAt for t = 0..T-2, shared/cluster-partition.ts), with and without
// the shard's cell range (ownCells): milliseconds per sweep, the median of 7, for each shard of an even 2-way
// cut, on the next cells after 3 FP iterations.
//   npx tsx bench/halo-plan.ts [game] [bins]     (default cyber 60)
import { median, tablesAfter } from './cluster-profile.ts';
import { cutShards, haloPlanAt } from '../shared/cluster-partition.ts';
import { shardOfCell } from '../shared/cluster-messages.ts';

const [game = 'cyber', binsArg = '60'] = process.argv.slice(2);
const { problem, tables } = await tablesAfter(game, Number(binsArg), 3);
const { rows, cells } = problem;
const { T, nX0, nX } = problem.game;
const [next, vertices] = problem.projection === 'interpolate' ? [tables.nextVertex, nX] : [tables.nextCell, 1];
const bounds = cutShards(cells, [1, 1]);
const owner = new Int32Array(rows);
for (let r = 0; r < rows; r++) owner[r] = shardOfCell(bounds, r % cells);
const mark = new Uint8Array(rows);
for (let k = 0; k + 1 < bounds.length; k++) {
  const own: number[] = [];
  for (let x0 = 0; x0 < nX0; x0++) for (let c = bounds[k]; c < bounds[k + 1]; c++) own.push(x0 * cells + c);
  const ownRows = Int32Array.from(own);
  const line: string[] = [];
  for (const ownCells of [undefined, [bounds[k], bounds[k + 1]] as const]) {
    const times: number[] = [];
    let found = 0;
    for (let rep = 0; rep < 7; rep++) {
      const t0 = performance.now();
      for (let t = 0; t < T - 1; t++) for (const list of haloPlanAt(problem, next, t, ownRows, owner, k, mark, vertices, ownCells).from.values()) found += list.length;
      times.push(performance.now() - t0);
    }
    line.push(`${ownCells ? 'with' : 'without'} its cell range ${median(times).toFixed(1)} ms (${found / 7} halo rows)`);
  }
  console.log(`${game} M=${binsArg}, shard ${k} of cells [${bounds[k]}, ${bounds[k + 1]}): ${line.join(', ')}`);
}
