// What splitting the grid over nodes costs in code alone, with no process or core contention: a coordinator
// and N nodes in this one process and on this one JS thread (InProcessHub, `pool: false`), so the wall time
// of an FP iteration is the sum of every party's work. 1 node and N nodes alternate, several rounds.
// Usage: npx tsx bench/inprocess-split.ts [game=cyber] [bins=60] [nodes=2] [rounds=3] [iterations=3]
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { InProcessHub } from '../shared/cluster-transport.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';
import { ShardNode } from '../worker/shard-node.ts';
import { ClusterExecutor } from '../coordinator/cluster-executor.ts';
import { solve } from '../coordinator/solver.ts';
import { iterationClock } from './iteration-clock.ts';

const [game = 'cyber', binsArg = '60', nodesArg = '2', roundsArg = '3', itArg = '3'] = process.argv.slice(2);
const bins = Number(binsArg);
const iterations = Math.max(2, Number(itArg));
const problem = new Problem(buildGame(builtinGames[game as keyof typeof builtinGames], {}), bins, 'midpoint', 'nearest');

async function run(n: number): Promise<{ wall: number; cpu: number }> {
  const hub = new InProcessHub();
  const nodes = Array.from({ length: n }, (_, i) => new ShardNode({ transport: hub.join(`node-${i}`), threads: 1, heartbeatMs: 1000, pool: false }));
  for (const node of nodes) node.start();
  const ex = new ClusterExecutor({ transport: hub.join(COORDINATOR), minNodes: n, settleMs: 0, waitForNodesMs: 10_000, recut: false });
  const clock = iterationClock();
  try {
    await solve({ game, params: {}, bins }, problem, ex, { algorithm: 'fp', iterations, onIteration: clock.onIteration });
  } finally {
    await ex.close();
    for (const node of nodes) await node.stop();
  }
  return clock.perIteration();
}

const n = Number(nodesArg);
console.log(`${game} M=${bins}: ${problem.rows} rows; 1 node and ${n} nodes in one process, one JS thread; ${iterations} FP iterations, the first not timed`);
const ratios: number[] = [];
for (let r = 0; r < Number(roundsArg); r++) {
  const a = await run(1);
  const b = await run(n);
  const a2 = await run(1);
  const base = (a.wall + a2.wall) / 2;
  ratios.push(b.wall / base);
  console.log(`round ${r + 1}: 1 node ${a.wall.toFixed(3)} / ${a2.wall.toFixed(3)} s, ${n} nodes ${b.wall.toFixed(3)} s per iteration (process CPU ${a.cpu.toFixed(3)}, ${b.cpu.toFixed(3)}): ${n} nodes / 1 node ${(b.wall / base).toFixed(3)}x`);
}
ratios.sort((x, y) => x - y);
console.log(`median ${n} nodes / 1 node, same thread: ${ratios[Math.floor(ratios.length / 2)].toFixed(3)}x`);
