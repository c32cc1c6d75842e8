// Where a cluster node's time goes (as shared/team-trace.ts for a thread team): counters the node's shell
// (worker/shard-node.ts) and its tables (worker/shard-tables.ts) add into, sent with every heartbeat and
// printed by bench/cluster.ts as fractions of the node's iteration time. Milliseconds, summed since the node
// started; only finite-horizon iterations are counted (`iterationMs` is their wall time on the node, from the
// order's arrival to the 'done' sent), so fractions compare quantities measured in the same run.

export const NODE_TRACE_FIELDS = [
  /** Finite-horizon iterations finished, and their wall time on this node. */
  'iterations',
  'iterationMs',
  /** Steps (one per t), the wall time of their jobs (both parts of a split step) from start to end. */
  'steps',
  'stepMs',
  /** The process's CPU time (all its threads) during the steps and during the iterations: on a loaded machine wall times mix in others' work. */
  'stepCpuMs',
  'iterationCpuMs',
  /** Inside steps: the kernels (backward + update) as the node waits for them, and as the threads report them. */
  'kernelMs',
  'threadMs',
  /** Inside steps: halo rows written into the value slot, and rows packed for the readers. */
  'scatterMs',
  'gatherMs',
  /** Rows computed by the steps, and of those the rows computed after the halo arrived (split steps' late part). */
  'stepRows',
  'lateRows',
  /** Rows computed by split steps' early part, before the halo of t + 1 had arrived. */
  'earlyRows',
  /** Rows computed by split steps' head: the rows other nodes read, computed before the rest so their halo leaves sooner. */
  'headRows',
  /** CPU time of the node's own thread in the step kernels (schedstat; 0 with a pool or where unreadable). */
  'kernelCpuMs',
  /** CPU time of the node's own thread in the flow's kernels and in the halo plans (as kernelCpuMs). */
  'flowCpuMs',
  'planCpuMs',
  /**
   * CPU time of the node's own (main) thread (schedstat; 0 where unreadable): during the finite-horizon
   * iterations (from the flow's start to the start values' end), and in their step jobs and flow jobs (all
   * of a job: kernels, plans and the bookkeeping around them). What the iteration's own CPU leaves after the
   * jobs is spent between them: handling messages (receiveMs, sendMs and decodeMs bound it in wall time),
   * NATS parsing and socket I/O, timers, the garbage collector's pauses on this thread.
   */
  'ownCpuMs',
  'stepOwnCpuMs',
  'flowOwnCpuMs',
  /** Calls of the step kernels (one per range of rows of a step's part, on the node's own thread or a pool chunk). */
  'kernelCalls',
  /** Steps split into a head and a tail (some node reads their rows). */
  'headSteps',
  /** Steps started early on the rows whose inputs are local, before the halo of t + 1 had arrived. */
  'earlySteps',
  /** No job running while the next step waited for halo rows (the data dependency between nodes). */
  'haloWaitMs',
  /** From a job's order to its start (one event-loop turn, or longer when the loop is busy). */
  'queueMs',
  /** Handling received messages (decode, the pure core, the sends it causes) and sending (encode + publish). */
  'receiveMs',
  'decodeMs',
  'sendMs',
  'messagesIn',
  'messagesOut',
  /** The flow (its job, and the chunks run ahead: aheadMs) and the start values. */
  'flowMs',
  'startMs',
  /**
   * The chunks of the next iteration's flow run ahead while this one waited for halo rows or for its next
   * order (shared/cluster-node-core.ts Job 'flowAhead'), and their wall time (also in flowMs).
   */
  'aheadChunks',
  'aheadMs',
  /** Of aheadMs, the time between iterations (after one's start values, before the next one's order): in no iterationMs. */
  'aheadBetweenMs',
] as const;

export type NodeTraceField = (typeof NODE_TRACE_FIELDS)[number];
export type NodeTrace = Record<NodeTraceField, number>;

export function newNodeTrace(): NodeTrace {
  return Object.fromEntries(NODE_TRACE_FIELDS.map((f) => [f, 0])) as NodeTrace;
}

/** A trace from a heartbeat: known fields that are finite non-negative numbers, 0 otherwise; undefined if none. */
export function readNodeTrace(v: unknown): NodeTrace | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const t = newNodeTrace();
  for (const f of NODE_TRACE_FIELDS) {
    const x = (v as Record<string, unknown>)[f];
    if (typeof x === 'number' && Number.isFinite(x) && x >= 0) t[f] = x;
  }
  return t;
}

/** One line per node: where its iteration time went, as percentages of `iterationMs`, plus per-step means. */
export function describeNodeTrace(node: string, t: NodeTrace): string {
  const it = Math.max(1e-9, t.iterationMs);
  const pct = (x: number) => `${((100 * x) / it).toFixed(1)}%`;
  const other = t.iterationMs - t.stepMs - t.haloWaitMs - (t.flowMs - t.aheadBetweenMs) - t.startMs;
  const perStep = (x: number) => (t.steps > 0 ? (x / t.steps).toFixed(3) : '0');
  return (
    `${node}: ${t.iterations} iterations, ${(t.iterationMs / Math.max(1, t.iterations)).toFixed(0)} ms each; ` +
    `steps ${pct(t.stepMs)} (kernels ${pct(t.kernelMs)}, threads ${pct(t.threadMs)}, scatter ${pct(t.scatterMs)}, gather ${pct(t.gatherMs)}), ` +
    `halo wait ${pct(t.haloWaitMs)}, flow ${pct(t.flowMs)} (run ahead ${pct(t.aheadMs)} in ${t.aheadChunks} chunks, ${pct(t.aheadBetweenMs)} of it between iterations), start ${pct(t.startMs)}, rest ${pct(other)}; ` +
    `receive ${pct(t.receiveMs)} (decode ${pct(t.decodeMs)}), send ${pct(t.sendMs)}, job queue ${pct(t.queueMs)}; ` +
    `CPU: steps ${perStep(t.stepCpuMs)} ms per step, iteration ${(t.iterationCpuMs / Math.max(1, t.iterations)).toFixed(0)} ms; ` +
    `per step: ${perStep(t.stepMs)} ms step, ${perStep(t.haloWaitMs)} ms wait, ${perStep(t.kernelMs - t.threadMs)} ms dispatch; ` +
    `${perStep(t.kernelCalls)} kernel calls per step, kernel CPU ${t.stepRows > 0 ? ((1e6 * t.kernelCpuMs) / t.stepRows).toFixed(0) : 0} ns per row; own thread's CPU per iteration: step kernels ${(t.kernelCpuMs / Math.max(1, t.iterations)).toFixed(0)} ms, flow kernels ${(t.flowCpuMs / Math.max(1, t.iterations)).toFixed(0)} ms, halo plans ${(t.planCpuMs / Math.max(1, t.iterations)).toFixed(0)} ms; ${describeOwnCpu(t)}; ${t.earlySteps} of ${t.steps} steps started before their halo, ${((100 * t.lateRows) / Math.max(1, t.stepRows)).toFixed(1)}% of the rows after it, ${((100 * t.headRows) / Math.max(1, t.stepRows)).toFixed(1)}% in the heads of ${t.headSteps} split steps (sent first); ${t.messagesIn} messages in, ${t.messagesOut} out`
  );
}

/** The own thread's CPU per iteration, whole and by where it went (ms; the ownCpuMs fields). */
function describeOwnCpu(t: NodeTrace): string {
  const per = (x: number) => (x / Math.max(1, t.iterations)).toFixed(0);
  return (
    `own thread's CPU per iteration ${per(t.ownCpuMs)} ms: step jobs ${per(t.stepOwnCpuMs)} (outside the kernels ${per(t.stepOwnCpuMs - t.kernelCpuMs)}), ` +
    `flow jobs ${per(t.flowOwnCpuMs)} (outside kernels and plans ${per(t.flowOwnCpuMs - t.flowCpuMs - t.planCpuMs)}), between jobs ${per(t.ownCpuMs - t.stepOwnCpuMs - t.flowOwnCpuMs)} ` +
    `(messages: receive ${per(t.receiveMs)}, send ${per(t.sendMs)} ms wall)`
  );
}
