// Cluster vs one machine, and a scaling model (docs/cluster.md, "Scaling model").
//   npm run bench:cluster -- [game] [bins] [iterations] [nodes] [threadsPerNode]
// defaults: cyber 60 6 2 1 (the issue's "2 nodes x 1 thread vs 2 local threads"; 6 FP iterations, the first not
// timed: with 3, the second still paid the nodes' warm-up, e.g. their V8 helper threads 0.08-0.10 CPU-s per
// iteration against 0.05 from the third on). --cluster-only skips the
// local runs and the model (memory checks at sizes where a local run would not fit next to the cluster);
// --no-model skips the model's 1-node run and its inline profile (slow at M = 120: the 16-core check
// `cyber 120 3 4 4 --no-model` is the cluster and one 16-thread process only). The nodes are real
// `m3fg worker` processes behind a real nats-server on loopback (deploy/local-cluster.sh), on this machine.
// Writes bench/results/cluster.json: game, bins, nodes, threadsPerNode, localSecondsPerIteration,
// clusterSecondsPerIteration, bytesPerIteration (all parties' NATS payload bytes, frames included, per
// iteration: the whole run's bytes / iterations; there is no warm-up shipping in the owner-computes
// design), coordinatorPeakRssBytes, nodePeakRssBytes, and the model's inputs and predictions.
// localSecondsPerIteration and clusterSecondsPerIteration are medians over the paired rounds (--rounds), with
// each round's pair in `rounds` and the median of their ratios in `ratioMedian`.
// The cluster runs first, so the coordinator's peak RSS is not the local run's. The model (bench/cluster-model.ts,
// a simulation of one iteration's critical path, and the cores' bound from every party's CPU) takes its inputs
// from 1-node cluster runs at M and M/2, a cost profile and the halo plans of the run's own cut computed here on
// inline tables of the same iterations (cluster-profile.ts), a messaging probe through the run's nats-server
// before the run (cluster-probe.ts), and the message latency sampled during the run; it prints four checks
// against the N-node run and predictions.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { encodeMessage } from '../shared/cluster-wire.ts';
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
import { cutShards } from '../shared/cluster-partition.ts';
import { CHANGE_BLOCK_CELLS } from '../shared/value-change.ts';
import { fromTraces, kernelTerms, messaging, restLine, restOf, withRest, oneNodeTerms, predictIteration, scaleWork, simulateIteration, withMessaging, type MessageCost, type NodeWork, type PartyCpu } from './cluster-model.ts';
import { describeCpu, machineBusy, partySeconds, perIteration, snapshot, type ProcessCpu } from './cpu-parties.ts';
import { probeMessaging } from './cluster-probe.ts';
import { costProfile, haloPlans, median, nodeWork, profileTotals, tablesAfter } from './cluster-profile.ts';

const clusterOnly = process.argv.includes('--cluster-only');
const noModel = process.argv.includes('--no-model');
// The N-node runs re-cut their shards by the nodes' measured costs after iteration 1, as `m3fg solve --nats`
// does by default; the iterations up to and including the move are not timed. --no-recut keeps the first cut.
const recut = !process.argv.includes('--no-recut');
// --rounds=K (default 5): the cluster and the local run K times, in alternating order (cluster first in the
// first round, local first in the second, ...), each pair's ratio measured minutes apart at most; the median
// ratio is the figure. This machine's speed drifts by up to 2x within minutes (other tenants), which one
// cluster run and one local run a minute apart turn into the ratio.
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
const rounds = Math.max(1, Number(roundsArg?.slice('--rounds='.length) ?? 5) || 1);
const [game = 'cyber', binsArg = '60', itArg = '6', nodesArg = '2', tpnArg = '1'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const bins = Number(binsArg);
const iterations = Math.max(2, Number(itArg));
const nodes = Number(nodesArg);
const threadsPerNode = Number(tpnArg);
const spec = { game, params: {}, bins };
// the coordinator keeps no model rows (as `m3fg solve --nats`); the local runs below need them all
const clusterProblem = new Problem(buildGame(builtinGames[game], {}), bins, 'midpoint', 'nearest', { cells: [0, 0] });
let problem = clusterProblem;
const { T, nX } = problem.game;
const R = problem.rows;
console.log(`${game} M=${bins}: ${R} rows, T=${T}; ${iterations} FP iterations, the first not timed`);

/** CPU seconds per timed iteration by party, of the last timed() run that was given processes to read. */
let lastCpu: Array<[string, number]> = [];
/** The same by process (all threads: main + others). */
let lastParties: Record<string, ProcessCpu> = {};
/** Cores other processes kept busy on average over those iterations (the machine's busy time minus the parties'). */
let lastForeign = 0;

/**
 * Seconds per iteration after the first `untimed` ones. With `pids` (name -> process id), also the CPU per
 * timed iteration of each process's main thread and other threads, into `lastCpu` (bench/cpu-parties.ts).
 */
async function timed(executor: Executor, untimed = 1, pids?: () => Record<string, number>, run = { spec, problem }): Promise<number> {
  const stamps: number[] = [];
  const cpu: Array<Record<string, ProcessCpu>> = [];
  const busy: number[] = [];
  const onIteration = () => {
    stamps.push(performance.now());
    if (pids) {
      cpu.push(snapshot(pids()));
      busy.push(machineBusy());
    }
  };
  await solve(run.spec, run.problem, executor, { algorithm: 'fp', iterations, onIteration });
  const from = Math.min(untimed - 1, stamps.length - 2);
  const n = stamps.length - 1 - from;
  if (pids) {
    lastCpu = perIteration(cpu[from], cpu[cpu.length - 1], n);
    lastParties = partySeconds(cpu[from], cpu[cpu.length - 1], n);
    const wall = (stamps[stamps.length - 1] - stamps[from]) / 1000;
    const ours = Object.values(lastParties).reduce((a, p) => a + p.main + p.others, 0) * n;
    lastForeign = Math.max(0, (busy[busy.length - 1] - busy[from] - ours) / wall) || 0;
  }
  return (stamps[stamps.length - 1] - stamps[from]) / n / 1000;
}

/** The processes of a local cluster and this one (the coordinator, or the local executor's process). */
function clusterPids(c: LocalCluster): () => Record<string, number> {
  return () => ({ ...Object.fromEntries(c.nodePids().map((pid, i) => [`node-${i + 1}`, pid])), 'nats-server': c.serverPid(), coordinator: process.pid });
}

/** Where each node's iteration time went (its heartbeat's counters: shared/cluster-node-trace.ts). */
function printTraces(traces: Array<{ node: string; trace?: NodeTrace }>): void {
  for (const { node, trace } of traces) if (trace) console.log(`  ${describeNodeTrace(node, trace)}`);
}

/** The cut the scheduler makes at open() for nodes of these threads (shared/cluster-scheduler.ts startOpen). */
function schedulerCut(cells: number, threads: number[]): number[] {
  return cutShards(Math.ceil(cells / CHANGE_BLOCK_CELLS), threads).map((b) => Math.min(cells, b * CHANGE_BLOCK_CELLS));
}

/**
 * One-way latency of a message of `bytes` through the server: median round trip / 2 (s). 200 back to back,
 * or with `during`, one every 100 ms until it settles (rarely enough not to load the run it measures) (the latency while the nodes compute and compete with
 * nats-server for the cores).
 */
async function latency(cluster: LocalCluster, bytes: number, during?: Promise<unknown>): Promise<number> {
  let settled = false;
  void during?.finally(() => (settled = true));
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
  const payload = new Uint8Array(bytes);
  for (let i = 0; during ? !settled : i < 200; i++) {
    const got = new Promise<void>((r) => (done = r));
    t0 = performance.now();
    a.publish('m3fg.to.node-16.from.coord', payload);
    await got;
    if (during) await new Promise((r) => setTimeout(r, 100));
  }
  await a.close();
  await b.close();
  rtts.sort((x, y) => x - y);
  return rtts[rtts.length >> 1] / 2 / 1000;
}

const cluster = await startCluster(nodes, threadsPerNode);
/** The N-node run's executor (re-cut after iteration 1 unless --no-recut), and its iterations left untimed. */
const clusterExecutor = () => new ClusterExecutor({ nats: cluster.coordinator, minNodes: nodes, maxNodes: nodes, ...(recut ? { recut: { after: 1 } } : {}) });
const untimed = recut ? 2 : 1;
let clusterSeconds: number;
let bytesPerIteration: number;
let peerBytesPerIteration: number;
let nodePeakRssBytes: number[];
let L: number;
let L256: number;
let Lrun: number;
let measuredCut: number[] = [];
let nodeTraces: Array<{ node: string; trace?: NodeTrace }> = [];
let clusterCpu: Array<[string, number]> = [];
let clusterParties: Record<string, ProcessCpu> = {};
let clusterForeign = 0;
let probe: Awaited<ReturnType<typeof probeMessaging>> | undefined;
try {
  L = await latency(cluster, 1024);
  L256 = await latency(cluster, 256 * 1024);
  // the messaging probe, through this server before the run (the model's CPU per message and per byte)
  if (!clusterOnly && !noModel) probe = await probeMessaging(cluster, valueRowWidth(nX));
  const ex = clusterExecutor();
  const running = timed(ex, untimed, clusterPids(cluster));
  [clusterSeconds, Lrun] = await Promise.all([running, latency(cluster, 1024, running)]);
  await new Promise((r) => setTimeout(r, 1_200)); // the nodes' byte counts travel with their heartbeats
  const s = ex.stats();
  if (s.recut) console.log(`shard re-cut: ${s.recut.recut ? 'moved' : 'kept'}, slowest shard ${s.recut.slowestBefore.toFixed(0)} -> ${s.recut.slowestAfter.toFixed(0)} ms per thread, cut ${s.recut.cellBounds.join(' ')}`);
  await ex.close();
  const nodeSent = s.nodeReports.reduce((a, n) => a + n.sent, 0);
  bytesPerIteration = (nodeSent + s.coordinatorBytes.sent) / iterations;
  // node-to-node: what nodes sent minus what the coordinator received from them
  peerBytesPerIteration = (nodeSent - s.coordinatorBytes.received) / iterations;
  nodePeakRssBytes = s.nodeReports.map((n) => n.peakRss);
  nodeTraces = s.nodeReports.map((n) => ({ node: n.node, trace: n.trace }));
  clusterCpu = lastCpu;
  clusterParties = lastParties;
  clusterForeign = lastForeign;
  measuredCut = s.cellBounds;
} catch (err) {
  cluster.stop();
  throw err;
}
const coordinatorPeakRssBytes = process.resourceUsage().maxRSS * 1024;
console.log(`cluster ${nodes} node(s) x ${threadsPerNode} thread(s): ${clusterSeconds.toFixed(3)} s/iteration; ${(bytesPerIteration / 2 ** 20).toFixed(2)} MiB/iteration (${(peerBytesPerIteration / 2 ** 20).toFixed(2)} node to node)`);
printTraces(nodeTraces);
console.log(`  CPU s/iteration by party: ${describeCpu(clusterCpu)}; other processes kept ${clusterForeign.toFixed(2)} of ${availableParallelism()} cores busy meanwhile`);
console.log(`  peak RSS: coordinator ${(coordinatorPeakRssBytes / 2 ** 20).toFixed(0)} MiB, nodes ${nodePeakRssBytes.map((b) => (b / 2 ** 20).toFixed(0)).join(', ')} MiB; message latency ${(L * 1e3).toFixed(3)} ms idle, ${(Lrun * 1e3).toFixed(3)} ms during the run`);

if (clusterOnly) {
  mkdirSync('bench/results', { recursive: true });
  const only = { game, bins, rows: R, T, iterations, nodes, threadsPerNode, clusterSecondsPerIteration: clusterSeconds, bytesPerIteration, peerBytesPerIteration, coordinatorPeakRssBytes, nodePeakRssBytes };
  cluster.stop();
  writeFileSync(`bench/results/cluster-${game}-${bins}-${nodes}x${threadsPerNode}.json`, JSON.stringify(only, null, 1));
  console.log(`wrote bench/results/cluster-${game}-${bins}-${nodes}x${threadsPerNode}.json`);
  process.exit(0); // flow control only: nothing is left open here
}
const localThreads = nodes * threadsPerNode;
problem = new Problem(buildGame(builtinGames[game], {}), bins);
/** Seconds per iteration of a local executor, closed afterwards (an open pool would keep the bench alive). */
async function timedLocal(executor: Executor): Promise<number> {
  try {
    return await timed(executor, 1, () => ({ local: process.pid }));
  } finally {
    await executor.close();
  }
}
const localExecutor = () => (localThreads > 1 ? new LocalExecutor({ threads: localThreads }) : new InlineExecutor());
const local = await timedLocal(localExecutor());
console.log(`local ${localThreads} thread(s): ${local.toFixed(3)} s/iteration (cluster/local ${(clusterSeconds / local).toFixed(2)}x)`);
const localCpu = lastCpu;
console.log(`  CPU s/iteration: ${describeCpu(localCpu)}`);
// the paired rounds: the first is the run above; then the same cluster (a new run on its nodes) and a new
// local executor, in alternating order
const pairs: Array<{ cluster: number; local: number }> = [{ cluster: clusterSeconds, local }];
try {
  for (let r = 1; r < rounds; r++) {
    const runCluster = async () => {
      const ex = clusterExecutor();
      try {
        return await timed(ex, untimed, undefined, { spec, problem: clusterProblem });
      } finally {
        await ex.close();
      }
    };
    const pair = { cluster: 0, local: 0 };
    if (r % 2 === 1) {
      pair.local = await timedLocal(localExecutor());
      pair.cluster = await runCluster();
    } else {
      pair.cluster = await runCluster();
      pair.local = await timedLocal(localExecutor());
    }
    pairs.push(pair);
    console.log(`round ${r + 1}: cluster ${pair.cluster.toFixed(3)}, local ${pair.local.toFixed(3)} s/iteration (${(pair.cluster / pair.local).toFixed(2)}x)`);
  }
} finally {
  cluster.stop();
}
const ratios = pairs.map((p) => p.cluster / p.local);
const ratioMedian = median(ratios);
if (rounds > 1) console.log(`cluster/local over ${rounds} paired rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${ratioMedian.toFixed(2)}x (cluster median ${median(pairs.map((p) => p.cluster)).toFixed(3)}, local median ${median(pairs.map((p) => p.local)).toFixed(3)} s/iteration)`);
const base = { game, bins, rows: R, T, iterations, nodes, threadsPerNode, localSecondsPerIteration: median(pairs.map((p) => p.local)), clusterSecondsPerIteration: median(pairs.map((p) => p.cluster)), rounds: pairs, ratioMedian, bytesPerIteration, peerBytesPerIteration, coordinatorPeakRssBytes, nodePeakRssBytes, nodeTraces, clusterCpuSecondsPerIteration: Object.fromEntries(clusterCpu), localCpuSecondsPerIteration: Object.fromEntries(localCpu) };
if (noModel) {
  // the device check (`cyber 120 3 4 4 --no-model`): cluster vs one process with as many threads, nothing else
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/cluster.json', JSON.stringify(base, null, 1));
  console.log('wrote bench/results/cluster.json');
  process.exit(0); // flow control only: nothing is left open here
}
// The model's constants come from a 1-node cluster of the same run (no halo): its flow and step times, its
// time between jobs, its start values, and the coordinator's round per iteration.
/** A 1-node cluster run at `M` bins: seconds per iteration, CPU by party, the cores others took, the node's trace. */
async function oneNodeRun(M: number): Promise<{ seconds: number; parties: Record<string, ProcessCpu>; foreign: number; trace: NodeTrace; rows: number }> {
  const again = await startCluster(1, threadsPerNode);
  try {
    const ex = new ClusterExecutor({ nats: again.coordinator, minNodes: 1, maxNodes: 1 });
    const p = new Problem(buildGame(builtinGames[game], {}), M, 'midpoint', 'nearest', { cells: [0, 0] });
    const seconds = await timed(ex, 1, clusterPids(again), { spec: { ...spec, bins: M }, problem: p });
    await new Promise((r) => setTimeout(r, 1_200));
    const s1 = ex.stats();
    console.log(`cluster 1 node x ${threadsPerNode} thread(s)${M === bins ? '' : ` at M = ${M}`}: ${seconds.toFixed(3)} s/iteration`);
    console.log(`  CPU s/iteration by party: ${describeCpu(lastCpu)}`);
    console.log(`  other processes kept ${lastForeign.toFixed(2)} of ${availableParallelism()} cores busy meanwhile`);
    printTraces(s1.nodeReports.map((n) => ({ node: n.node, trace: n.trace })));
    const trace = s1.nodeReports[0]?.trace;
    await ex.close();
    if (!trace || trace.iterations === 0) throw new Error('bench:cluster: the 1-node run sent no trace; the model needs it');
    return { seconds, parties: lastParties, foreign: lastForeign, trace, rows: p.rows };
  } finally {
    again.stop();
  }
}
const smallBins = Math.max(8, bins >> 1);
const one = await oneNodeRun(bins);
// a second 1-node run at M / 2: how each node's rest (CPU beyond its kernels) grows with its rows
const oneSmall = await oneNodeRun(smallBins);
const oneNode = one.seconds;
const t1 = one.trace;
const oneParties = one.parties;
const oneForeign = one.foreign;
// The cost profile and the halo plans, on the tables of the same iterations computed inline (same bits as
// the cluster's): plans first (the profile's kernel runs change the tables).
const at = await tablesAfter(game, bins, iterations);
const blocks = 64;
const bytesPerRow = valueRowWidth(nX) * 8 * 1.05; // values + the row's index in the need lists, ~5%
const cutHere = measuredCut.length === nodes + 1 ? measuredCut : schedulerCut(at.problem.cells, Array(nodes).fill(threadsPerNode));
const cellsAt = Array.from({ length: blocks + 1 }, (_, b) => Math.round((b * at.problem.cells) / blocks));
haloPlans(at.problem, at.tables, cutHere, { cellsAt }); // warms the plan's code up: the first node's plan time would carry its compilation
const plansHere = haloPlans(at.problem, at.tables, cutHere, { cellsAt });
const plansOne = haloPlans(at.problem, at.tables, [0, at.problem.cells], { cellsAt });
const sizes = [4, 8, 16];
const plansAt = new Map(sizes.map((N) => [N, haloPlans(at.problem, at.tables, schedulerCut(at.problem.cells, Array(N).fill(16)), { cellsAt })]));
const profile = costProfile(at.problem, at.tables, blocks, 3);
const totals = profileTotals(profile);
// loopback: one message of a step's halo takes L plus its bytes at the rate measured between 1 KiB and 256 KiB
const loopback = Math.max(1, (256 * 1024 - 1024) / Math.max(1e-9, L256 - L));
const work = (plans: typeof plansHere, scale = { flow: 1, step: 1 }) => nodeWork(at.problem, profile, plans, scale, bytesPerRow);
const check = (['wall', 'cpu'] as const).map((mode) => {
  const terms = oneNodeTerms(t1!, T, oneNode, Lrun, totals, mode);
  const run = (plans: typeof plansHere) => simulateIteration({ T, nodes: work(plans, terms.scale), latency: Lrun, bandwidth: loopback, ...terms });
  return { mode, ...terms, one: run(plansOne), here: run(plansHere) };
});
// the structural check: each node's own flow and step times from this run's traces, only the waits simulated
const traces = nodeTraces.map((n) => n.trace);
const structural = traces.every((t) => t && t.iterations > 0) && traces.length === nodes ? (() => {
  const f = fromTraces(work(plansHere), traces as NodeTrace[], T, clusterSeconds, Lrun);
  return { ...f, here: simulateIteration({ T, latency: Lrun, bandwidth: loopback, ...f }) };
})() : undefined;
const pct = (p: number, m: number) => `${p >= m ? '+' : ''}${((100 * (p - m)) / m).toFixed(0)}%`;
const late = plansHere.lateRows.map((k) => k.reduce((a, t) => a + t.reduce((x, y) => x + y, 0), 0) / ((R * (T - 1)) / nodes));
const perNode = (r: ReturnType<typeof simulateIteration>) => r.nodes.map((n, k) => `node-${k + 1}: flow ${n.flowEnd.toFixed(3)} s, waits for need lists ${(n.stepsStart - n.flowEnd).toFixed(3)} s, steps ${n.stepsStart.toFixed(3)}..${n.end.toFixed(3)} s, halo wait ${n.haloWait.toFixed(3)} s, ${n.splitSteps} split steps`).join('; ');
console.log(`model inputs: profile ${blocks} cell blocks (bench process: flow ${totals.flow.toFixed(3)} s, steps ${totals.step.toFixed(3)} s per iteration), cut ${cutHere.join('/')}, rows after the halo ${late.map((f) => `${(100 * f).toFixed(0)}%`).join(' / ')} (plans), halo plan ${plansHere.planSeconds.map((s) => s.toFixed(3)).join(' / ')} s, L = ${(Lrun * 1e3).toFixed(3)} ms (during the run), loopback ${(loopback / 2 ** 20).toFixed(0)} MiB/s`);
for (const c of check) {
  console.log(`model, ${c.mode} inputs from the 1-node run (o = ${(c.jobOverhead * 1e3).toFixed(3)} ms per job, start ${(c.startValues * 1e3).toFixed(1)} ms): 1 node ${c.one.seconds.toFixed(3)} s (measured ${oneNode.toFixed(3)}, ${pct(c.one.seconds, oneNode)}), ${nodes} nodes ${c.here.seconds.toFixed(3)} s (measured ${clusterSeconds.toFixed(3)}, ${pct(c.here.seconds, clusterSeconds)})`);
  console.log(`  ${perNode(c.here)}`);
}
// what the model leaves out: the CPU a step costs when the nodes compute at once (shared caches and memory,
// the server and other processes on the same cores), against the same rows on one node
const stepCpu = (t: NodeTrace) => t.stepCpuMs / Math.max(1, t.steps);
const cpuInflation = traces.every((t) => t && t.steps > 0) ? traces.reduce((a, t) => a + stepCpu(t!), 0) / stepCpu(t1) : undefined;
if (cpuInflation !== undefined) console.log(`CPU per step, all ${nodes} nodes together / 1 node: ${cpuInflation.toFixed(2)}x (process CPU during the steps, whatever thread: the fourth check below splits it by party and term)`);
if (structural) {
  console.log(`model, each node's flow and steps from its trace (waits simulated; o = ${(structural.jobOverhead * 1e3).toFixed(3)} ms per job): ${nodes} nodes ${structural.here.seconds.toFixed(3)} s (measured ${clusterSeconds.toFixed(3)}, ${pct(structural.here.seconds, clusterSeconds)})`);
  console.log(`  ${perNode(structural.here)}`);
}
// The fourth check, in CPU time throughout: the critical path of each node's own-thread work, and the cores'
// bound from every party's CPU, each term measured without the N-node run: the kernels (the 1-node run's
// own-thread kernel CPU spread by the profile), each node's rest (the 1-node node's CPU beyond its kernels,
// a part per node and a part per row through the runs at M and M/2: main thread on the path, other threads
// off it), the halo plans and rows (profile), messaging on the main
// and the other threads (probe), nats-server's forwarding (probe) over the 1-node run's server CPU, the
// coordinator's (1-node run). The rest holds the time between jobs, so o = 0 here. Here every party shares
// this machine's cores.
const cpuTerms = check[1];
const kt = kernelTerms(t1, oneParties['node-1'] ?? { main: 0, others: 0 }, totals);
const ktSmall = kernelTerms(oneSmall.trace, oneSmall.parties['node-1'] ?? { main: 0, others: 0 }, { flow: 1, step: 1 });
const rest = restLine({ rows: oneSmall.rows, ...ktSmall }, { rows: R, ...kt });
/** Rows of each node of a cut at the measured M, times `scale`. */
const rowsOfCut = (cellBounds: number[], scale = 1) => cellBounds.slice(1).map((b, k) => (b - cellBounds[k]) * problem.game.nX0 * scale);
const cores = availableParallelism();
// receipts ride on the halo going back (shared/cluster-node-core.ts RECEIPT_BATCH): a step number in its head
const haloHead = { type: 'halo', run: randomUUID(), n: 1, step: 1 };
const receipt = { messages: 0, bytes: encodeMessage({ ...haloHead, got: [1] }).length - encodeMessage(haloHead).length };
const cpuOf = (p?: ProcessCpu) => (p ? p.main + p.others : 0);
const oneCpu = { node: cpuOf(oneParties['node-1']), server: cpuOf(oneParties['nats-server']), coordinator: cpuOf(oneParties.coordinator) };
const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);
/** Every party's CPU for these nodes' work, by term; `machineOf` places them; a node's `threads` are busy for its kernels' wall time. */
function partyTerms(base: NodeWork[], m: ReturnType<typeof messaging>, plan: number[], rows: number[], threads: number, oneServer: boolean, machineOf: (party: number | 'server') => number) {
  const nodes = base.map((w, k) => {
    const compute = w.flow - plan[k] + sum(w.step);
    const r = restOf(rest, rows[k]);
    return { compute: compute * threads, plan: plan[k], haloRows: sum(w.haloCost), messaging: sum(m.main[k]), others: r.others + m.others[k], restOthers: r.others, rest: r.main, server: oneServer ? 0 : m.server[k] };
  });
  const server = oneCpu.server + (oneServer ? sum(m.server) / 2 : 0);
  const parties: PartyCpu[] = nodes.map((n, k) => ({ name: `node-${k + 1}`, machine: machineOf(k), cpu: n.compute + n.plan + n.haloRows + n.messaging + n.others + n.rest + n.server }));
  parties.push({ name: 'nats-server', machine: machineOf('server'), cpu: server }, { name: 'coordinator', machine: machineOf('server'), cpu: oneCpu.coordinator });
  return { nodes, server, parties };
}
const zeroCost: MessageCost = { perMessage: 0, perByte: 0 };
const costs = probe ?? { send: zeroCost, receive: zeroCost, sendOthers: zeroCost, receiveOthers: zeroCost, server: zeroCost };
const cpuModel = (plans: typeof plansHere, c = cores, busy = 1) => {
  const base = work(plans, { flow: kt.scale.flow * busy, step: kt.scale.step * busy });
  const m = messaging(base, costs, receipt);
  const planCpu = plans.planSeconds;
  const terms = partyTerms(base, m, planCpu, rowsOfCut(plans.cellBounds), 1, true, () => 0);
  const r = predictIteration({ T, nodes: withRest(withMessaging(base, m), terms.nodes.map((n) => n.rest)), latency: Lrun, bandwidth: loopback, ...cpuTerms, jobOverhead: 0 }, terms.parties, [c]);
  return { ...r, ...terms };
};
const cpuOne = cpuModel(plansOne);
const cpuHere = cpuModel(plansHere);
// A loaded machine: the same with the cores other processes left during each run (the machine's busy time
// minus the parties'; equal to `cores` when quiet). Not a prediction (the N-node run's own load is read),
// but it says how much of a miss is the other processes' load.
const coresLeft = [Math.max(0.25, cores - oneForeign), Math.max(0.25, cores - clusterForeign)];
const leftOne = cpuModel(plansOne, coresLeft[0]);
const leftHere = cpuModel(plansHere, coresLeft[1]);
// The kernels' CPU per row when every core of this machine computes: the 1-node run computes on one core while
// the other idles, the N-node run on all. The local run of this bench (nodes x threads threads on this machine,
// the whole table) measures it: its CPU per iteration over the 1-node node's. Measured in another run than the
// one predicted, so a prediction; only where the N-node run's node threads fill this machine's cores.
const localTotal = localCpu.find(([k]) => k === 'total')?.[1];
const busyFactor = localTotal !== undefined && oneCpu.node > 0 && nodes * threadsPerNode >= cores ? localTotal / oneCpu.node : undefined;
const busyHere = busyFactor !== undefined ? cpuModel(plansHere, cores, busyFactor) : undefined;
if (probe) {
  const us = (c: MessageCost) => `${(c.perMessage * 1e6).toFixed(1)} us + ${(c.perByte * 1e6 * 1024).toFixed(2)} us/KiB`;
  console.log(`messaging probe (${probe.sizes.map((b) => `${b.toFixed(0)} B`).join(' and ')} messages through this server, before the run): send ${us(probe.send)}, receive ${us(probe.receive)}; other threads send ${us(probe.sendOthers)}, receive ${us(probe.receiveOthers)}; nats-server ${us(probe.server)} forwarded; receipts ride on halos, ${receipt.bytes} B each`);
}
{
  const h = cpuHere;
  const tot = (f: (n: (typeof h.nodes)[number]) => number) => sum(h.nodes.map(f));
  // which terms make the difference: the bound as the terms are added one by one
  const steps: Array<[string, number]> = [];
  let acc = tot((n) => n.compute + n.rest + n.restOthers) + oneCpu.server + oneCpu.coordinator;
  steps.push([`kernels ${tot((n) => n.compute).toFixed(3)} + the nodes' rest ${tot((n) => n.rest + n.restOthers).toFixed(3)} + 1-node server and coordinator`, acc / cores]);
  for (const [label, x] of [['halo plans', tot((n) => n.plan)], ['halo rows', tot((n) => n.haloRows)], ['messaging (main threads)', tot((n) => n.messaging)], ['messaging (other threads)', tot((n) => n.others - n.restOthers)], ['nats-server forwarding', h.server - oneCpu.server]] as Array<[string, number]>) {
    acc += x;
    steps.push([`+ ${label} ${x.toFixed(3)}`, acc / cores]);
  }
  console.log(`the nodes' rest (CPU beyond the kernels; 1-node runs at M = ${smallBins} and ${bins}: main ${ktSmall.restMain.toFixed(3)} and ${kt.restMain.toFixed(3)} s, other threads ${ktSmall.restOthers.toFixed(3)} and ${kt.restOthers.toFixed(3)} s): main ${rest.perNode.main.toFixed(3)} s per node + ${(rest.perRow.main * 1e6).toFixed(2)} us per row, other threads ${rest.perNode.others.toFixed(3)} s + ${(rest.perRow.others * 1e6).toFixed(2)} us per row`);
  console.log(`model, kernel CPU inputs + rest + messaging + ${cores} cores (the critical path, or every party's CPU / cores where longer): 1 node ${cpuOne.seconds.toFixed(3)} s (path ${cpuOne.critical.seconds.toFixed(3)}, cores ${cpuOne.bound.toFixed(3)}; measured ${oneNode.toFixed(3)}, ${pct(cpuOne.seconds, oneNode)}), ${nodes} nodes ${h.seconds.toFixed(3)} s (path ${h.critical.seconds.toFixed(3)}, cores ${h.bound.toFixed(3)}; measured ${clusterSeconds.toFixed(3)}, ${pct(h.seconds, clusterSeconds)})`);
  console.log(`  the path: the CPU check above ${check[1].here.seconds.toFixed(3)} s; kernels, rest, halo rows and messaging on the nodes' path ${h.critical.seconds.toFixed(3)} s; the cores' bound, term by term (CPU s/iteration, bound s): ${steps.map(([l, b]) => `${l} -> ${b.toFixed(3)}`).join('; ')}`);
  console.log(`  the same with the cores other processes left during each run (${coresLeft.map((c) => c.toFixed(2)).join(' / ')}; not a prediction): 1 node ${leftOne.seconds.toFixed(3)} s (${pct(leftOne.seconds, oneNode)}), ${nodes} nodes ${leftHere.seconds.toFixed(3)} s (cores ${leftHere.bound.toFixed(3)}; ${pct(leftHere.seconds, clusterSeconds)})`);
  if (busyHere && busyFactor !== undefined) {
    console.log(`model, the same with the kernels' CPU per row when every core computes (the local run's CPU over the 1-node node's: ${busyFactor.toFixed(2)}x): ${nodes} nodes ${busyHere.seconds.toFixed(3)} s (path ${busyHere.critical.seconds.toFixed(3)}, cores ${busyHere.bound.toFixed(3)}; measured ${clusterSeconds.toFixed(3)}, ${pct(busyHere.seconds, clusterSeconds)}); CPU predicted / measured, total ${sum(busyHere.parties.map((p) => p.cpu)).toFixed(3)} / ${sum(Object.keys(clusterParties).map((k) => cpuOf(clusterParties[k]))).toFixed(3)}`);
  }
  const measured = (name: string) => cpuOf(clusterParties[name]);
  console.log(`  CPU s/iteration by party, predicted / measured: ${h.parties.map((p) => `${p.name} ${p.cpu.toFixed(3)} / ${measured(p.name).toFixed(3)}`).join(', ')}, total ${sum(h.parties.map((p) => p.cpu)).toFixed(3)} / ${sum(Object.keys(clusterParties).map(measured)).toFixed(3)}; per node: ${h.nodes.map((n, k) => `node-${k + 1} kernels ${n.compute.toFixed(3)} rest ${n.rest.toFixed(3)} plan ${n.plan.toFixed(3)} rows ${n.haloRows.toFixed(3)} messaging ${n.messaging.toFixed(3)} others ${n.others.toFixed(3)}`).join('; ')}`);
}
// Predictions for N nodes x 16 threads at M = 120 and 200: the work of the M = 60 cut for N nodes, compute x
// rows(M) / rows(60) / speedup, halo rows x (M / 60)^alpha with alpha from the plans at M = 30 (the same
// iterations), the rows after the halo likewise. The fourth check's terms: kernel CPU, each node's rest (as
// measured per node at M = 60, on its main thread), messaging and nats-server from the probe; the cores'
// bound per machine; the start values from the 1-node run, the latency idle.
const small = await tablesAfter(game, smallBins, iterations);
const smallCells = Array.from({ length: blocks + 1 }, (_, b) => Math.round((b * small.problem.cells) / blocks));
const haloRowsOf = (p: typeof plansHere) => p.rowsFrom.flat(2).reduce((a, b) => a + b, 0);
const lateRowsOf = (p: typeof plansHere) => p.lateRows.flat(2).reduce((a, b) => a + b, 0);
const exponents = new Map(
  sizes.map((N) => {
    const p = haloPlans(small.problem, small.tables, schedulerCut(small.problem.cells, Array(N).fill(16)), { cellsAt: smallCells });
    const big = plansAt.get(N)!;
    const ratio = Math.log(bins / smallBins);
    // fractions of the rows: halo rows over (rows x T), late rows over rows
    const halo = Math.log(haloRowsOf(big) / R / (haloRowsOf(p) / small.problem.rows)) / ratio;
    const lateE = Math.log(lateRowsOf(big) / R / (lateRowsOf(p) / small.problem.rows)) / ratio;
    return [N, { halo, late: lateE }];
  }),
);
const rowsAt = (M: number) => new Problem(buildGame(builtinGames[game], {}), M, 'midpoint', 'nearest', { cells: [0, 0] }).rows;
const predictions: Array<Record<string, number>> = [];
for (const M of [120, 200]) {
  const rows = rowsAt(M);
  for (const speedup of [16, 8.1]) {
    for (const bw of [1e9 / 8, 10e9 / 8]) {
      for (const N of sizes) {
        const e = exponents.get(N)!;
        const plans = plansAt.get(N)!;
        const base = scaleWork(work(plans, kt.scale), rows / R / speedup, (rows / R) * Math.pow(M / bins, e.halo), Math.pow(M / bins, e.late));
        const m = messaging(base, costs, receipt);
        const planCpu = plans.planSeconds.map((x) => (x * rows) / R / speedup);
        for (const serverLinks of [1, Infinity]) {
          // each node its own machine of 16 cores (its pool keeps all 16 busy for the compute's wall time);
          // one nats-server on a machine of its own with the coordinator, or a server on each node's machine
          const oneServer = serverLinks === 1;
          const terms = partyTerms(base, m, planCpu, rowsOfCut(plans.cellBounds, rows / R), 16, oneServer, (p) => (p === 'server' ? N : p));
          const r = predictIteration({ T, nodes: withRest(withMessaging(base, m), terms.nodes.map((n) => n.rest)), latency: L, bandwidth: bw, serverLinks, jobOverhead: 0, startValues: (cpuTerms.startValues * rows) / R / speedup, coordinator: cpuTerms.coordinator }, terms.parties, new Array(N + 1).fill(16));
          predictions.push({ bins: M, rows, gbitPerSecond: (bw * 8) / 1e9, threadSpeedup: speedup, nodes: N, threadsPerNode: 16, oneServer: oneServer ? 1 : 0, secondsPerIteration: r.seconds, criticalPathSeconds: r.critical.seconds, coresBoundSeconds: r.bound, haloWaitSeconds: Math.max(...r.critical.nodes.map((n) => n.haloWait)) });
        }
      }
    }
  }
}
console.log(`predicted s/iteration, N nodes x 16 threads, one nats-server / a server per node (halo rows per row grow as M^${sizes.map((N) => exponents.get(N)!.halo.toFixed(2)).join(', ')} for ${sizes.join(', ')} nodes: plans at M = ${smallBins} and ${bins}; L idle):`);
for (const M of [120, 200]) {
  for (const speedup of [16, 8.1]) {
    for (const g of [1, 10]) {
      const at = (N: number, links: number) => predictions.find((p) => p.bins === M && p.gbitPerSecond === g && p.threadSpeedup === speedup && p.nodes === N && p.oneServer === (links === 1 ? 1 : 0))!.secondsPerIteration.toFixed(2);
      console.log(`  ${game} M=${M} ${String(g).padStart(2)} Gbit/s, 16 threads ${speedup}x one: ${sizes.map((N) => `${N} nodes ${at(N, 1)} / ${at(N, Infinity)} s`).join(', ')}`);
    }
  }
}
mkdirSync('bench/results', { recursive: true });
const result = {
  ...base,
  model: {
    oneNodeSecondsPerIteration: oneNode,
    latencySeconds: L,
    loopbackBytesPerSecond: loopback,
    bytesPerHaloRow: bytesPerRow,
    cellBounds: cutHere,
    profile: { blocks, flowSeconds: totals.flow, stepSeconds: totals.step, haloRowSeconds: profile.haloRow },
    haloPlanSeconds: plansHere.planSeconds,
    lateRowsFraction: late,
    haloExponents: Object.fromEntries(exponents),
    latencyDuringRunSeconds: Lrun,
    stepCpuInflation: cpuInflation,
    cores,
    messagingProbe: probe,
    receiptBytes: receipt.bytes,
    kernelTerms: kt,
    oneNodeSmall: { bins: smallBins, rows: oneSmall.rows, secondsPerIteration: oneSmall.seconds, cpu: oneSmall.parties, kernelTerms: ktSmall },
    restLine: rest,
    oneNodeCpuSeconds: oneCpu,
    foreignCores: { oneNode: oneForeign, nodes: clusterForeign },
    coresLeft,
    cpuAndCoresLeft: [leftOne, leftHere].map((r) => ({ seconds: r.seconds, criticalPathSeconds: r.critical.seconds, coresBoundSeconds: r.bound })),
    busyFactor,
    cpuAndCoresBusy: busyHere ? { seconds: busyHere.seconds, criticalPathSeconds: busyHere.critical.seconds, coresBoundSeconds: busyHere.bound, parties: busyHere.parties } : undefined,
    cpuAndCores: [cpuOne, cpuHere].map((r) => ({ seconds: r.seconds, criticalPathSeconds: r.critical.seconds, coresBoundSeconds: r.bound, parties: r.parties, nodes: r.nodes, serverCpuSeconds: r.server })),
    check: check.map((c) => ({ inputs: c.mode, scale: c.scale, jobOverheadSeconds: c.jobOverhead, startValuesSeconds: c.startValues, coordinatorSeconds: c.coordinator, oneNode: c.one.seconds, nodes: c.here.seconds, perNode: c.here.nodes })),
    structural: structural && { jobOverheadSeconds: structural.jobOverhead, nodes: structural.here.seconds, perNode: structural.here.nodes },
    predictions,
  },
};
writeFileSync('bench/results/cluster.json', JSON.stringify(result, null, 1));
console.log('wrote bench/results/cluster.json');
