// The local executor: every sweep sharded over Piscina worker threads that share the solver tables
// (SharedArrayBuffers). Bitwise identical to the inline executor for any thread count and any split,
// because the kernels are per-(t, row) pure functions writing disjoint rows: no shard shares an accumulator.
//
//   flow():        the flat (t, row) range [0, slices * rows) cut into contiguous chunks, all in flight at once.
//   step(t, rule): rows [0, rows) cut into contiguous chunks; each runs backwardRange then updateRange on its
//                  rows, as the inline executor does on all rows. step() resolves when every chunk of t has:
//                  that is the barrier between t-slices. backward() and update() are sharded the same way.
//
// How tables reach the threads: each task carries its run (spec, fingerprint, shared buffers). Structured
// clone shares a SharedArrayBuffer instead of copying it, so that costs microseconds, and it lets any thread
// (also one Piscina starts to replace a dead one) serve any task; an "attach" message per thread could not be
// addressed, since Piscina hands a task to whichever thread is free. A thread rebuilds the Problem from the
// spec once per run id (tables are deterministic, and a fingerprint check proves its copy equals ours).
// open() sends one attach task per thread so the rebuilds happen up front, in parallel (best effort), and
// returns without waiting: until they are done, calls estimated under 50 ms run inline, larger ones wait.
//
// Sharding rule (planChunks). A flow item costs 0.1-1.2 us and a step row 0.3-3 us. A Piscina round trip costs
// 0.05-0.09 ms back to back, but on this machine kind (a 2-vCPU Firecracker VM) waking a thread whose vCPU has
// gone idle takes 0.2 ms to several ms, and a split leaves some imbalance. So the executor measures both:
// per kind of call (flow, step, backward, update) the kernels' ms per unit (flow item or row), the median of
// the last 5 calls (prior 1 us); and per sharded call its overhead, wall time minus the kernels' time spread
// evenly over the threads, the minimum of the last 5 (noise only adds to it; prior 0.1 ms). With W threads,
// an estimated total S ms and an overhead of O ms:
//   - W = 1: always inline (one thread cannot run beside the calling thread, which would only wait for it;
//     no pool is started);
//   - S < inlineBelowMs (1 ms): inline (small games: every step of SIS or Advertisement at M = 120);
//   - otherwise W * k chunks, k = clamp(floor(S / W / targetChunkMs), 1, maxChunksPerThread) with
//     targetChunkMs = 5 and maxChunksPerThread = 4: one chunk per thread, and up to 4 per thread once each
//     is >= 5 ms (a late thread then holds up at most a quarter of its share); never a chunk under
//     minChunkMs (0.5 ms) of estimated work, so at most floor(S / 0.5) chunks;
//   - but inline after all unless the predicted sharded time S / min(chunks, W) + O is at most
//     maxShardedFraction (0.8) of S: Buffet M = 120's 1.3 ms steps shard when O is 0.1 ms, not when it is 1;
//     every 64th call kept inline only by O is sharded anyway, so that O is measured again.
// The choice changes only timing, never bits. Tests force a fixed split with the `chunks` option.
//
// Failures. A chunk whose thread throws or dies is sent again as a fresh task, up to maxAttempts (3) attempts
// in all; then the call rejects with a ShardError naming the chunk, after every other chunk of the call has
// settled (nothing still writes when the caller sees the error). Retried steps and updates first restore
// the rows an earlier attempt had begun updating (worker/sweep-protocol.ts, "Retry safety"), so a retry
// gives the same bits as a clean run.

import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { createThreadPool } from '../worker/thread-pool.ts';
import type { Logger } from 'pino';
import { OptionError } from '../shared/errors.ts';
import type { Problem } from '../shared/problem.ts';
import type { SolverTables, TableOptions } from '../shared/tables.ts';
import { backwardRange, backwardScratch, type BackwardScratch, type StepOptions } from '../shared/kernels/backward.ts';
import { flowRange } from '../shared/kernels/flow.ts';
import { ruleNeedsQ, updateRange, type UpdateRule } from '../shared/kernels/update.ts';
import {
  createSharedRun,
  describeTask,
  type InjectedFault,
  type SweepResult,
  type SweepRun,
  type SweepTask,
} from '../worker/sweep-protocol.ts';
import type { ProblemSpec } from './executor.ts';
import { TableExecutor } from './table-executor.ts';

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
  /** While the threads are still starting, calls estimated below this (ms) run inline rather than wait. */
  readonly startupInlineBelowMs: number;
}

export const DEFAULT_CHUNK_RULE: ChunkRule = {
  inlineBelowMs: 1,
  minChunkMs: 0.5,
  targetChunkMs: 5,
  maxChunksPerThread: 4,
  maxShardedFraction: 0.8,
  startupInlineBelowMs: 50,
};

/** Dispatch overhead of one sharded call (ms) until measured: a Piscina round trip, 0.05-0.09 ms, and some. */
export const PRIOR_OVERHEAD_MS = 0.1;

/**
 * Number of chunks for `units` units of estimated `msPerUnit` ms each on `threads` threads, when a sharded
 * call costs `overheadMs` on top of its parallel work; 0 = run inline.
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

/** Test hook: the next `times` attempts of matching chunks fail (thrown error or thread exit). */
export interface FaultPlan {
  readonly kind: SweepKind;
  /** Only calls at this t (not for flow). */
  readonly t?: number;
  /** Only the chunk with this index within its call. */
  readonly chunk?: number;
  readonly times: number;
  readonly mode: 'throw' | 'exit';
  /** 'start': before the chunk writes anything; 'mid': after half of its writes (default 'start'). */
  readonly at?: 'start' | 'mid';
}

export interface LocalExecutorOptions {
  /** Worker threads (default: os.availableParallelism()). With 1 (and no `chunks`) every call runs inline. */
  threads?: number;
  /** Force every call into exactly this many chunks (at most one per unit), never inline (tests). */
  chunks?: number;
  /** Overrides of the sharding rule's constants (see planChunks). */
  rule?: Partial<ChunkRule>;
  /** Attempts per chunk before the call fails (default 3). */
  maxAttempts?: number;
  faults?: FaultPlan[];
  logger?: Logger;
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
  /** Tasks completed, retries sent, rows put back from the backup by retries. */
  tasks: number;
  retries: number;
  restoredRows: number;
  /** Most chunks one call was split into. */
  maxChunks: number;
  /** Distinct worker threads that completed at least one task. */
  threadsUsed: number;
  /** Current cost estimates, ms per unit (flow item or row), per kind. */
  msPerUnit: Record<SweepKind, number>;
  /** Current estimate of a sharded call's overhead beyond its parallel work, ms. */
  overheadMs: number;
}

type ChunkTask = Exclude<SweepTask, { kind: 'attach' | 'flowRows' }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A chunk's task before the attempt number and any injected fault are filled in. */
type ChunkBase = DistributiveOmit<ChunkTask, 'attempt' | 'inject'>;

/** Prior cost per unit (ms) until the first measurement. */
const PRIOR_MS_PER_UNIT = 1e-3;
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

/** Every this many calls kept inline only by the overhead estimate, one is sharded to measure it again. */
const REPROBE_EVERY = 64;

export class LocalExecutor extends TableExecutor {
  readonly name = 'local';
  readonly threads: number;
  private readonly forcedChunks?: number;
  private readonly rule: ChunkRule;
  private readonly maxAttempts: number;
  private readonly faults: Array<FaultPlan & { remaining: number }>;
  private readonly logger?: Logger;
  private pool?: Piscina<SweepTask, SweepResult>;
  private problem?: Problem;
  private tables?: SolverTables;
  private scratch?: BackwardScratch;
  private run?: SweepRun;
  private warmup?: { promise?: Promise<void>; done: boolean; error?: unknown };
  private seq = 0;
  private readonly cost = Object.fromEntries(SWEEP_KINDS.map((k) => [k, new CostEstimate()])) as Record<SweepKind, CostEstimate>;
  private readonly calls = Object.fromEntries(SWEEP_KINDS.map((k) => [k, { inline: 0, sharded: 0 }])) as Record<SweepKind, { inline: number; sharded: number }>;
  /** Measured overhead of a sharded call, in ms (units of 1 call). */
  private readonly overhead = new CostEstimate(PRIOR_OVERHEAD_MS, 'min');
  private keptInlineByOverhead = 0;
  private readonly threadIds = new Set<number>();
  private readonly counters = { tasks: 0, retries: 0, restoredRows: 0, maxChunks: 0 };

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
    if (!(this.rule.minChunkMs > 0) || !(this.rule.targetChunkMs > 0)) {
      throw new OptionError('local executor: rule.minChunkMs and rule.targetChunkMs must be > 0');
    }
    this.faults = (options.faults ?? []).map((f) => ({ ...f, remaining: f.times }));
    this.logger = options.logger?.child({ component: 'local-executor', threads: this.threads });
  }

  /** Allocates the tables on SharedArrayBuffers, starts the pool (once) and has the threads build the Problem. */
  protected async openTables(spec: ProblemSpec, problem: Problem, options: TableOptions): Promise<SolverTables> {
    const rows = problem.rows;
    const { run, tables } = createSharedRun(spec, problem, options);
    this.problem = problem;
    this.tables = tables;
    this.scratch = backwardScratch(problem);
    this.run = run;
    if (!this.usesThreads) return tables;
    this.pool ??= this.startPool();
    // warm-up: every thread (as Piscina hands them out) starts and rebuilds the Problem, in parallel, while
    // the calling thread goes on; sharded calls wait for it, small calls run inline meanwhile (sweep())
    this.warmup = { done: false };
    const warmup = this.warmup;
    warmup.promise = settleAll(Array.from({ length: this.threads }, (_, i) => this.runChunk({ kind: 'attach', run }, i, this.threads))).then(
      () => {
        warmup.done = true;
        this.logger?.debug({ runId: run.id, rows, fingerprint: run.fingerprint }, 'threads attached');
      },
      (err: unknown) => {
        warmup.done = true;
        warmup.error = err;
      },
    );
    return tables;
  }

  /** Resolves when every thread has started and built the Problem (open() does not wait for that). */
  async whenReady(): Promise<void> {
    const warmup = this.warmup;
    if (!warmup) return;
    await warmup.promise;
    if (warmup.error) throw warmup.error;
  }

  async flow(): Promise<void> {
    const { problem, tables, run } = this.ready();
    const units = tables.nextCell.length / problem.game.nU0; // (t, row) pairs
    await this.sweep('flow', units, () => flowRange(problem, tables.minorPolicy, tables.nextCell, 0, units), (from, to) => ({
      kind: 'flow',
      run,
      from,
      to,
    }));
  }

  async backward(t: number, options: StepOptions): Promise<void> {
    const { problem, tables, run } = this.ready();
    const scratch = this.scratch;
    await this.sweep('backward', problem.rows, () => backwardRange(problem, tables, t, 0, problem.rows, scratch, options), (rowFrom, rowTo) => ({
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
    await this.sweep('update', problem.rows, () => updateRange(problem, tables, t, 0, problem.rows, rule), (rowFrom, rowTo) => ({
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
    const { problem, tables, run } = this.ready();
    const rows = problem.rows;
    const scratch = this.scratch;
    const seq = this.nextSeq();
    const inline = () => {
      backwardRange(problem, tables, t, 0, rows, scratch, { storeQ: ruleNeedsQ(rule) });
      updateRange(problem, tables, t, 0, rows, rule);
    };
    await this.sweep('step', rows, inline, (rowFrom, rowTo) => ({ kind: 'step', run, t, rowFrom, rowTo, rule, seq }));
  }

  protected async closeTables(): Promise<void> {
    // a warm-up still under way fails with "pool is closed" and settles quietly (it never rejects)
    this.warmup = undefined;
    const pool = this.pool;
    this.pool = undefined;
    this.run = undefined;
    this.problem = undefined;
    this.tables = undefined;
    await pool?.destroy();
  }

  stats(): LocalExecutorStats {
    const c = this.counters;
    return {
      calls: Object.fromEntries(SWEEP_KINDS.map((k) => [k, { ...this.calls[k] }])) as LocalExecutorStats['calls'],
      tasks: c.tasks,
      retries: c.retries,
      restoredRows: c.restoredRows,
      maxChunks: c.maxChunks,
      threadsUsed: this.threadIds.size,
      msPerUnit: Object.fromEntries(SWEEP_KINDS.map((k) => [k, this.cost[k].msPerUnit])) as Record<SweepKind, number>,
      overheadMs: this.overhead.msPerUnit,
    };
  }

  /**
   * One call: `units` units either inline on this thread, or cut into contiguous chunks [from, to) that run
   * in parallel; resolves when all are done (the barrier), and feeds the measured time to the cost model.
   */
  private async sweep(kind: SweepKind, units: number, inline: () => void, chunkTask: (from: number, to: number) => ChunkBase): Promise<void> {
    const cost = this.cost[kind];
    let chunks = 0;
    if (this.forcedChunks !== undefined) chunks = Math.min(this.forcedChunks, units);
    else if (this.threads > 1) {
      chunks = planChunks(units, cost.msPerUnit, this.threads, this.rule, this.overhead.msPerUnit);
      const free = chunks === 0 ? planChunks(units, cost.msPerUnit, this.threads, this.rule, 0) : 0;
      if (free > 0 && ++this.keptInlineByOverhead % REPROBE_EVERY === 0) chunks = free;
    }
    const warmup = this.warmup;
    // while the threads are still starting (hundreds of ms under tsx), a call that is cheaper than waiting runs inline
    if (chunks > 0 && this.forcedChunks === undefined && !warmup?.done && units * cost.msPerUnit < this.rule.startupInlineBelowMs) chunks = 0;
    if (chunks > 0 && warmup) {
      await warmup.promise;
      if (warmup.error) throw warmup.error;
    }
    if (chunks === 0) {
      const t0 = performance.now();
      inline();
      cost.observe(performance.now() - t0, units);
      this.calls[kind].inline++;
      return;
    }
    this.counters.maxChunks = Math.max(this.counters.maxChunks, chunks);
    const t0 = performance.now();
    const tasks: Array<Promise<SweepResult>> = [];
    for (let i = 0; i < chunks; i++) tasks.push(this.runChunk(chunkTask(split(units, chunks, i), split(units, chunks, i + 1)), i, chunks));
    const results = await settleAll(tasks);
    const wall = performance.now() - t0;
    let ms = 0;
    for (const r of results) ms += r.ms;
    cost.observe(ms, units);
    // what the call cost beyond its work spread evenly over the threads: dispatch, wake-up, imbalance
    this.overhead.observe(Math.max(0, wall - ms / Math.min(chunks, this.threads)), 1);
    this.calls[kind].sharded++;
  }

  /** One chunk, retried on a fresh task up to maxAttempts times. */
  private async runChunk(base: ChunkBase | Extract<SweepTask, { kind: 'attach' }>, chunk: number, chunks: number): Promise<SweepResult> {
    let last: unknown;
    let task: SweepTask = base.kind === 'attach' ? base : ({ ...base, attempt: 1 } as ChunkTask);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const pool = this.pool;
      if (!pool) throw new Error('local executor: closed');
      if (base.kind !== 'attach') task = { ...base, attempt, inject: this.takeFault(base, chunk) } as ChunkTask;
      try {
        const result = await pool.run(task);
        this.counters.tasks++;
        this.counters.restoredRows += result.restoredRows;
        this.threadIds.add(result.threadId);
        return result;
      } catch (err) {
        if (this.pool !== pool) throw new Error('local executor: closed', { cause: err }); // close() ended it
        last = err;
        if (attempt < this.maxAttempts) {
          this.counters.retries++;
          this.logger?.warn({ runId: base.run.id, task: describeTask(task), chunk, attempt, err: (err as Error)?.message }, 'chunk failed; retrying');
        }
      }
    }
    throw new ShardError({ kind: base.kind, description: describeTask(task), chunk, chunks }, this.maxAttempts, { cause: last });
  }

  private takeFault(base: ChunkBase, chunk: number): InjectedFault | undefined {
    for (const f of this.faults) {
      if (f.remaining <= 0 || f.kind !== base.kind) continue;
      if (f.chunk !== undefined && f.chunk !== chunk) continue;
      if (f.t !== undefined && (base.kind === 'flow' || base.t !== f.t)) continue;
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
    const pool = createThreadPool<SweepTask, SweepResult>('sweep-worker', this.threads);
    // a thread that dies between tasks is replaced by Piscina; the event must not crash the process
    pool.on('error', (err: Error) => this.logger?.warn({ err: err?.message }, 'worker thread error outside a task'));
    return pool;
  }

  /** One thread cannot overlap anything with the calling thread: it would only add round trips. */
  private get usesThreads(): boolean {
    return this.threads > 1 || this.forcedChunks !== undefined;
  }

  private ready(): { problem: Problem; tables: SolverTables; run: SweepRun } {
    if (!this.problem || !this.tables || !this.run || (this.usesThreads && !this.pool)) throw new Error('local executor: open() first');
    return { problem: this.problem, tables: this.tables, run: this.run };
  }
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
