// The messages between the local executor (coordinator/local-executor.ts) and its Piscina threads
// (worker/sweep-worker.ts), and the helpers both sides use to agree on a run.
//
// A run is (problem spec, problem fingerprint, shared table buffers). Every task carries its run: the
// buffers are SharedArrayBuffers, so structured clone shares them instead of copying them (a few
// microseconds per task), and any thread, including one that Piscina started to replace a dead one,
// can serve any task without a separate "attach" message that Piscina could not address to a thread.
// A thread builds the Problem and the table views once per run id and keeps them.
//
// Retry safety of a step or update chunk. A step is backwardRange (reads values at t+1 and the policies at t;
// writes values at t and the greedy actions and Q rows of its rows) then updateRange (rewrites slice t of its
// rows in the policies and, for OMD, in the accumulators: UPDATED_TABLES). The first half is idempotent; the
// second is not: a retried backward pass would read an already updated policy, and OMD would add Q twice.
// So before updating, a chunk copies its rows' slice t of those tables into `backup` and then stamps
// `marks[r] = seq` (the dispatch's sequence number); a retry first restores every row stamped with its seq.
// A chunk that dies before the stamps has left those tables untouched; one that dies after them has a
// complete backup. Either way the retry recomputes from the same inputs and writes the same bits.
//
// This file belongs with the message protocol in shared/ (design.md); it lives here until that moves.

export { problemFingerprint } from '../shared/problem-fingerprint.ts';
import { problemFingerprint } from '../shared/problem-fingerprint.ts';
import { randomUUID } from 'node:crypto';
import type { GridKind } from '../shared/grid.ts';
import type { Problem } from '../shared/problem.ts';
import { allocateTables, tableLayout, type SolverTables, type TableName, type TableOptions } from '../shared/tables.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';
import type { StepOptions } from '../shared/kernels/backward.ts';

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
  /** problemFingerprint() of the coordinator's Problem; a thread that rebuilds a different one refuses. */
  readonly fingerprint: string;
  readonly tableOptions: TableOptions;
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
  const perT = layout.nextCell.length / problem.game.nU0; // policy slices x rows
  const out: Array<[UpdatedTable, number]> = [];
  for (const name of UPDATED_TABLES) if (layout[name].length > 0) out.push([name, layout[name].length / perT]);
  return out;
}

/** Test hook: make an attempt fail, either before it writes anything or half way through its writes. */
export interface InjectedFault {
  readonly mode: 'throw' | 'exit';
  readonly at: 'start' | 'mid';
}

interface ChunkAttempt {
  readonly run: SweepRun;
  /** 1 for the first try of a chunk, then 2, 3, ... for its retries. */
  readonly attempt: number;
  readonly inject?: InjectedFault;
}

/** A range of rows at time t that updateRange rewrites: `seq` numbers the dispatch, never 0 (Retry safety). */
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
  /** backwardRange (storing the Q rows when the rule needs them) then updateRange, as the inline executor's step. */
  | (ChunkAttempt & RowsUpdate & { readonly kind: 'step' });

export interface SweepResult {
  /** worker_threads threadId of the thread that ran the task. */
  readonly threadId: number;
  /** Milliseconds spent in the kernels (the cost model's measurement). */
  readonly ms: number;
  /** Rows restored from the backup before a retried step (0 otherwise). */
  readonly restoredRows: number;
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
    id: randomUUID(),
    spec: { game: spec.game, params: { ...spec.params }, bins: spec.bins },
    gridKind: problem.grid.kind,
    fingerprint: problemFingerprint(problem),
    tableOptions: { ...tableOptions },
    tables: buffers,
    backup: { slices, marks: new SharedArrayBuffer(rows * 4) },
  };
  return { run, tables };
}
