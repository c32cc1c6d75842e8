// Cluster vs local: time per FP iteration (steady state: the first iteration, which ships every policy slice
// to the nodes and builds their Problems, is left out) and bytes moved per sweep.
//   npx tsx bench/cluster.ts [game] [bins] [iterations] [nodes] [threadsPerNode]
// defaults: cyber 60 4 2 1 — the "2 nodes x 1 thread vs 2 local threads". The nodes are real
// `m3fg worker` processes behind a real nats-server on loopback (deploy/local-cluster.sh), on this machine.

import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { LocalExecutor } from '../coordinator/local-executor.ts';
import { ClusterExecutor, type ClusterStats } from '../coordinator/cluster-executor.ts';
import type { Executor } from '../coordinator/executor.ts';
import { solve } from '../coordinator/solver.ts';
import { startCluster } from '../test/helpers/cluster.ts';

const [game = 'cyber', binsArg = '60', itArg = '4', nodesArg = '2', tpnArg = '1'] = process.argv.slice(2);
const bins = Number(binsArg);
const iterations = Math.max(2, Number(itArg));
const nodes = Number(nodesArg);
const threadsPerNode = Number(tpnArg);
const spec = { game, params: {}, bins };
const problem = new Problem(buildGame(builtinGames[game], {}), bins);
console.log(`${game} M=${bins}: ${problem.rows} rows, T=${problem.game.T}; ${iterations} FP iterations (the first not timed)`);

async function timed(executor: Executor, afterFirst?: () => void): Promise<number> {
  const stamps: number[] = [];
  await solve(spec, problem, executor, {
    algorithm: 'fp',
    iterations,
    onIteration: () => {
      stamps.push(performance.now());
      if (stamps.length === 1) afterFirst?.();
    },
  });
  await executor.close();
  return (stamps[stamps.length - 1] - stamps[0]) / (stamps.length - 1) / 1000;
}

const localThreads = nodes * threadsPerNode;
const local = await timed(new LocalExecutor({ threads: localThreads }));
console.log(`local  ${localThreads} thread(s):            ${local.toFixed(3)} s/iteration`);

const cluster = await startCluster(nodes, threadsPerNode);
try {
  const ex = new ClusterExecutor({ nats: cluster.coordinator, minNodes: nodes });
  let first: ClusterStats | undefined;
  const seconds = await timed(ex, () => (first = ex.stats()));
  const last = ex.stats();
  const steady = iterations - 1;
  console.log(`cluster ${nodes} node(s) x ${threadsPerNode} thread(s): ${seconds.toFixed(3)} s/iteration  (${(seconds / local).toFixed(2)}x local)`);
  for (const kind of ['flow', 'step'] as const) {
    const a = first!.traffic[kind];
    const b = last.traffic[kind];
    const mb = (x: number) => (x / steady / 2 ** 20).toFixed(1);
    console.log(
      `  ${kind.padEnd(4)} per sweep: ${mb(b.bytesOut - a.bytesOut)} MiB out, ${mb(b.bytesIn - a.bytesIn)} MiB in; ` +
        `wall ${((b.wallMs - a.wallMs) / steady / 1000).toFixed(3)} s, coordinator busy ${((b.coordinatorMs - a.coordinatorMs) / steady / 1000).toFixed(3)} s`,
    );
  }
  const f = first!.traffic.flow;
  console.log(`  first iteration's flow (ships every slice): ${(f.bytesOut / 2 ** 20).toFixed(1)} MiB out`);
} finally {
  cluster.stop();
}
