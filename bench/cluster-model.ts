// The cluster's scaling model (docs/cluster.md, "Scaling model"): a critical-path simulation of one
// finite-horizon FP iteration over N nodes, a pure function of measured inputs (bench/cluster.ts measures
// them; bench/cluster-profile.ts turns a cost profile and the real shard cut into per-node work).
//
// What a node does per iteration (shared/cluster-node-core.ts): the flow (next cells of its shard for every
// t, then its halo plan), a `need` list to every peer, then steps t = T-1 .. 0. A node starts its steps once
// it has every peer's need list. Step t reads V(t+1): the node computes the rows that read no other node's
// row at once ('early' job), and the rest ('late' job) once the halo of t+1 has come from every peer it reads
// at t. A peer sends that halo at the end of its own step t+1 (late part included), so a late part waits on
// the neighbour's late part of the step before, which waited on this node's: the chain of late parts. Each
// job costs one overhead `o` (an event-loop turn, the job's messages); the iteration ends with the start
// values on every node and the coordinator's round.

/** One node's work in one iteration, seconds of its own thread(s), and its halo. */
export interface NodeWork {
  /** The flow and the halo plan. */
  flow: number;
  /** Per t: the step's compute (backward + update) over all the node's rows. */
  step: ArrayLike<number>;
  /** Per t: the part of step[t] over the rows that read another node's row (<= step[t]). */
  late: ArrayLike<number>;
  /** Per t: writing the received halo rows and packing the rows the readers asked for. */
  haloCost: ArrayLike<number>;
  /** Per t: bytes of V(t+1) this node receives for step t, per sending node (index = node; 0 = no message). */
  haloIn: ReadonlyArray<ArrayLike<number>>;
}

export interface ModelInput {
  /** Steps per iteration. */
  T: number;
  nodes: NodeWork[];
  /** One-way latency of a message through the server (s). */
  latency: number;
  /** Bytes per second of a node's link (and of the server's). */
  bandwidth: number;
  /** Links the server has (1: one nats-server relays every halo byte of a step; Infinity: not a limit). */
  serverLinks?: number;
  /** Per job: the node's overhead between jobs (s). */
  jobOverhead: number;
  /** Per iteration: the start values on a node (s). */
  startValues: number;
  /** Per iteration: the coordinator's round (order out, done back, its bookkeeping) (s). */
  coordinator: number;
}

export interface NodeTimeline {
  /** When the flow ends and when the steps may start (every peer's need list in). */
  flowEnd: number;
  stepsStart: number;
  /** When step 0 ends. */
  end: number;
  /** Seconds the node had no job while its next step waited for a halo. */
  haloWait: number;
  /** Steps split into an early and a late job. */
  splitSteps: number;
}

export interface ModelResult {
  seconds: number;
  nodes: NodeTimeline[];
}

/** Seconds of one iteration: the critical path through the flows, the need lists and the steps. */
export function simulateIteration(input: ModelInput): ModelResult {
  const { T, nodes, latency: L, bandwidth: bw, jobOverhead: o } = input;
  const N = nodes.length;
  const serverLinks = input.serverLinks ?? 1;
  const flowEnd = nodes.map((n) => n.flow);
  const needsIn = (k: number) => Math.max(flowEnd[k], ...flowEnd.filter((_, j) => j !== k).map((f) => f + L));
  const timeline: NodeTimeline[] = nodes.map((_, k) => ({ flowEnd: flowEnd[k], stepsStart: needsIn(k), end: 0, haloWait: 0, splitSteps: 0 }));
  // end[k]: when node k ended its last step (its send of that step's halo leaves then)
  const end = timeline.map((n) => n.stepsStart);
  for (let t = T - 1; t >= 0; t--) {
    // the halo of t+1 (read by step t) left each sender at the end of its step t+1: `end` before this t
    let serverBytes = 0;
    for (let k = 0; k < N; k++) for (let j = 0; j < N; j++) serverBytes += nodes[k].haloIn[t]?.[j] ?? 0;
    const arrival = nodes.map((node, k) => {
      let a = -Infinity;
      let bytes = 0;
      for (let j = 0; j < N; j++) {
        const b = j === k ? 0 : node.haloIn[t]?.[j] ?? 0;
        if (b > 0) {
          a = Math.max(a, end[j] + L);
          bytes += b;
        }
      }
      return a === -Infinity ? -Infinity : a + Math.max(bytes, serverBytes / serverLinks) / bw;
    });
    for (let k = 0; k < N; k++) {
      const node = nodes[k];
      const ready = end[k];
      const step = node.step[t];
      const hc = node.haloCost[t] ?? 0;
      if (arrival[k] <= ready) {
        end[k] = ready + o + step + hc;
        continue;
      }
      // the halo is not here when the step is chosen: the early job, then the late one once it has come
      const late = Math.min(step, node.late[t]);
      const earlyEnd = ready + o + (step - late);
      const lateStart = Math.max(earlyEnd, arrival[k]);
      timeline[k].haloWait += lateStart - earlyEnd;
      timeline[k].splitSteps++;
      end[k] = lateStart + o + late + hc;
    }
  }
  for (let k = 0; k < N; k++) timeline[k].end = end[k];
  const last = Math.max(...end) + input.startValues;
  return { seconds: last + input.coordinator, nodes: timeline };
}

/** Bench seconds (the cost profile's, bench/cluster-profile.ts) to a node's seconds, for the flow and the steps. */
export interface Scale {
  flow: number;
  step: number;
}

/** A node's trace in a run (ms sums over `iterations`, the first iteration included, as the node reports them). */
export interface NodeRun {
  iterations: number;
  iterationMs: number;
  stepMs: number;
  flowMs: number;
  startMs: number;
  haloWaitMs: number;
  stepCpuMs: number;
  earlySteps: number;
}

/** Seconds per iteration of a node's trace terms in the steady state: the run's timed iterations (its first, slower one, left out) over the trace's mean. */
function steady(run: NodeRun, secondsPerIteration: number, coordinator: number): number {
  return Math.max(0, secondsPerIteration - coordinator) / Math.max(1e-12, run.iterationMs / 1000 / Math.max(1, run.iterations));
}

/** A node's time between jobs per job (event-loop turns, message handling): what its iteration holds beyond its jobs and waits. */
function betweenJobs(run: NodeRun, T: number): number {
  const rest = run.iterationMs - run.stepMs - run.flowMs - run.startMs - run.haloWaitMs;
  return Math.max(0, rest / (run.iterations * T + run.earlySteps));
}

/**
 * The model's constants from a 1-node cluster run (`secondsPerIteration` the bench's timing, without its
 * first iteration): its flow and step times over the profile's (wall, or on 'cpu' the steps' CPU time: what
 * the run costs without other processes' load), its time between jobs (o), its start values, and the
 * coordinator's round (one message each way: 2 L).
 */
export function oneNodeTerms(run: NodeRun, T: number, secondsPerIteration: number, latency: number, profile: { flow: number; step: number }, mode: 'wall' | 'cpu'): { scale: Scale; jobOverhead: number; startValues: number; coordinator: number } {
  const it = Math.max(1, run.iterations);
  const coordinator = 2 * latency;
  const k = steady(run, secondsPerIteration, coordinator);
  const cpu = mode === 'cpu' && run.stepMs > 0 ? run.stepCpuMs / run.stepMs : 1;
  return {
    scale: { flow: (k * cpu * run.flowMs) / it / 1000 / profile.flow, step: (k * cpu * run.stepMs) / it / 1000 / profile.step },
    jobOverhead: (k * betweenJobs(run, T)) / 1000,
    startValues: (k * run.startMs) / it / 1000,
    coordinator,
  };
}

/**
 * The structural check: each node's flow and steps as its own trace measured them in an N-node run (steady
 * state), spread over t and early / late parts as `work` (the profile over its cells) spreads them; o and
 * the start values are the nodes' mean. Only the waits (need lists, halo, the chain of late parts, the
 * slowest node) are left to the simulation.
 */
export function fromTraces(work: NodeWork[], runs: NodeRun[], T: number, secondsPerIteration: number, latency: number): { nodes: NodeWork[]; jobOverhead: number; startValues: number; coordinator: number } {
  const coordinator = 2 * latency;
  let o = 0;
  let start = 0;
  const nodes = work.map((w, n) => {
    const run = runs[n];
    const it = Math.max(1, run.iterations);
    const k = steady(run, secondsPerIteration, coordinator);
    o += (k * betweenJobs(run, T)) / 1000 / work.length;
    start += (k * run.startMs) / it / 1000 / work.length;
    const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);
    const f = Math.max(0, (k * run.stepMs) / it / 1000 - sum(w.haloCost)) / Math.max(1e-12, sum(w.step));
    return { ...w, flow: (k * run.flowMs) / it / 1000, step: Array.from(w.step, (x) => x * f), late: Array.from(w.late, (x) => x * f) };
  });
  return { nodes, jobOverhead: o, startValues: start, coordinator };
}

/** Work measured at one size, carried to another: compute x `compute`, halo rows x `halo`, late parts x `late` (capped at the step). */
export function scaleWork(work: NodeWork[], compute: number, halo: number, late: number): NodeWork[] {
  return work.map((w) => {
    const step = Array.from(w.step, (s) => s * compute);
    return {
      flow: w.flow * compute,
      step,
      late: Array.from(w.late, (l, t) => Math.min(step[t], l * compute * late)),
      haloCost: Array.from(w.haloCost, (h) => h * halo),
      haloIn: w.haloIn.map((row) => Array.from(row, (b) => b * halo)),
    };
  });
}
