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
import type { TeamCall, TeamControl } from './team-call.ts';
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

// Team calls: ./team-call.ts.

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
