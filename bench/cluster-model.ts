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
  /** Of flowMs, the flow run ahead between iterations (in no iterationMs; absent: none). */
  aheadBetweenMs?: number;
  stepCpuMs: number;
  earlySteps: number;
}

/** Seconds per iteration of a node's trace terms in the steady state: the run's timed iterations (its first, slower one, left out) over the trace's mean. */
function steady(run: NodeRun, secondsPerIteration: number, coordinator: number): number {
  return Math.max(0, secondsPerIteration - coordinator) / Math.max(1e-12, run.iterationMs / 1000 / Math.max(1, run.iterations));
}

/** A node's time between jobs per job (event-loop turns, message handling): what its iteration holds beyond its jobs and waits. */
function betweenJobs(run: NodeRun, T: number): number {
  const rest = run.iterationMs - run.stepMs - (run.flowMs - (run.aheadBetweenMs ?? 0)) - run.startMs - run.haloWaitMs;
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

/**
 * The kernel inputs: the 1-node run's own-thread CPU in the step and the flow kernels (schedstat, the
 * trace's means over its iterations) over the profile's, and the rest of that node's CPU per iteration
 * (`nodeCpu`: its main thread and its other threads, steady state) as a cost of its own per node: what the
 * node does besides the kernels (the per-step machinery, GC, the start values), on its main thread (on
 * the path) and on its other threads (off it).
 */
export function kernelTerms(run: { iterations: number; kernelCpuMs: number; flowCpuMs: number }, nodeCpu: { main: number; others: number }, profile: { flow: number; step: number }): { scale: Scale; restMain: number; restOthers: number } {
  const it = Math.max(1, run.iterations);
  const step = run.kernelCpuMs / it / 1000;
  const flow = run.flowCpuMs / it / 1000;
  return { scale: { flow: flow / profile.flow, step: step / profile.step }, restMain: Math.max(0, nodeCpu.main - step - flow), restOthers: nodeCpu.others };
}

/** A node's rest per iteration: a part per node and a part per row it owns, on its main thread and on its other threads. */
export interface RestLine {
  perNode: { main: number; others: number };
  perRow: { main: number; others: number };
}

/**
 * The rest as a line through two 1-node runs of different sizes (rows, and kernelTerms' rest at each):
 * per row the slope, per node the rest at 0 rows (each clamped at 0: noise must not make a cost negative).
 */
export function restLine(a: { rows: number; restMain: number; restOthers: number }, b: { rows: number; restMain: number; restOthers: number }): RestLine {
  const line = (ya: number, yb: number) => {
    const slope = Math.max(0, (yb - ya) / (b.rows - a.rows));
    return { slope, at0: Math.max(0, ya - slope * a.rows) };
  };
  const main = line(a.restMain, b.restMain);
  const others = line(a.restOthers, b.restOthers);
  return { perNode: { main: main.at0, others: others.at0 }, perRow: { main: main.slope, others: others.slope } };
}

export function restOf(line: RestLine, rows: number): { main: number; others: number } {
  return { main: line.perNode.main + line.perRow.main * rows, others: line.perNode.others + line.perRow.others * rows };
}

/** The nodes with seconds[k] more on node k's main thread per iteration, spread evenly over its T steps. */
export function withRest(nodes: NodeWork[], seconds: ArrayLike<number>): NodeWork[] {
  return nodes.map((w, k) => ({ ...w, haloCost: Array.from({ length: w.step.length }, (_, t) => (w.haloCost[t] ?? 0) + seconds[k] / w.step.length) }));
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

// ---- CPU beyond the critical path: messaging, nats-server, the cores (docs/cluster.md, "Scaling model") ----

/** CPU seconds of messages: `perMessage` each plus `perByte` per payload byte (frames included). */
export interface MessageCost {
  perMessage: number;
  perByte: number;
}

/** What messages cost in CPU (bench/cluster-probe.ts measures them through the real wire code and server). */
export interface MessagingCosts {
  /** The node's main thread: encode, frame, publish / reassemble, decode. */
  send: MessageCost;
  receive: MessageCost;
  /** The node's other threads (V8's GC of the messages, its compiler) for the same. */
  sendOthers: MessageCost;
  receiveOthers: MessageCost;
  /** nats-server per message it forwards (read from the publisher, written to the subscriber). */
  server: MessageCost;
}

/** Cost per message and per byte from two sizes' costs (clamped at 0: noise must not make a cost negative). */
export function lineThrough(bytesA: number, costA: number, bytesB: number, costB: number): MessageCost {
  const perByte = Math.max(0, (costB - costA) / (bytesB - bytesA));
  return { perMessage: Math.max(0, costA - perByte * bytesA), perByte };
}

export function costOf(c: MessageCost, messages: number, bytes: number): number {
  return messages * c.perMessage + bytes * c.perByte;
}

/** Messaging CPU of one iteration, per node. */
export interface NodeMessaging {
  /** main[k][t]: node k's main thread in step t (the halo it receives for t, the halo it sends at t, their receipts). */
  main: number[][];
  /** Node k's other threads. */
  others: number[];
  /**
   * nats-server for every message node k sends or receives. One server for all forwards each message once:
   * sum / 2. A server per node (a NATS cluster): each message passes the sender's and the receiver's server,
   * each doing about one forward's work (read, write), so node k's server does server[k].
   */
  server: number[];
}

/** A halo's receipt: `messages` of its own per halo (1: a message each; 0: it rides on a halo going back) and its bytes. */
export interface Receipt {
  messages: number;
  bytes: number;
}

/**
 * The halo's messages: node k's halo for step t from node j (haloIn[t][j] bytes) is one message that j sends
 * at the end of its step t + 1 and k receives for step t; k answers each with a receipt (`receipt`). The
 * need lists (once per iteration) are left to bytesPerRow's share.
 */
export function messaging(nodes: NodeWork[], c: MessagingCosts, receipt: Receipt): NodeMessaging {
  const [rm, rb] = [receipt.messages, receipt.bytes];
  const N = nodes.length;
  const T = nodes[0]?.step.length ?? 0;
  const main = nodes.map(() => new Array<number>(T).fill(0));
  const others = new Array<number>(N).fill(0);
  const server = new Array<number>(N).fill(0);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < N; k++) {
      for (let j = 0; j < N; j++) {
        const b = j === k ? 0 : nodes[k].haloIn[t]?.[j] ?? 0;
        if (!(b > 0)) continue;
        main[k][t] += costOf(c.receive, 1, b) + costOf(c.send, rm, rb);
        others[k] += costOf(c.receiveOthers, 1, b) + costOf(c.sendOthers, rm, rb);
        main[j][Math.min(T - 1, t + 1)] += costOf(c.send, 1, b) + costOf(c.receive, rm, rb);
        others[j] += costOf(c.sendOthers, 1, b) + costOf(c.receiveOthers, rm, rb);
        const forward = costOf(c.server, 1, b) + costOf(c.server, rm, rb);
        server[j] += forward;
        server[k] += forward;
      }
    }
  }
  return { main, others, server };
}

/** The nodes with their messaging's main-thread CPU on their path (added to haloCost per step). */
export function withMessaging(nodes: NodeWork[], m: NodeMessaging): NodeWork[] {
  return nodes.map((w, k) => ({ ...w, haloCost: Array.from({ length: w.step.length }, (_, t) => (w.haloCost[t] ?? 0) + m.main[k][t]) }));
}

/** CPU seconds per iteration of node k's own work in the model: flow (with its halo plan), steps, halo rows and messaging on its path. */
export function workCpu(w: NodeWork): number {
  let s = w.flow;
  for (let t = 0; t < w.step.length; t++) s += w.step[t] + (w.haloCost[t] ?? 0);
  return s;
}

/** One party's CPU seconds per iteration and the machine it runs on. */
export interface PartyCpu {
  name: string;
  machine: number;
  cpu: number;
}

/**
 * The cores' bound on an iteration: no machine can do more CPU-seconds per second than it has cores, so
 * the iteration lasts at least max over machines of (its parties' CPU) / (its cores). Sound for any
 * schedule; it binds when the parties together want more cores than there are (here: 4 processes, 2 cores).
 */
export function coresBound(parties: PartyCpu[], cores: ArrayLike<number>): number {
  const perMachine = new Map<number, number>();
  for (const p of parties) perMachine.set(p.machine, (perMachine.get(p.machine) ?? 0) + p.cpu);
  let bound = 0;
  for (const [m, cpu] of perMachine) bound = Math.max(bound, cpu / Math.max(1e-12, cores[m]));
  return bound;
}

/** The prediction: the critical path of the nodes' own work, or the cores' bound where that is longer. */
export function predictIteration(input: ModelInput, parties: PartyCpu[], cores: ArrayLike<number>): { seconds: number; critical: ModelResult; bound: number } {
  const critical = simulateIteration(input);
  const bound = coresBound(parties, cores);
  return { seconds: Math.max(critical.seconds, bound), critical, bound };
}
