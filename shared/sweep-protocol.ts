// The messages between the local executor (coordinator/local-executor.ts) and its Piscina threads
// (worker/sweep-worker.ts), and the helpers both sides use to agree on a run.
//
// A run is (problem spec, problem fingerprint, shared table buffers). Every task carries its run: the
// buffers are SharedArrayBuffers, so structured clone shares them instead of copying them (a few
// microseconds per task), and any thread, including one that Piscina started to replace a dead one,
// can serve any task without a separate "attach" message that Piscina could not address to a thread.
// A thread builds the Problem and the table views once per run id and keeps them.
//
// Retry safety of a step or update chunk: shared/sweep-rows.ts ("Guard"); `backup` and `marks` are its
// buffers, shared by every thread of the run.
//
// Pure (no I/O, no node: imports): both sides import it, and coordinator/ and worker/ never import each other.

import type { Projection } from './policy-cell.ts';
import { createTrace, markOpened } from './team-trace.ts';
import type { GridKind } from './grid.ts';
import type { Problem } from './problem.ts';
import { allocateTables, tableLayout, type SolverTables, type TableName, type TableOptions } from './tables.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';
import type { StepOptions } from '../shared/kernels/backward.ts';
import type { RangeOp, RowGuard } from './sweep-rows.ts';

/** Same shape as coordinator/executor.ts's ProblemSpec (restated so worker/ does not import coordinator/). */
export interface SweepSpec {
  /** A built-in game's name or a game module's path (shared/game-source.ts; relative to the process cwd). */
  readonly game: string;
  readonly params: Readonly<Record<string, number>>;
  readonly bins: number;
}

export interface SweepRun {
  readonly id: string;
  readonly spec: SweepSpec;
  /** The coordinator's problem.grid.kind. */
  readonly gridKind: GridKind;
  /** The coordinator's problem.projection (absent: nearest). */
  readonly projection?: Projection;
  /** The fingerprint of the coordinator's Problem; a thread that rebuilds a different one refuses. */
  readonly fingerprint: string;
  readonly tableOptions: TableOptions;
  /** The cells whose rows the threads' Problem keeps (a cluster node's shard); default all. */
  readonly cells?: readonly [number, number];
  readonly tables: Readonly<Record<TableName, SharedArrayBuffer>>;
  /** One time slice (rows x width) of each non-empty UPDATED_TABLES table, and one stamp per row. */
  readonly backup: { readonly slices: Partial<Readonly<Record<UpdatedTable, SharedArrayBuffer>>>; readonly marks: SharedArrayBuffer };
}

/**
 * The tables indexed by (t, row, ...) that updateRange (shared/kernels/update.ts) rewrites in place. A step
 * retry restores their slice t; keep this list in step with updateRange.
 */
export const UPDATED_TABLES = ['minorPolicy', 'majorPolicy', 'minorY', 'majorY'] as const;
export type UpdatedTable = (typeof UPDATED_TABLES)[number];

/** Entries per (t, row) of each UPDATED_TABLES table that is allocated (OMD's accumulators may be empty). */
export function updatedSliceWidths(problem: Problem, options: TableOptions): Array<[UpdatedTable, number]> {
  const layout = tableLayout(problem, options);
  const perT = layout.majorPolicy.length / problem.game.nU0; // policy slices x rows
  const out: Array<[UpdatedTable, number]> = [];
  for (const name of UPDATED_TABLES) if (layout[name].length > 0) out.push([name, layout[name].length / perT]);
  return out;
}

/** Test hook: make an attempt fail, either before it writes anything or half way through its writes. */
export interface InjectedFault {
  /** 'hang': loop forever (what a task deadline must end). */
  readonly mode: 'throw' | 'exit' | 'hang';
  readonly at: 'start' | 'mid';
}

interface ChunkAttempt {
  readonly run: SweepRun;
  /** 1 for the first try of a chunk, then 2, 3, ... for its retries. */
  readonly attempt: number;
  readonly inject?: InjectedFault;
}

// Team calls (the local executor's default). The calling thread and the team's worker threads share one
// call's range, cut into `blocks` contiguous blocks that each participant claims one at a time with an atomic
// compare-and-swap until none is left: whoever is awake and fast takes more, so a thread that wakes late or
// is descheduled by another process holds up the call by at most one block. Each block is one pure range
// (same bits as any split). Calls reach a worker as messages on its own port (worker/team-worker.ts), which
// it handles in order without the calling thread's event loop; a message that arrives after its call is
// over finds no block to claim: the claim word packs the call's sequence number with the next block.
//
// Control (Int32Array): [seq << 16 | next block, blocks done, blocks]; per block: the seat (worker index + 1)
// that claimed it, and the call's seq once it is complete. What a recovery after a dead worker redoes is
// every block its seat claimed and did not complete.

const CLAIM = 0;
const DONE = 1;
const BLOCKS = 2;
const HEADER = 4;

export interface TeamControl {
  /** The control words (a view on a SharedArrayBuffer: a message carries it without copying). */
  readonly words: Int32Array;
  readonly maxBlocks: number;
  /** The workers' counters (./team-trace.ts), and when the current call was opened. */
  readonly trace: Float64Array;
}

/** One call as the participants see it. */
export interface TeamCall {
  readonly control: TeamControl;
  readonly seq: number;
  readonly blocks: number;
  /** Units of the whole range [0, units) the blocks cut. */
  readonly units: number;
}

/** Control words for calls of up to `maxBlocks` blocks, with a trace for `seats` worker seats. */
export function createTeamControl(maxBlocks: number, seats: number): TeamControl {
  return { words: new Int32Array(new SharedArrayBuffer((HEADER + 2 * maxBlocks) * 4)), maxBlocks, trace: createTrace(seats) };
}

function words(control: TeamControl): Int32Array {
  return control.words;
}

/** Opens a call of `blocks` blocks (the calling thread, before it sends the call to the workers). */
export function openTeamCall(control: TeamControl, seq: number, blocks: number, units: number): TeamCall {
  if (blocks > control.maxBlocks || blocks > 0xffff) throw new RangeError(`team: ${blocks} blocks, at most ${control.maxBlocks}`);
  const w = words(control);
  w.fill(0, HEADER, HEADER + blocks); // claimed-by seats; the done stamps are compared with seq

  Atomics.store(w, DONE, 0);
  Atomics.store(w, BLOCKS, blocks);
  markOpened(control.trace);
  Atomics.store(w, CLAIM, (seq & 0xffff) << 16);
  return { control, seq, blocks, units };
}

/** The next unclaimed block of the call for `seat` (0 = the calling thread), or -1 when none is left. */
export function claimBlock(call: TeamCall, seat: number): number {
  const w = words(call.control);
  const tag = (call.seq & 0xffff) << 16;
  for (;;) {
    const word = Atomics.load(w, CLAIM);
    if ((word & ~0xffff) !== tag) return -1; // a later call owns the control
    const b = word & 0xffff;
    if (b >= call.blocks) return -1;
    if (Atomics.compareExchange(w, CLAIM, word, word + 1) === word) {
      Atomics.store(w, HEADER + b, seat + 1);
      return b;
    }
  }
}

/** [from, to) of block b: contiguous, sizes differ by at most one. */
export function blockRange(call: Pick<TeamCall, 'blocks' | 'units'>, b: number): [number, number] {
  return [Math.floor((b * call.units) / call.blocks), Math.floor(((b + 1) * call.units) / call.blocks)];
}

/** Marks block b complete and wakes a caller waiting for the count. */
export function finishBlock(call: TeamCall, b: number): void {
  const w = words(call.control);
  Atomics.store(w, HEADER + call.control.maxBlocks + b, call.seq);
  Atomics.add(w, DONE, 1);
  Atomics.notify(w, DONE);
}

/** Blocks of the call that `seat` claimed and did not complete (after its thread died). */
export function unfinishedBlocks(call: TeamCall, seat: number): number[] {
  const w = words(call.control);
  const out: number[] = [];
  for (let b = 0; b < call.blocks; b++) {
    if (Atomics.load(w, HEADER + b) === seat + 1 && Atomics.load(w, HEADER + call.control.maxBlocks + b) !== call.seq) out.push(b);
  }
  return out;
}

/** Blocks complete so far. */
export function blocksDone(call: TeamCall): number {
  return Atomics.load(words(call.control), DONE);
}

/**
 * Blocks this thread up to `ms` until every block of the call is complete; true if they are. It spins for
 * the first `spinMs` (what is left is usually one block of the other threads, a fraction of a millisecond),
 * then waits in a futex: the thread that completes the last block wakes the waiter directly, not through an
 * event loop, but a vCPU that went idle in a futex wait takes 0.1 ms to several ms to wake on a virtual
 * machine, and a sweep has a barrier at every step.
 */
export function waitTeam(call: TeamCall, ms: number, spinMs = 0): boolean {
  const w = words(call.control);
  const start = performance.now();
  const until = start + ms;
  for (;;) {
    const done = Atomics.load(w, DONE);
    if (done >= call.blocks) return true;
    const now = performance.now();
    const left = until - now;
    if (left <= 0) return false;
    if (now - start < spinMs) continue;
    Atomics.wait(w, DONE, done, left);
  }
}

/** Resolves when the count of complete blocks changes, or after `ms` (without blocking this thread). */
export async function teamProgress(call: TeamCall, ms: number): Promise<void> {
  const w = words(call.control);
  const done = Atomics.load(w, DONE);
  if (done >= call.blocks) return;
  // Atomics.waitAsync: ES2024, in Node since 16; typed here for the es2022 lib
  const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: unknown } }).waitAsync;
  const r = waitAsync(w, DONE, done, ms);
  if (r.async) await r.value;
}

/** Main thread -> team worker (worker/team-worker.ts). */
export type TeamMessage =
  /** The run, and the team's control words (sent once: posting a SharedArrayBuffer costs far more than numbers). */
  | { readonly type: 'attach'; readonly run: SweepRun; readonly runNumber: number; readonly control: TeamControl }
  | {
      readonly type: 'call';
      /** The attach's runNumber: a call of another run is not this worker's to take. */
      readonly run: number;
      readonly call: Omit<TeamCall, 'control'>;
      readonly op: RangeOp;
      readonly inject?: InjectedFault;
    };

/** Team worker -> main thread. */
export type TeamReply =
  | { readonly type: 'attached'; readonly runId: string; readonly attachMs: number; readonly threadId: number }
  | { readonly type: 'attach-failed'; readonly runId: string; readonly message: string };

/** A range of rows at time t that updateRange rewrites: `seq` numbers the dispatch, never 0 (retry safety). */
interface RowsUpdate {
  readonly t: number;
  readonly rowFrom: number;
  readonly rowTo: number;
  readonly rule: UpdateRule;
  readonly seq: number;
}

export type SweepTask =
  | { readonly kind: 'attach'; readonly run: SweepRun }
  /** flowRange over the flat (t, row) index range [from, to): i = t * rows + r. */
  | (ChunkAttempt & { readonly kind: 'flow'; readonly from: number; readonly to: number })
  /** flowRange over rows [rowFrom, rowTo) of every slice t in [tFrom, tTo) (a cluster node's chunk). */
  | (ChunkAttempt & { readonly kind: 'flowRows'; readonly tFrom: number; readonly tTo: number; readonly rowFrom: number; readonly rowTo: number })
  /** backwardRange alone (value iteration sweeps); idempotent. */
  | (ChunkAttempt & { readonly kind: 'backward'; readonly t: number; readonly rowFrom: number; readonly rowTo: number; readonly options: StepOptions })
  /** updateRange alone, with the backup protocol. */
  | (ChunkAttempt & RowsUpdate & { readonly kind: 'update' })
  /**
   * backwardRange (storing the Q rows when the rule needs them) then updateRange, as the inline executor's step;
   * with `ranges`, only on the rows [ranges[2i], ranges[2i + 1]) inside [rowFrom, rowTo) (a cluster node's part of a step).
   */
  | (ChunkAttempt & RowsUpdate & { readonly kind: 'step'; readonly ranges?: Int32Array })
  /**
   * A cluster node's halo plan for every t in [tFrom, tTo) (shared/cluster-partition.ts haloPlanAt) over its
   * rows: the cells [cellBounds[shard], cellBounds[shard + 1]) of every x0. Read-only; the result's `plans`.
   */
  | (ChunkAttempt & { readonly kind: 'haloPlan'; readonly tFrom: number; readonly tTo: number; readonly cellBounds: readonly number[]; readonly shard: number });

/** One t of a halo plan: for each other shard the rows it sends, and the reader's late row ranges. */
export interface HaloPlanSlice {
  readonly from: Array<[number, Int32Array]>;
  readonly late: Int32Array;
}

export interface SweepResult {
  /** worker_threads threadId of the thread that ran the task. */
  readonly threadId: number;
  /** Milliseconds spent in the kernels (the cost model's measurement). */
  readonly ms: number;
  /** Rows restored from the backup before a retried step (0 otherwise). */
  readonly restoredRows: number;
  /** Milliseconds this task spent building the run's Problem first (a thread's first task of a run), else 0. */
  readonly attachMs: number;
  /** When the kernels started and ended, ms on the shared clock (performance.timeOrigin + performance.now()). */
  readonly startedAt: number;
  readonly endedAt: number;
  /** A 'haloPlan' task's plan, one entry per t of its range. */
  readonly plans?: HaloPlanSlice[];
}

/** The operation of a chunk task (shared/sweep-rows.ts). */
export function rangeOp(task: Exclude<SweepTask, { kind: 'attach' | 'flowRows' | 'haloPlan' }>): RangeOp {
  switch (task.kind) {
    case 'flow':
      return { kind: 'flow' };
    case 'backward':
      return { kind: 'backward', t: task.t, options: task.options };
    default:
      return { kind: task.kind, t: task.t, rule: task.rule, seq: task.seq };
  }
}

/** "flow [from, to)" or "step t=.. rows [a, b)": the identity errors and logs carry. */
export function describeTask(task: SweepTask): string {
  switch (task.kind) {
    case 'attach':
      return `attach run ${task.run.id}`;
    case 'flow':
      return `flow (t, row) [${task.from}, ${task.to})`;
    case 'flowRows':
      return `flow t [${task.tFrom}, ${task.tTo}) rows [${task.rowFrom}, ${task.rowTo})`;
    case 'haloPlan':
      return `halo plan t [${task.tFrom}, ${task.tTo}) of shard ${task.shard}`;
    default:
      return `${task.kind} t=${task.t} rows [${task.rowFrom}, ${task.rowTo})`;
  }
}

/** Views of the shared buffers with the layout of shared/tables.ts; checks every buffer is large enough. */
export function attachTables(
  problem: Problem,
  buffers: Readonly<Record<TableName, SharedArrayBuffer>>,
  options: TableOptions,
): SolverTables {
  const out: Partial<Record<TableName, Float64Array | Int32Array>> = {};
  for (const [name, { length, type }] of Object.entries(tableLayout(problem, options)) as Array<[TableName, { length: number; type: 'f64' | 'i32' }]>) {
    const buf = buffers[name];
    const bytes = length * (type === 'f64' ? 8 : 4);
    if (!buf || buf.byteLength < bytes) throw new Error(`table ${name}: shared buffer of ${buf?.byteLength ?? 0} bytes, need ${bytes}`);
    out[name] = type === 'f64' ? new Float64Array(buf, 0, length) : new Int32Array(buf, 0, length);
  }
  return out as unknown as SolverTables;
}

/** Views of the run's backup buffers: the guard of shared/sweep-rows.ts. */
export function rowGuardOf(problem: Problem, run: SweepRun, tables: SolverTables): RowGuard {
  const rows = problem.rows;
  const slices = updatedSliceWidths(problem, run.tableOptions).map(([name, width]) => {
    const buf = run.backup.slices[name];
    if (!buf || buf.byteLength < rows * width * 8) throw new Error(`backup of ${name}: missing or too small`);
    return { table: tables[name], width, backup: new Float64Array(buf, 0, rows * width) };
  });
  return { slices, marks: new Int32Array(run.backup.marks, 0, rows) };
}

/** Tables on SharedArrayBuffers for `problem` and the run that lets any sweep thread attach to them. */
export function createSharedRun(spec: SweepSpec, problem: Problem, tableOptions: TableOptions): { run: SweepRun; tables: SolverTables } {
  const rows = problem.rows;
  const tables = allocateTables(problem, (n) => new SharedArrayBuffer(n), tableOptions);
  const buffers = {} as Record<TableName, SharedArrayBuffer>;
  for (const [name, view] of Object.entries(tables) as Array<[TableName, Float64Array | Int32Array]>) {
    buffers[name] = view.buffer as SharedArrayBuffer;
  }
  const slices: Partial<Record<UpdatedTable, SharedArrayBuffer>> = {};
  for (const [name, width] of updatedSliceWidths(problem, tableOptions)) slices[name] = new SharedArrayBuffer(rows * width * 8);
  const run: SweepRun = {
    id: globalThis.crypto.randomUUID(),
    spec: { game: spec.game, params: { ...spec.params }, bins: spec.bins },
    gridKind: problem.grid.kind,
    projection: problem.projection,
    fingerprint: problem.fingerprint,
    tableOptions: { ...tableOptions },
    tables: buffers,
    backup: { slices, marks: new SharedArrayBuffer(rows * 4) },
  };
  return { run, tables };
}
