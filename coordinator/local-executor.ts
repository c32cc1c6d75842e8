// The local executor: every sweep shared between the calling thread and worker threads that share the solver
// tables (SharedArrayBuffers). Bitwise identical to the inline executor for any thread count and any split,
// because the kernels are per-(t, row) pure functions writing disjoint rows: no two ranges share an accumulator.
//
// Team calls (the default). With W threads the team (./thread-team.ts) has W - 1 workers and the calling
// thread is the W-th. A call (the flow, the step at t, or a value-iteration backward / update) is cut into
// blocks of about targetBlockMs (0.25 ms) of estimated work (4 to 64 per participant); the calling thread sends
// the call to every worker (into its shared mailbox if it lingers after the previous call, else as a message
// on its own port) and starts claiming blocks itself at once; each participant claims the next block with a
// compare-and-swap until none is left (shared/sweep-protocol.ts, "Team calls"). So nobody waits for a worker
// to wake (on this machine kind, a 2-vCPU Firecracker VM, waking a thread whose vCPU went idle takes 0.2 ms to
// several ms, and each of the T steps of an iteration is a barrier), the fast take more (a thread descheduled
// by another process costs at most one block), and the caller's wait at the end is a short spin, then a
// futex wait on the count of finished blocks, not a message through its event loop. A worker that gets a
// call after it is over finds no block to claim.
//   - W = 1: always inline, no threads.
//   - A call estimated under inlineBelowMs (1 ms; the kernels' ms per unit, the median of the last 5 calls,
//     prior 1 us) runs inline: small games (every step of SIS or Advertisement at M = 120).
//   - A worker still starting or building the Problem simply joins later: open() does not have to be awaited.
// The `chunks` option (tests) instead forces every call into exactly that many fixed chunks, all on a Piscina
// pool of W workers, each chunk a task (the retry tests' path); its overhead estimate (overheadSample) only
// feeds stats.
//
// Failures. A fixed chunk whose thread throws or dies is sent again as a fresh task, up to maxAttempts (3)
// attempts in all; then the call rejects with a ShardError naming the chunk, after every other chunk of the
// call has settled. In a team call, the blocks a dead worker claimed but did not finish are put back
// (shared/sweep-rows.ts, "Guard") and computed by the calling thread, with every block nobody claimed; the
// team replaces the worker, which joins the next calls. Either way the result has the bits of a clean run.
//
// Deadlines. A fixed chunk, or the rest of a team call once the calling thread has done its share, runs under
// a deadline, max(floor, factor x its expected cost) (./task-deadline.ts; `--task-timeout` sets the floor):
// past it the threads still holding work are ended and the call fails with a TaskTimeoutError naming the
// game, the operation and the rows; it is not retried, since a kernel stuck on the same input sticks again.

import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { createThreadPool } from '../runtime/thread-pool.ts';
import type { Logger } from 'pino';
import { OptionError } from '../shared/errors.ts';
import type { Problem } from '../shared/problem.ts';
import type { SolverTables, TableOptions } from '../shared/tables.ts';
import type { StepOptions } from '../shared/kernels/backward.ts';
import { flowUnits, schemeKernels } from '../shared/kernels/scheme.ts';
import { ruleNeedsQ, updateRange, type UpdateRule } from '../shared/kernels/update.ts';
import { restoreRows, runRange, type RangeContext, type RangeOp } from '../shared/sweep-rows.ts';
import { createSharedRun, describeTask, rowGuardOf, type InjectedFault, type SweepResult, type SweepRun, type SweepTask } from '../shared/sweep-protocol.ts';
import {
  blockRange,
  blocksDone,
  claimBlock,
  createTeamControl,
  finishBlock,
  openTeamCall,
  teamProgress,
  unfinishedBlocks,
  waitTeam,
  type TeamCall,
  type TeamControl,
} from '../shared/team-call.ts';
import type { ProblemSpec } from './executor.ts';
import { TableExecutor } from './table-executor.ts';
import { ThreadTeam } from './thread-team.ts';
import { readSeat, seatTid, type SeatTrace } from '../shared/team-trace.ts';
import { threadCpu } from '../runtime/thread-cpu.ts';
import { DEFAULT_TASK_DEADLINE, deadlineMs, seconds, TaskTimeoutError, type TaskDeadline } from './task-deadline.ts';

export interface ChunkRule {
  /** Below this estimated total (ms), a sweep runs inline on the calling thread. */
  readonly inlineBelowMs: number;
  /** No chunk below this estimated work (ms). */
  readonly minChunkMs: number;
  /** Chunks per thread grow (up to maxChunksPerThread) once each would be at least this long (ms). */
  readonly targetChunkMs: number;
  readonly maxChunksPerThread: number;
  /** Shard only when the predicted sharded time is at most this fraction of the inline time. */
  readonly maxShardedFraction: number;
  /** Team calls: blocks of about this much estimated work (ms), at least 4 and at most maxBlocksPerThread per participant. */
  readonly targetBlockMs: number;
  readonly maxBlocksPerThread: number;
}

export const DEFAULT_CHUNK_RULE: ChunkRule = {
  inlineBelowMs: 1,
  minChunkMs: 0.5,
  targetChunkMs: 5,
  maxChunksPerThread: 4,
  maxShardedFraction: 0.8,
  targetBlockMs: 0.25,
  maxBlocksPerThread: 64,
};

/** Dispatch overhead of one sharded call (ms) until measured: a Piscina round trip, 0.05-0.09 ms, and some. */
export const PRIOR_OVERHEAD_MS = 0.1;

/**
 * Number of chunks for `units` units of estimated `msPerUnit` ms each on `threads` threads, when a sharded
 * call costs `overheadMs` on top of its parallel work; 0 = run inline. A team call needs no overhead
 * allowance (the calling thread works from the start, so a late worker costs nothing): the executor asks
 * with overheadMs = 0, and shards whenever the work is worth at least two chunks.
 */
export function planChunks(
  units: number,
  msPerUnit: number,
  threads: number,
  rule: ChunkRule = DEFAULT_CHUNK_RULE,
  overheadMs = PRIOR_OVERHEAD_MS,
): number {
  if (units <= 0) return 0;
  const total = units * msPerUnit;
  if (!(total >= rule.inlineBelowMs)) return 0;
  const perThread = Math.min(rule.maxChunksPerThread, Math.max(1, Math.floor(total / threads / rule.targetChunkMs)));
  const chunks = Math.min(threads * perThread, Math.max(1, Math.floor(total / rule.minChunkMs)), units);
  const sharded = total / Math.min(chunks, threads) + overheadMs;
  return sharded <= rule.maxShardedFraction * total ? chunks : 0;
}

/** Test hook: the next `times` attempts of matching chunks fail (thrown error, thread exit, or endless loop). */
export interface FaultPlan {
  readonly kind: SweepKind;
  /** Only calls at this t (not for flow). */
  readonly t?: number;
  /** Only the chunk with this index within its call (team calls: the index of the worker's task). */
  readonly chunk?: number;
  readonly times: number;
  readonly mode: 'throw' | 'exit' | 'hang';
  /** 'start': before the chunk writes anything; 'mid': after half of its writes (default 'start'). */
  readonly at?: 'start' | 'mid';
}

export interface LocalExecutorOptions {
  /** Threads, the calling thread included (default: os.availableParallelism()). With 1 (and no `chunks`) every call runs inline. */
  threads?: number;
  /** Force every call into exactly this many chunks (at most one per unit), never inline, on a pool of `threads` workers (tests). */
  chunks?: number;
  /** Overrides of the sharding rule's constants (see planChunks). */
  rule?: Partial<ChunkRule>;
  /** Attempts per chunk before the call fails (default 3). */
  maxAttempts?: number;
  /** Task deadlines (default 60 s at least, else 20 times the expected cost). */
  deadline?: Partial<TaskDeadline>;
  /** Milliseconds it took to build the Problem here: a worker's first task of a run builds it too (deadlines). */
  setupMs?: number;
  /** Team calls: whether the calling thread claims blocks too (default true; tests set false so that the workers, once attached, do all). */
  callerJoins?: boolean;
  /**
   * Team calls: each thread claims its home share of the blocks first, the same rows at every step (default
   * true); false: all claim from one counter in block order (benchmarks compare the two; shared/team-call.ts).
   */
  homeShares?: boolean;
  faults?: FaultPlan[];
  logger?: Logger;
  /** Called after every sharded call with its timing (benchmarks and tests). */
  onCall?: (record: CallRecord) => void;
}

/** One sharded call: when it was dispatched and settled (shared clock, ms), and the results that came back within it. */
export interface CallRecord {
  readonly kind: SweepKind;
  readonly units: number;
  /** Fixed chunks, or team blocks. */
  readonly chunks: number;
  readonly team: boolean;
  /** Team calls: tasks posted to workers (the idle ones). */
  readonly posted: number;
  /** Team calls: blocks the calling thread ran as its share, and its kernels' time (ms). */
  readonly callerBlocks: number;
  /** Team calls: blocks the calling thread ran after a worker died (its unfinished ones, and the unclaimed). */
  readonly recoveredBlocks: number;
  readonly callerMs: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly results: ReadonlyArray<ChunkResult>;
  /** Fixed chunks: the overhead sample fed to the estimate, or undefined when the call was not a fair measure. */
  readonly overheadSample?: number;
}

export type SweepKind = 'flow' | 'step' | 'backward' | 'update';
const SWEEP_KINDS: readonly SweepKind[] = ['flow', 'step', 'backward', 'update'];

/** A chunk that failed every attempt. `task` says which: the call's kind, the chunk's range and its index. */
export class ShardError extends Error {
  override name = 'ShardError';
  constructor(
    readonly task: { kind: SweepKind | 'attach'; description: string; chunk: number; chunks: number },
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(
      `local executor: ${task.description} (chunk ${task.chunk + 1} of ${task.chunks}) failed ${attempts} attempt(s): ` +
        `${(options.cause as Error)?.message ?? String(options.cause)}`,
      options,
    );
  }
}

export interface LocalExecutorStats {
  /** Calls run inline on the calling thread and calls sharded over the threads, per kind. */
  calls: Record<SweepKind, { inline: number; sharded: number }>;
  /** Tasks completed, retries sent (fixed chunks) or failed team tasks recovered, rows put back from the backup. */
  tasks: number;
  retries: number;
  restoredRows: number;
  /** Most chunks (or team blocks) one call was split into. */
  maxChunks: number;
  /** Team calls: blocks run by the calling thread, by the workers, and again by the caller after a worker failed. */
  blocks: { caller: number; workers: number; recovered: number };
  /** Distinct worker threads that completed at least one task. */
  threadsUsed: number;
  /** Current cost estimates, ms per unit (flow item or row), per kind. */
  msPerUnit: Record<SweepKind, number>;
  /** Fixed chunks: current estimate of a sharded call's overhead beyond its parallel work, ms. */
  overheadMs: number;
  /** Fixed-chunk calls not used to measure the overhead (a retry, a thread starting: see overheadSample). */
  unbookedCalls: number;
  /** Where the time of the calls went, per kind: the calling thread's side, and each worker seat's. */
  team: { kinds: Record<SweepKind, TeamKindStats>; seats: Array<Record<SweepKind, SeatTrace>>; tids: number[] };
}

/** The calling thread's view of one kind of call (ms are wall-clock milliseconds, summed over the calls). */
export interface TeamKindStats {
  /** Team calls, and their time from opening to the end of the last block. */
  calls: number;
  wallMs: number;
  /** Time of the calls of this kind run inline. */
  inlineMs: number;
  /** Blocks the calling thread ran in team calls, its time in them, and its wait at the end for the workers' last blocks. */
  callerBlocks: number;
  callerBusyMs: number;
  callerWaitMs: number;
  /**
   * Of callerBusyMs and inlineMs, the calling thread's CPU time and its time waiting for a core that another
   * process held (0 where its scheduler statistics cannot be read: runtime/thread-cpu.ts).
   */
  callerCpuMs: number;
  callerQueuedMs: number;
  inlineCpuMs: number;
  /**
   * Time outside any call before the calls of this kind (team or inline), on the calling thread alone: before
   * a flow, the solver's work between iterations (start values, the curve); before a step, the loop between steps.
   */
  serialMs: number;
  /** Calls written into a lingering worker's mailbox, and calls sent as a message (the worker had gone to sleep). */
  mailed: number;
  messaged: number;
}

type ChunkTask = Exclude<SweepTask, { kind: 'attach' | 'flowRows' | 'haloPlan' }>;
type ChunkResult = SweepResult & { attempts: number };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A chunk's task before the attempt number and any injected fault are filled in. */
type ChunkBase = DistributiveOmit<ChunkTask, 'attempt' | 'inject'>;

/** The least deadline of a worker's start-up and Problem build (ms); a user game was checked before. */
const STARTUP_MS = 60_000;
/** Prior cost per unit (ms) until the first measurement. */
const PRIOR_MS_PER_UNIT = 1e-3;
/** The calling thread's spin at the end of a team call before it sleeps in a futex (at most two blocks' time). */
const BARRIER_SPIN_MS = 0.5;
/** Calls the cost estimate looks back over. */
const COST_WINDOW = 5;

/**
 * Measured ms per unit over the last few calls: their median (costs: one call stretched by a GC pause or by
 * another process does not flip the choice of the next ones), or their minimum (overheads: noise only adds).
 */
class CostEstimate {
  private readonly recent: number[] = [];
  constructor(
    public msPerUnit: number = PRIOR_MS_PER_UNIT,
    private readonly pick: 'median' | 'min' = 'median',
  ) {}
  observe(ms: number, units: number): void {
    if (units <= 0 || !(ms >= 0)) return;
    this.recent.push(ms / units);
    if (this.recent.length > COST_WINDOW) this.recent.shift();
    const sorted = [...this.recent].sort((a, b) => a - b);
    this.msPerUnit = this.pick === 'min' ? sorted[0] : sorted[(sorted.length - 1) >> 1];
  }
}

export class LocalExecutor extends TableExecutor {
  readonly name = 'local';
  readonly threads: number;
  private readonly forcedChunks?: number;
  private readonly rule: ChunkRule;
  private readonly maxAttempts: number;
  private readonly deadline: TaskDeadline;
  private readonly setupMs: number;
  private readonly callerJoins: boolean;
  private readonly homeShares: boolean;
  private readonly faults: Array<FaultPlan & { remaining: number }>;
  private readonly logger?: Logger;
  private readonly onCall?: (record: CallRecord) => void;
  /** Forced fixed chunks (tests): a Piscina pool. Team calls: the thread team and its control words. */
  private pool?: Piscina<SweepTask, SweepResult>;
  private team?: ThreadTeam;
  private control?: TeamControl;
  /** The team call in progress, and the seats whose worker died during it. */
  private current?: { call: TeamCall; dead: number[] };
  private ctx?: RangeContext & { readonly run: SweepRun };
  private warmup?: { promise?: Promise<void>; done: boolean; error?: unknown };
  private seq = 0;
  private readonly cost = Object.fromEntries(SWEEP_KINDS.map((k) => [k, new CostEstimate()])) as Record<SweepKind, CostEstimate>;
  private readonly calls = Object.fromEntries(SWEEP_KINDS.map((k) => [k, { inline: 0, sharded: 0 }])) as Record<SweepKind, { inline: number; sharded: number }>;
  /** Measured overhead of a fixed-chunk call, in ms (units of 1 call). */
  private readonly overhead = new CostEstimate(PRIOR_OVERHEAD_MS, 'min');
  private readonly threadIds = new Set<number>();
  private readonly teamKinds = Object.fromEntries(SWEEP_KINDS.map((k) => [k, emptyKindStats()])) as Record<SweepKind, TeamKindStats>;
  /** When the last call ended (performance.now()), for the serial time before the next. */
  private lastCallEnd?: number;
  private readonly counters = { tasks: 0, retries: 0, restoredRows: 0, maxChunks: 0, unbookedCalls: 0, callerBlocks: 0, workerBlocks: 0, recoveredBlocks: 0 };

  constructor(options: LocalExecutorOptions = {}) {
    super();
    this.threads = options.threads ?? availableParallelism();
    checkInt('threads', this.threads, 1);
    if (options.chunks !== undefined) checkInt('chunks', options.chunks, 1);
    this.forcedChunks = options.chunks;
    this.maxAttempts = options.maxAttempts ?? 3;
    checkInt('maxAttempts', this.maxAttempts, 1);
    this.rule = { ...DEFAULT_CHUNK_RULE, ...options.rule };
    for (const key of Object.keys(DEFAULT_CHUNK_RULE) as Array<keyof ChunkRule>) {
      const v = this.rule[key];
      if (typeof v !== 'number' || Number.isNaN(v) || v < 0) throw new OptionError(`local executor: rule.${key} must be a number >= 0, got ${String(v)}`);
    }
    checkInt('rule.maxChunksPerThread', this.rule.maxChunksPerThread, 1);
    checkInt('rule.maxBlocksPerThread', this.rule.maxBlocksPerThread, 4);
    if (!(this.rule.minChunkMs > 0) || !(this.rule.targetChunkMs > 0) || !(this.rule.targetBlockMs > 0)) {
      throw new OptionError('local executor: rule.minChunkMs, rule.targetChunkMs and rule.targetBlockMs must be > 0');
    }
    this.deadline = { ...DEFAULT_TASK_DEADLINE, ...options.deadline };
    if (!(this.deadline.floorMs > 0) || !(this.deadline.factor >= 1)) {
      throw new OptionError(`local executor: deadline needs floorMs > 0 and factor >= 1, got ${JSON.stringify(this.deadline)}`);
    }
    this.setupMs = options.setupMs ?? 0;
    this.callerJoins = options.callerJoins ?? true;
    this.homeShares = options.homeShares ?? true;
    this.faults = (options.faults ?? []).map((f) => ({ ...f, remaining: f.times }));
    this.logger = options.logger?.child({ component: 'local-executor', threads: this.threads });
    this.onCall = options.onCall;
  }

  /** Allocates the tables on SharedArrayBuffers, starts the pool (once) and has the workers build the Problem. */
  protected async openTables(spec: ProblemSpec, problem: Problem, options: TableOptions): Promise<SolverTables> {
    const { run, tables } = createSharedRun(spec, problem, options);
    this.lastCallEnd = undefined;
    this.ctx = { problem, tables, kernels: schemeKernels(problem), guard: rowGuardOf(problem, run, tables), run };
    if (this.poolThreads === 0) return tables;
    // warm-up: every worker starts and builds the Problem, in parallel, while the calling thread goes on; a
    // team call runs on whoever is ready (the calling thread at least), fixed chunks wait for this
    const warmup: { promise?: Promise<void>; done: boolean; error?: unknown } = { done: false };
    this.warmup = warmup;
    let attached: Promise<unknown>;
    if (this.forcedChunks !== undefined) {
      this.pool ??= this.startPool();
      attached = settleAll(Array.from({ length: this.poolThreads }, (_, i) => this.runChunk({ kind: 'attach', run }, i, this.poolThreads)));
    } else {
      this.team ??= new ThreadTeam(this.poolThreads, (seat, err) => this.workerExited(seat, err), this.logger);
      this.control ??= createTeamControl((this.poolThreads + 1) * this.rule.maxBlocksPerThread, this.poolThreads);
      attached = this.team.attach(run, this.control);
    }
    warmup.promise = attached.then(
      () => {
        warmup.done = true;
        this.logger?.debug({ runId: run.id, rows: problem.rows, fingerprint: run.fingerprint }, 'threads attached');
      },
      (err: unknown) => {
        warmup.done = true;
        warmup.error = err;
      },
    );
    return tables;
  }

  /** Resolves when every worker has started and built the Problem (open() does not wait for that). */
  async whenReady(): Promise<void> {
    const warmup = this.warmup;
    if (!warmup) return;
    await warmup.promise;
    if (warmup.error) throw warmup.error;
  }

  async flow(): Promise<void> {
    const { problem, tables, run, kernels } = this.ready();
    const units = flowUnits(problem, tables); // (t, row) pairs
    await this.sweep('flow', units, { kind: 'flow' }, () => kernels.flow(tables, 0, units), (from, to) => ({
      kind: 'flow',
      run,
      from,
      to,
    }));
  }

  async backward(t: number, options: StepOptions): Promise<void> {
    const { problem, tables, run, kernels } = this.ready();
    const op: RangeOp = { kind: 'backward', t, options };
    await this.sweep('backward', problem.rows, op, () => kernels.backward(tables, t, 0, problem.rows, options), (rowFrom, rowTo) => ({
      kind: 'backward',
      run,
      t,
      rowFrom,
      rowTo,
      options,
    }));
  }

  async update(t: number, rule: UpdateRule): Promise<void> {
    const { problem, tables, run } = this.ready();
    const seq = this.nextSeq();
    const op: RangeOp = { kind: 'update', t, rule, seq };
    await this.sweep('update', problem.rows, op, () => updateRange(problem, tables, t, 0, problem.rows, rule), (rowFrom, rowTo) => ({
      kind: 'update',
      run,
      t,
      rowFrom,
      rowTo,
      rule,
      seq,
    }));
  }

  async step(t: number, rule: UpdateRule): Promise<void> {
    const { problem, tables, run, kernels } = this.ready();
    const rows = problem.rows;
    const seq = this.nextSeq();
    const inline = () => {
      kernels.backward(tables, t, 0, rows, { storeQ: ruleNeedsQ(rule) });
      updateRange(problem, tables, t, 0, rows, rule);
    };
    await this.sweep('step', rows, { kind: 'step', t, rule, seq }, inline, (rowFrom, rowTo) => ({ kind: 'step', run, t, rowFrom, rowTo, rule, seq }));
  }

  protected async closeTables(): Promise<void> {
    // a warm-up or a team task still under way fails with "pool is closed" and settles quietly
    this.warmup = undefined;
    const pool = this.pool;
    const team = this.team;
    this.pool = undefined;
    this.team = undefined;
    this.ctx = undefined;
    await Promise.all([pool?.destroy(), team?.close()]);
  }

  stats(): LocalExecutorStats {
    const c = this.counters;
    return {
      calls: Object.fromEntries(SWEEP_KINDS.map((k) => [k, { ...this.calls[k] }])) as LocalExecutorStats['calls'],
      tasks: c.tasks,
      retries: c.retries,
      restoredRows: c.restoredRows,
      maxChunks: c.maxChunks,
      blocks: { caller: c.callerBlocks, workers: c.workerBlocks, recovered: c.recoveredBlocks },
      threadsUsed: this.threadIds.size + (this.team?.threadIds.size ?? 0),
      msPerUnit: Object.fromEntries(SWEEP_KINDS.map((k) => [k, this.cost[k].msPerUnit])) as Record<SweepKind, number>,
      overheadMs: this.overhead.msPerUnit,
      unbookedCalls: c.unbookedCalls,
      team: {
        kinds: Object.fromEntries(SWEEP_KINDS.map((k) => [k, { ...this.teamKinds[k] }])) as Record<SweepKind, TeamKindStats>,
        seats: this.control ? Array.from({ length: this.poolThreads }, (_, seat) => readSeat(this.control!.trace, seat)) : [],
        tids: this.control ? Array.from({ length: this.poolThreads }, (_, seat) => seatTid(this.control!.trace, seat)) : [],
      },
    };
  }

  /**
   * One call: `units` units inline on this thread, as a team call, or in forced fixed chunks; resolves when
   * all are done (the barrier), and feeds the measured time to the cost model.
   */
  private async sweep(kind: SweepKind, units: number, op: RangeOp, inline: () => void, chunkTask: (from: number, to: number) => ChunkBase): Promise<void> {
    if (this.warmup?.error) throw this.warmup.error;
    if (this.forcedChunks !== undefined) return this.fixedSweep(kind, units, Math.min(this.forcedChunks, units), chunkTask);
    const cost = this.cost[kind];
    const stats = this.teamKinds[kind];
    const t0 = performance.now();
    if (this.lastCallEnd !== undefined) stats.serialMs += t0 - this.lastCallEnd;
    try {
      if (this.poolThreads === 0 || planChunks(units, cost.msPerUnit, this.threads, this.rule, 0) === 0) {
        const cpu0 = threadCpu();
        inline();
        const ms = performance.now() - t0;
        const cpu1 = threadCpu();
        if (cpu0 && cpu1) stats.inlineCpuMs += (cpu1.cpuNs - cpu0.cpuNs) / 1e6;
        cost.observe(ms, units);
        stats.inlineMs += ms;
        this.calls[kind].inline++;
        return;
      }
      await this.teamSweep(kind, units, op);
    } finally {
      this.lastCallEnd = performance.now();
    }
  }

  /** A team call (see the file comment): the calling thread and every worker claim blocks of [0, units). */
  private async teamSweep(kind: SweepKind, units: number, op: RangeOp): Promise<void> {
    if (!this.callerJoins) await this.whenReady(); // the workers alone (tests): they must be there
    const ctx = this.ctx!;
    const team = this.team!;
    const cost = this.cost[kind];
    const expectedMs = units * cost.msPerUnit;
    const participants = team.size + 1;
    const wanted = Math.max(4 * participants, Math.ceil(expectedMs / this.rule.targetBlockMs));
    const blocks = Math.min(units, participants * this.rule.maxBlocksPerThread, wanted);
    const seq = 'seq' in op ? op.seq : this.nextSeq();
    const stats = this.teamKinds[kind];
    const w0 = performance.now();
    const call = openTeamCall(this.control!, seq, blocks, units, this.homeShares);
    this.current = { call, dead: [] };
    const startedAt = clock();
    for (let seat = 0; seat < team.size; seat++) {
      if (team.call(seat, { seq, blocks, units }, op, this.takeFault(kind, op, seat))) stats.mailed++;
      else stats.messaged++;
    }
    // the calling thread's share (seat team.size), unguarded: it cannot fail apart from the call
    let callerBlocks = 0;
    let callerUnits = 0;
    const c0 = performance.now();
    const cpu0 = threadCpu();
    if (this.callerJoins) {
      for (let b = claimBlock(call, team.size); b >= 0; b = claimBlock(call, team.size)) {
        callerUnits += this.runBlockHere(call, op, b, false);
        callerBlocks++;
      }
    }
    const c1 = performance.now();
    const cpu1 = threadCpu();
    if (cpu0 && cpu1) {
      stats.callerCpuMs += (cpu1.cpuNs - cpu0.cpuNs) / 1e6;
      stats.callerQueuedMs += (cpu1.waitNs - cpu0.waitNs) / 1e6;
    }
    const callerMs = c1 - c0;
    const recovered0 = this.counters.recoveredBlocks;
    try {
      // a worker still on its last block: wait for the count (a futex), briefly; then without blocking
      if (!waitTeam(call, Math.max(2, (4 * expectedMs) / blocks), Math.min(BARRIER_SPIN_MS, (2 * expectedMs) / blocks))) await this.awaitTeam(call, op, expectedMs);
    } finally {
      this.current = undefined;
    }
    const endedAt = clock();
    const w1 = performance.now();
    stats.calls++;
    stats.wallMs += w1 - w0;
    stats.callerBlocks += callerBlocks;
    stats.callerBusyMs += callerMs;
    stats.callerWaitMs += w1 - c1;
    const recoveredBlocks = this.counters.recoveredBlocks - recovered0;
    this.counters.callerBlocks += callerBlocks;
    this.counters.workerBlocks += blocks - callerBlocks - recoveredBlocks; // the workers' replies may not be read yet
    this.counters.maxChunks = Math.max(this.counters.maxChunks, blocks);
    if (callerUnits > 0) cost.observe(callerMs, callerUnits);
    this.calls[kind].sharded++;
    this.onCall?.({ kind, units, chunks: blocks, team: true, posted: team.size, callerBlocks, recoveredBlocks, callerMs, startedAt, endedAt, results: [] });
  }

  /**
   * The rest of a team call, with the event loop free (worker exits arrive as events): redoes the blocks of
   * workers that died, and past the deadline ends the workers still holding blocks and fails the call.
   */
  private async awaitTeam(call: TeamCall, op: RangeOp, expectedMs: number): Promise<void> {
    const ctx = this.ctx!;
    const team = this.team!;
    const limit = deadlineMs(this.deadline, expectedMs + this.setupMs);
    const t0 = performance.now();
    for (;;) {
      const dead = this.current!.dead.splice(0);
      for (const seat of dead) {
        for (const b of unfinishedBlocks(call, seat)) {
          this.runBlockHere(call, op, b, true);
          this.counters.recoveredBlocks++;
        }
      }
      // after a death the calling thread also takes what nobody claimed (its replacement never saw this call)
      if (dead.length > 0) {
        for (let b = claimBlock(call, team.size); b >= 0; b = claimBlock(call, team.size)) {
          this.runBlockHere(call, op, b, false);
          this.counters.recoveredBlocks++;
        }
      }
      if (blocksDone(call) >= call.blocks) return;
      const elapsed = performance.now() - t0;
      if (elapsed > limit) {
        const stuck: string[] = [];
        for (let seat = 0; seat < team.size; seat++) {
          const held = unfinishedBlocks(call, seat);
          if (held.length === 0) continue;
          team.terminate(seat);
          for (const b of held) stuck.push(`${describeOp(op)} rows [${blockRange(call, b).join(', ')})`.replace(/^flow rows/, 'flow (t, row)'));
        }
        throw new TaskTimeoutError(
          `game '${ctx.problem.game.name}': a worker thread's ${stuck.join('; ') || describeOp(op)} did not finish within ${seconds(limit)}; ` +
            `expected about ${seconds(expectedMs)} (a kernel stuck in a loop?; --task-timeout raises the limit)`,
        );
      }
      await teamProgress(call, Math.min(50, limit - elapsed + 1));
    }
  }

  /**
   * Block b of a team call on the calling thread, unguarded (it cannot fail apart from the call); `restore`
   * first puts back the rows a dead worker had begun updating. Returns the block's units.
   */
  private runBlockHere(call: TeamCall, op: RangeOp, b: number, restore: boolean): number {
    const { problem, tables, kernels, guard } = this.ctx!;
    const [from, to] = blockRange(call, b);
    if (restore && (op.kind === 'step' || op.kind === 'update')) this.counters.restoredRows += restoreRows(problem, guard!, op.t, from, to, op.seq);
    runRange({ problem, tables, kernels }, op, from, to);
    finishBlock(call, b);
    return to - from;
  }

  /** A team worker exited (a crash, an injected fault, a deadline): its blocks in the current call get redone. */
  private workerExited(seat: number, err: Error): void {
    this.counters.retries++;
    this.logger?.warn({ runId: this.ctx?.run.id, seat, err: err.message }, 'team worker exited; its unfinished blocks run on the calling thread');
    this.current?.dead.push(seat);
  }

  /** Forced fixed chunks (tests): every chunk a Piscina task, retried up to maxAttempts. */
  private async fixedSweep(kind: SweepKind, units: number, chunks: number, chunkTask: (from: number, to: number) => ChunkBase): Promise<void> {
    const cost = this.cost[kind];
    const warmup = this.warmup;
    if (warmup) {
      await warmup.promise;
      if (warmup.error) throw warmup.error;
    }
    this.counters.maxChunks = Math.max(this.counters.maxChunks, chunks);
    const startedAt = clock();
    const tasks: Array<Promise<ChunkResult>> = [];
    for (let i = 0; i < chunks; i++) tasks.push(this.runChunk(chunkTask(split(units, chunks, i), split(units, chunks, i + 1)), i, chunks));
    const results = await settleAll(tasks);
    const endedAt = clock();
    let ms = 0;
    for (const r of results) ms += r.ms;
    cost.observe(ms, units);
    const sample = overheadSample(endedAt - startedAt, results, Math.min(chunks, this.poolThreads));
    if (sample === undefined) this.counters.unbookedCalls++;
    else this.overhead.observe(sample, 1);
    this.calls[kind].sharded++;
    this.onCall?.({ kind, units, chunks, team: false, posted: chunks, callerBlocks: 0, recoveredBlocks: 0, callerMs: 0, startedAt, endedAt, results, overheadSample: sample });
  }

  /** One chunk, retried on a fresh task up to maxAttempts times (a deadline is not retried). */
  private async runChunk(base: ChunkBase | Extract<SweepTask, { kind: 'attach' }>, chunk: number, chunks: number): Promise<ChunkResult> {
    let last: unknown;
    let task: SweepTask = base.kind === 'attach' ? base : ({ ...base, attempt: 1 } as ChunkTask);
    const expectedMs = base.kind === 'attach' ? 0 : (this.cost[base.kind].msPerUnit * ('from' in base ? base.to - base.from : base.rowTo - base.rowFrom));
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (base.kind !== 'attach') task = { ...base, attempt, inject: this.takeFault(base.kind, base, chunk) } as ChunkTask;
      try {
        return { ...(await this.runTask(task, expectedMs)), attempts: attempt };
      } catch (err) {
        if (err instanceof TaskTimeoutError || (err as Error)?.message === 'local executor: closed') throw err;
        last = err;
        if (attempt < this.maxAttempts) {
          this.counters.retries++;
          this.logger?.warn({ runId: base.run.id, task: describeTask(task), chunk, attempt, err: (err as Error)?.message }, 'chunk failed; retrying');
        }
      }
    }
    throw new ShardError({ kind: base.kind, description: describeTask(task), chunk, chunks }, this.maxAttempts, { cause: last });
  }

  /**
   * One Piscina task under its deadline: max(floor, factor x (expected + the Problem's build, which a
   * worker's first task of a run includes)). Past it, Piscina terminates the thread and this rejects with a
   * TaskTimeoutError naming the task, the game and where.
   */
  private async runTask(task: SweepTask, expectedMs: number): Promise<ChunkResult> {
    const pool = this.pool;
    if (!pool) throw new Error('local executor: closed');
    // a thread's first task starts the thread and builds the Problem: never less than a minute for that
    const limit = Math.max(deadlineMs(this.deadline, expectedMs + this.setupMs), task.kind === 'attach' ? STARTUP_MS : 0);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), limit);
    try {
      const result = await pool.run(task, { signal: abort.signal });
      this.counters.tasks++;
      this.counters.restoredRows += result.restoredRows;
      this.threadIds.add(result.threadId);
      return { ...result, attempts: task.kind === 'attach' ? 1 : task.attempt };
    } catch (err) {
      if (this.pool !== pool) throw new Error('local executor: closed', { cause: err }); // close() ended it
      if (abort.signal.aborted) throw this.timeoutError(task, limit, expectedMs);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private timeoutError(task: SweepTask, limitMs: number, expectedMs: number): TaskTimeoutError {
    const { run } = task;
    const what = task.kind === 'attach' ? `building the game's tables (${run.spec.bins} bins)` : describeTask(task);
    const expected = task.kind === 'attach' ? '' : `; expected about ${seconds(expectedMs)}`;
    return new TaskTimeoutError(
      `game '${this.ctx?.problem.game.name ?? run.spec.game}': a worker thread's task, ${what}, did not finish within ${seconds(limitMs)}${expected} ` +
        `(a kernel stuck in a loop?; --task-timeout raises the limit)`,
    );
  }

  private takeFault(kind: SweepKind, at: object, chunk: number): InjectedFault | undefined {
    for (const f of this.faults) {
      if (f.remaining <= 0 || f.kind !== kind) continue;
      if (f.chunk !== undefined && f.chunk !== chunk) continue;
      if (f.t !== undefined && (!('t' in at) || at.t !== f.t)) continue;
      f.remaining--;
      return { mode: f.mode, at: f.at ?? 'start' };
    }
    return undefined;
  }

  private nextSeq(): number {
    this.seq = (this.seq % 0x7fffffff) + 1;
    return this.seq;
  }

  private startPool(): Piscina<SweepTask, SweepResult> {
    const pool = createThreadPool<SweepTask, SweepResult>('sweep-worker', this.poolThreads);
    // a thread that dies between tasks is replaced by Piscina; the event must not crash the process
    pool.on('error', (err: Error) => this.logger?.warn({ err: err?.message }, 'worker thread error outside a task'));
    return pool;
  }

  /** Workers in the pool: W - 1 beside the calling thread (team calls), or W for forced fixed chunks. */
  private get poolThreads(): number {
    return this.forcedChunks !== undefined ? this.threads : this.threads - 1;
  }

  private ready(): RangeContext & { run: SweepRun } {
    const ctx = this.ctx;
    if (!ctx || (this.poolThreads > 0 && !this.pool && !this.team)) throw new Error('local executor: open() first');
    return ctx;
  }
}

/**
 * What a fixed-chunk call cost beyond its kernels' time spread evenly over the threads (dispatch, wake-up,
 * imbalance), or undefined when the call says nothing about that: a chunk was retried, a thread first built
 * the run's Problem (a replacement for a dead thread starts with that), or fewer distinct threads served the
 * call than it had chunks for (one was still starting: the others ran its share). Booking those made one
 * thread fault look like 50-464 ms of overhead per call, and the rest of the run went inline.
 */
export function overheadSample(
  wallMs: number,
  results: ReadonlyArray<Pick<ChunkResult, 'ms' | 'threadId' | 'attachMs' | 'attempts'>>,
  parallel: number,
): number | undefined {
  let ms = 0;
  const threads = new Set<number>();
  for (const r of results) {
    if (r.attempts > 1 || r.attachMs > 0) return undefined;
    ms += r.ms;
    threads.add(r.threadId);
  }
  if (threads.size < parallel) return undefined;
  return Math.max(0, wallMs - ms / parallel);
}

/** "step t=3" or "flow": what a team call was doing, for messages. */
function describeOp(op: RangeOp): string {
  return op.kind === 'flow' ? 'flow' : `${op.kind} t=${op.t}`;
}

/** Milliseconds on the clock the worker threads share (their results carry the same). */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** Start of chunk i of `chunks` over [0, n): contiguous, sizes differ by at most one. */
function split(n: number, chunks: number, i: number): number {
  return Math.floor((i * n) / chunks);
}

/** Promise.all that waits for every promise to settle before rejecting with the first failure (in order). */
export async function settleAll<T>(promises: Array<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

function checkInt(field: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new OptionError(`local executor: ${field} must be an integer >= ${min}, got ${String(v)}`);
}

function emptyKindStats(): TeamKindStats {
  return { calls: 0, wallMs: 0, inlineMs: 0, callerBlocks: 0, callerBusyMs: 0, callerWaitMs: 0, callerCpuMs: 0, callerQueuedMs: 0, inlineCpuMs: 0, serialMs: 0, mailed: 0, messaged: 0 };
}
