// Cluster vs one machine, and a scaling model (docs/cluster.md, "Scaling model").
//   npm run bench:cluster -- [game] [bins] [iterations] [nodes] [threadsPerNode]
// defaults: cyber 60 3 2 1 (the issue's "2 nodes x 1 thread vs 2 local threads"). --cluster-only skips the
// local runs and the model (memory checks at sizes where a local run would not fit next to the cluster);
// --no-model skips the 1-node run of the model (slow at M = 120: the 16-core check
// `cyber 120 3 4 4 --no-model` is the cluster and one 16-thread process only). The nodes are real
// `m3fg worker` processes behind a real nats-server on loopback (deploy/local-cluster.sh), on this machine.
// Writes bench/results/cluster.json: game, bins, nodes, threadsPerNode, localSecondsPerIteration,
// clusterSecondsPerIteration, bytesPerIteration (all parties' NATS payload bytes, frames included, per
// iteration: the whole run's bytes / iterations; there is no warm-up shipping in the owner-computes
// design), coordinatorPeakRssBytes, nodePeakRssBytes, and the model's inputs and predictions.
// The cluster runs first, so the coordinator's peak RSS is not the local run's.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { valueRowWidth } from '../shared/cluster-messages.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { LocalExecutor } from '../coordinator/local-executor.ts';
import { ClusterExecutor } from '../coordinator/cluster-executor.ts';
import type { Executor } from '../coordinator/executor.ts';
import { solve } from '../coordinator/solver.ts';
import { startCluster, type LocalCluster } from '../test/helpers/cluster.ts';
import { describeNodeTrace, type NodeTrace } from '../shared/cluster-node-trace.ts';

const clusterOnly = process.argv.includes('--cluster-only');
const noModel = process.argv.includes('--no-model');
const [game = 'cyber', binsArg = '60', itArg = '3', nodesArg = '2', tpnArg = '1'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const bins = Number(binsArg);
const iterations = Math.max(2, Number(itArg));
const nodes = Number(nodesArg);
const threadsPerNode = Number(tpnArg);
const spec = { game, params: {}, bins };
// the coordinator keeps no model rows (as `m3fg solve --nats`); the local runs below need them all
let problem = new Problem(buildGame(builtinGames[game], {}), bins, 'midpoint', 'nearest', { cells: [0, 0] });
const { T, nX } = problem.game;
const R = problem.rows;
console.log(`${game} M=${bins}: ${R} rows, T=${T}; ${iterations} FP iterations, the first not timed`);

/** Seconds per iteration after the first. */
async function timed(executor: Executor): Promise<number> {
  const stamps: number[] = [];
  await solve(spec, problem, executor, { algorithm: 'fp', iterations, onIteration: () => void stamps.push(performance.now()) });
  return (stamps[stamps.length - 1] - stamps[0]) / (stamps.length - 1) / 1000;
}

/** Where each node's iteration time went (its heartbeat's counters: shared/cluster-node-trace.ts). */
function printTraces(traces: Array<{ node: string; trace?: NodeTrace }>): void {
  for (const { node, trace } of traces) if (trace) console.log(`  ${describeNodeTrace(node, trace)}`);
}

/** One-way latency of a small message through the server: median round trip / 2 (s). */
async function latency(cluster: LocalCluster): Promise<number> {
  const a = await connect({ servers: cluster.url, user: cluster.coordinator.user, pass: cluster.coordinator.pass });
  const b = await connect({ servers: cluster.url, user: 'node-16', pass: cluster.credentials.M3FG_NODE_16_PASS });
  b.subscribe('m3fg.to.node-16.from.*', { callback: (_e, m) => b.publish('m3fg.to.coord.from.node-16', m.data) });
  const rtts: number[] = [];
  let done: () => void = () => {};
  let t0 = 0;
  a.subscribe('m3fg.to.coord.from.*', {
    callback: () => {
      rtts.push(performance.now() - t0);
      done();
    },
  });
  await a.flush();
  await b.flush();
  const payload = new Uint8Array(1024);
  for (let i = 0; i < 200; i++) {
    const got = new Promise<void>((r) => (done = r));
    t0 = performance.now();
    a.publish('m3fg.to.node-16.from.coord', payload);
    await got;
  }
  await a.close();
  await b.close();
  rtts.sort((x, y) => x - y);
  return rtts[rtts.length >> 1] / 2 / 1000;
}

const cluster = await startCluster(nodes, threadsPerNode);
let clusterSeconds: number;
let bytesPerIteration: number;
let peerBytesPerIteration: number;
let nodePeakRssBytes: number[];
let L: number;
let nodeTraces: Array<{ node: string; trace?: NodeTrace }> = [];
try {
  L = await latency(cluster);
  const ex = new ClusterExecutor({ nats: cluster.coordinator, minNodes: nodes, maxNodes: nodes });
  clusterSeconds = await timed(ex);
  await new Promise((r) => setTimeout(r, 1_200)); // the nodes' byte counts travel with their heartbeats
  const s = ex.stats();
  await ex.close();
  const nodeSent = s.nodeReports.reduce((a, n) => a + n.sent, 0);
  bytesPerIteration = (nodeSent + s.coordinatorBytes.sent) / iterations;
  // node-to-node: what nodes sent minus what the coordinator received from them
  peerBytesPerIteration = (nodeSent - s.coordinatorBytes.received) / iterations;
  nodePeakRssBytes = s.nodeReports.map((n) => n.peakRss);
  nodeTraces = s.nodeReports.map((n) => ({ node: n.node, trace: n.trace }));
} finally {
  cluster.stop();
}
const coordinatorPeakRssBytes = process.resourceUsage().maxRSS * 1024;
console.log(`cluster ${nodes} node(s) x ${threadsPerNode} thread(s): ${clusterSeconds.toFixed(3)} s/iteration; ${(bytesPerIteration / 2 ** 20).toFixed(2)} MiB/iteration (${(peerBytesPerIteration / 2 ** 20).toFixed(2)} node to node)`);
printTraces(nodeTraces);
console.log(`  peak RSS: coordinator ${(coordinatorPeakRssBytes / 2 ** 20).toFixed(0)} MiB, nodes ${nodePeakRssBytes.map((b) => (b / 2 ** 20).toFixed(0)).join(', ')} MiB; message latency ${(L * 1e3).toFixed(3)} ms`);

if (clusterOnly) {
  mkdirSync('bench/results', { recursive: true });
  const only = { game, bins, rows: R, T, iterations, nodes, threadsPerNode, clusterSecondsPerIteration: clusterSeconds, bytesPerIteration, peerBytesPerIteration, coordinatorPeakRssBytes, nodePeakRssBytes };
  writeFileSync(`bench/results/cluster-${game}-${bins}-${nodes}x${threadsPerNode}.json`, JSON.stringify(only, null, 1));
  console.log(`wrote bench/results/cluster-${game}-${bins}-${nodes}x${threadsPerNode}.json`);
  process.exit(0); // flow control only: nothing is left open here
}
const localThreads = nodes * threadsPerNode;
problem = new Problem(buildGame(builtinGames[game], {}), bins);
/** Seconds per iteration of a local executor, closed afterwards (an open pool would keep the bench alive). */
async function timedLocal(executor: Executor): Promise<number> {
  try {
    return await timed(executor);
  } finally {
    await executor.close();
  }
}
const local = await timedLocal(localThreads > 1 ? new LocalExecutor({ threads: localThreads }) : new InlineExecutor());
console.log(`local ${localThreads} thread(s): ${local.toFixed(3)} s/iteration (cluster/local ${(clusterSeconds / local).toFixed(2)}x)`);
const base = { game, bins, rows: R, T, iterations, nodes, threadsPerNode, localSecondsPerIteration: local, clusterSecondsPerIteration: clusterSeconds, bytesPerIteration, peerBytesPerIteration, coordinatorPeakRssBytes, nodePeakRssBytes, nodeTraces };
if (noModel) {
  // the device check (`cyber 120 3 4 4 --no-model`): cluster vs one process with as many threads, nothing else
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/cluster.json', JSON.stringify(base, null, 1));
  console.log('wrote bench/results/cluster.json');
  process.exit(0); // flow control only: nothing is left open here
}
// Per-step overhead of a node over a plain thread (dispatching the step to its pool, gathering and
// scattering rows, the event loops of node and server): one node of the same cluster, no halo, minus one
// thread's compute, per step. Measured, not derived: on a loaded machine every wake-up costs milliseconds.
let oneNode: number;
let stepShare = 1;
let cpuOneNode: number | undefined; // CPU seconds per iteration of the 1-node run (its trace)
{
  const again = await startCluster(1, threadsPerNode);
  try {
    const ex = new ClusterExecutor({ nats: again.coordinator, minNodes: 1, maxNodes: 1 });
    oneNode = await timed(ex);
    await new Promise((r) => setTimeout(r, 1_200));
    const s1 = ex.stats();
    console.log(`cluster 1 node x ${threadsPerNode} thread(s): ${oneNode.toFixed(3)} s/iteration`);
    printTraces(s1.nodeReports.map((n) => ({ node: n.node, trace: n.trace })));
    const t1 = s1.nodeReports[0]?.trace;
    if (t1 && t1.iterationMs > 0) stepShare = t1.stepMs / t1.iterationMs;
    if (t1 && t1.iterations > 0) cpuOneNode = t1.iterationCpuMs / t1.iterations / 1000;
    await ex.close();
  } finally {
    again.stop();
  }
}
// c: CPU seconds per (t, row) of the 1-node run (flow + step + update, all its threads together), and o its
// wall time beyond that per step. Both from one run: inline runs of Cyber M = 60 on this shared machine took
// 1.8 to 3.2 s per iteration within one hour, and o = 1-node time minus an inline time was noise.
// (no trace: all of its wall time on all its threads, o = 0)
const cpu1 = cpuOneNode ?? oneNode * threadsPerNode;
const c = cpu1 / (T * R);
const o = Math.max(0, (oneNode - cpu1 / threadsPerNode) / T);
// The early part of a step: the fraction of a node's rows that read no halo row (the nodes' traces of the
// cluster run above); elsewhere lateFactor * h(N) of the rows read one (the late rows are the rows next to the
// shard's boundary, about lateFactor times the rows received).
const traced = nodeTraces.flatMap((n) => (n.trace && n.trace.stepRows > 0 ? [n.trace] : []));
const lateHere = traced.length > 0 ? traced.reduce((a, t) => a + t.lateRows / t.stepRows, 0) / traced.length : 0.5;

// Scaling model: per iteration, the flow (no communication) and T steps on the critical path. A step costs
// the node's share of the rows, the node's per-step overhead o, and the part of the halo's arrival (one
// message latency plus the halo bytes over the node's link) that the early part of the step does not hide:
// the halo of t + 1 is sent when the neighbour ends step t + 1, and meanwhile this node computes the rows of
// step t that read no halo row (a fraction e of its rows, costing e * R * c_s / (N * P)):
//   s(N, P, M, bw) = T * ( R c / (N P) + o + [N > 1] max(0, L + h(N, M) R bytesPerRow / N / bw - e(N) R c_s / (N P)) )
// c: CPU seconds per (t, row) for flow + step (the 1-node run); c_s = c * (the steps' share of a 1-node
// iteration, from its trace); o: from the 1-node run; e(2 nodes here) measured, e(N) = max(0, 1 - lateFactor h(N)).
const bytesPerRow = valueRowWidth(nX) * 8 * 1.05; // values + the row index of the need lists, ~5%
const haloFile = 'bench/results/halo.json';
const measured = existsSync(haloFile)
  ? (JSON.parse(readFileSync(haloFile, 'utf8')) as Array<{ game: string; order: string; shards: number; percentOfRows: number }>).filter((r) => r.game === game && r.order === 'cell-major')
  : [];
function haloFraction(N: number, M: number): number {
  if (N <= 1) return 0;
  const pts = measured.map((r) => [r.shards, r.percentOfRows / 100] as const).sort((a, b) => a[0] - b[0]);
  let f: number;
  if (pts.length === 0) f = 0.07 * (N - 1);
  else {
    // log-log interpolation between the measured shard counts, extrapolated from the last two
    const i = Math.max(1, Math.min(pts.length - 1, pts.findIndex((p) => p[0] >= N)));
    const [n0, f0] = pts[i - 1];
    const [n1, f1] = pts[i];
    f = f0 * Math.exp((Math.log(f1 / f0) * Math.log(N / n0)) / Math.log(n1 / n0));
  }
  return f * Math.pow(60 / M, 0.2);
}
const rowsAt = (M: number) => new Problem(buildGame(builtinGames[game], {}), M).rows;
const lateFactor = lateHere / Math.max(1e-9, haloFraction(Math.max(2, nodes), bins));
const cs = c * stepShare;
const early = (N: number, M: number) => (N === nodes && M === bins ? 1 - lateHere : Math.max(0, 1 - lateFactor * haloFraction(N, M)));
const predict = (N: number, P: number, M: number, rows: number, bw: number) => {
  const arrival = L + (haloFraction(N, M) * rows * bytesPerRow) / N / bw;
  const hidden = (early(N, M) * rows * cs) / (N * P);
  return T * ((rows * c) / (N * P) + o + (N > 1 ? Math.max(0, arrival - hidden) : 0));
};
const loopback = 1e9; // bytes/s through nats-server on loopback here: not the limit, set high
const check = [1, nodes].map((N) => ({ nodes: N, predicted: predict(N, threadsPerNode, bins, R, loopback) }));
console.log(`model inputs: c = ${(c * 1e6).toFixed(3)} us per (t, row) (steps ${(100 * stepShare).toFixed(0)}%), o = ${(o * 1e3).toFixed(3)} ms per step (1 node: ${oneNode.toFixed(3)} s/iteration), L = ${(L * 1e3).toFixed(3)} ms, rows after the halo ${(100 * lateHere).toFixed(1)}% here, halo fraction at M = ${bins}: ${[2, 4, 8, 16].map((n) => `${n}: ${(100 * haloFraction(n, bins)).toFixed(1)}%`).join(', ')}`);
console.log(`model check here: ${check.map((p) => `${p.nodes} node(s) predicted ${p.predicted.toFixed(3)} s`).join(', ')}; measured 1 node ${oneNode.toFixed(3)} s, ${nodes} node(s) ${clusterSeconds.toFixed(3)} s (${((100 * (check[check.length - 1].predicted - clusterSeconds)) / clusterSeconds).toFixed(0)}%)`);
const predictions: Array<Record<string, number>> = [];
for (const M of [120, 200]) {
  const rows = rowsAt(M);
  for (const bw of [1e9 / 8, 10e9 / 8]) {
    for (const N of [4, 8, 16]) predictions.push({ bins: M, rows, gbitPerSecond: (bw * 8) / 1e9, nodes: N, threadsPerNode: 16, secondsPerIteration: predict(N, 16, M, rows, bw) });
  }
}
console.log('predicted s/iteration, 16 threads per node:');
for (const M of [120, 200]) {
  for (const g of [1, 10]) {
    const row = predictions.filter((p) => p.bins === M && p.gbitPerSecond === g);
    console.log(`  ${game} M=${M} ${String(g).padStart(2)} Gbit/s: ${row.map((p) => `${p.nodes} nodes ${p.secondsPerIteration.toFixed(2)} s`).join(', ')}`);
  }
}
mkdirSync('bench/results', { recursive: true });
const result = {
  ...base,
  model: { secondsPerRowStep: c, stepShare, lateRowsFraction: lateHere, lateFactor, stepOverheadSeconds: o, oneNodeSecondsPerIteration: oneNode, latencySeconds: L, bytesPerHaloRow: bytesPerRow, check, predictions },
};
writeFileSync('bench/results/cluster.json', JSON.stringify(result, null, 1));
console.log('wrote bench/results/cluster.json');
