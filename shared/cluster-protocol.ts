// The messages between the cluster coordinator (coordinator/cluster-executor.ts) and its nodes
// (worker/node.ts), and the pure table operations both sides use to build and apply them. No I/O here.
//
// Who holds what. The coordinator's tables are the truth: every result a node computes comes back and is
// written there, so a node that dies loses nothing. A node also keeps copies of the per-time slices it
// worked on: the policies, the OMD accumulators and the next cells of (t, rows [a, b)) — a "slice". The
// coordinator numbers every slice's content with a generation; a task lists the generation of each slice it
// touches and attaches the slice's data only when the node is not known to hold that generation. Both sides
// then apply the same kernel to the same bits (a flow rewrites the next cells, a step's update the
// policies), so after a flow or a step the slice is at gen + 1 on both. A node that lacks a generation
// answers "miss" and gets the data; a node that fails mid-task forgets the slices the task touched.
//
// Values are never cached: a step or backward task carries exactly the value rows of the slot it reads that
// its rows reference (x0' * cells + next(t, x0, u0, c) over the support of P0), and returns the value rows
// it wrote that the coordinator asked for (the rows the step at t - 1 will reference, or all of them).
//
// Every task carries an id and a random nonce; a reply counts only if both match an outstanding attempt and
// its shape checks out (checkReply); anything else is ignored.

import type { GridKind } from './grid.ts';
import type { Problem } from './problem.ts';
import type { SolverTables, TableOptions } from './tables.ts';
import type { StepOptions } from './kernels/backward.ts';
import type { UpdateRule } from './kernels/update.ts';

export const CLUSTER_PROTOCOL_VERSION = 1;

/** What a node needs to rebuild the coordinator's Problem and tables (fingerprint-checked). */
export interface ClusterRun {
  readonly id: string;
  readonly spec: { readonly game: string; readonly params: Readonly<Record<string, number>>; readonly bins: number };
  readonly gridKind: GridKind;
  readonly fingerprint: string;
  readonly tableOptions: TableOptions;
}

export interface SliceData {
  readonly minorPolicy: Float64Array;
  readonly majorPolicy: Float64Array;
  readonly nextCell: Int32Array;
  /** OMD only. */
  readonly minorY?: Float64Array;
  readonly majorY?: Float64Array;
}

export interface SliceRef {
  readonly t: number;
  readonly gen: number;
  readonly data?: SliceData;
}

/** Value rows of one slot: rows[i]'s entries at minorBR[i * nX ...], majorBR[i], ... */
export interface ValueRows {
  readonly slot: number;
  readonly rows: Int32Array;
  readonly minorBR: Float64Array;
  readonly minorEval: Float64Array;
  readonly majorBR: Float64Array;
  readonly majorEval: Float64Array;
}

export type TaskBody =
  /** Flow of slices t in [tFrom, tTo) on the task's rows. */
  | { readonly kind: 'flow'; readonly tFrom: number; readonly tTo: number }
  /** Backward step at t and the update of slice t; `returnRows` = the written value rows to send back (null: all). */
  | { readonly kind: 'step'; readonly t: number; readonly rule: UpdateRule; readonly storeQ: boolean; readonly values: ValueRows; readonly returnRows: Int32Array | null }
  /** Backward step alone (value iteration): all written value rows come back. */
  | { readonly kind: 'backward'; readonly t: number; readonly options: StepOptions; readonly values: ValueRows };

export interface TaskMessage {
  readonly type: 'task';
  readonly v: number;
  readonly id: string;
  readonly nonce: string;
  readonly run: ClusterRun;
  readonly rowFrom: number;
  readonly rowTo: number;
  readonly slices: readonly SliceRef[];
  readonly body: TaskBody;
}

export interface QRows {
  readonly minorQbr: Float64Array;
  readonly minorQev: Float64Array;
  readonly majorQbr: Float64Array;
  readonly majorQev: Float64Array;
}

export interface TaskResult {
  readonly type: 'result';
  readonly id: string;
  readonly nonce: string;
  readonly node: string;
  /** Milliseconds the node spent in the kernels. */
  readonly ms: number;
  /** flow: next cells of (t in [tFrom, tTo), rows) in (t, row, u0) order. */
  readonly nextCell?: Int32Array;
  /** step / backward: the written value rows, the greedy actions of the rows, the Q rows when stored. */
  readonly values?: ValueRows;
  readonly minorGreedy?: Int32Array;
  readonly majorGreedy?: Int32Array;
  readonly q?: QRows;
}

export interface TaskFailure {
  readonly type: 'failure';
  readonly id: string;
  readonly nonce: string;
  readonly node: string;
  readonly error: string;
  /** The node does not hold a slice generation the task assumed: send again with the data. */
  readonly miss?: boolean;
}

/** Nodes announce themselves every heartbeat interval; 'leaving' when they drain. */
export interface Heartbeat {
  readonly type: 'hb';
  readonly node: string;
  readonly threads: number;
  readonly state: 'ready' | 'leaving';
}

/** A task without an owner (a retry) is offered through the queue group; the first node to answer gets it. */
export interface Claim {
  readonly type: 'claim';
  readonly claimId: string;
}

export interface Claimed {
  readonly type: 'claimed';
  readonly claimId: string;
  readonly node: string;
}

export type ReplyMessage = TaskResult | TaskFailure | Claimed;

/** Subjects under a prefix (default 'm3fg'). */
export function subjects(prefix: string) {
  return {
    work: `${prefix}.work`,
    queue: `${prefix}-workers`,
    node: (id: string) => `${prefix}.node.${id}`,
    heartbeat: `${prefix}.hb`,
    reply: (id: string) => `${prefix}.reply.${id}`,
  };
}

/** Whether a flow or step rewrites the task's slices (then they move to gen + 1 on both sides). */
export function bodyWritesSlices(body: TaskBody): boolean {
  return body.kind !== 'backward';
}

export function describeBody(body: TaskBody, rowFrom: number, rowTo: number): string {
  return body.kind === 'flow'
    ? `flow t [${body.tFrom}, ${body.tTo}) rows [${rowFrom}, ${rowTo})`
    : `${body.kind} t=${body.t} rows [${rowFrom}, ${rowTo})`;
}

// ---- slices ----

function sliceSpans(problem: Problem, tables: SolverTables, t: number, a: number, b: number) {
  const { nX, nU, nU0 } = problem.game;
  const tr = t * problem.rows;
  const spans: Array<[keyof SliceData, Float64Array | Int32Array, number, number]> = [
    ['minorPolicy', tables.minorPolicy, (tr + a) * nX * nU, (tr + b) * nX * nU],
    ['majorPolicy', tables.majorPolicy, (tr + a) * nU0, (tr + b) * nU0],
    ['nextCell', tables.nextCell, (tr + a) * nU0, (tr + b) * nU0],
  ];
  if (tables.minorY.length > 0) spans.push(['minorY', tables.minorY, (tr + a) * nX * nU, (tr + b) * nX * nU]);
  if (tables.majorY.length > 0) spans.push(['majorY', tables.majorY, (tr + a) * nU0, (tr + b) * nU0]);
  return spans;
}

/** Views of slice (t, rows [a, b)) of the tables (the encoder copies them). */
export function sliceData(problem: Problem, tables: SolverTables, t: number, a: number, b: number): SliceData {
  const out: Record<string, Float64Array | Int32Array> = {};
  for (const [name, table, from, to] of sliceSpans(problem, tables, t, a, b)) out[name] = table.subarray(from, to);
  return out as unknown as SliceData;
}

/** Writes a received slice into the tables; throws on a missing or wrong-sized part. */
export function applySliceData(problem: Problem, tables: SolverTables, t: number, a: number, b: number, data: SliceData): void {
  for (const [name, table, from, to] of sliceSpans(problem, tables, t, a, b)) {
    const part = data[name];
    if (!part || part.length !== to - from || part.constructor !== table.constructor) {
      throw new Error(`slice t=${t} rows [${a}, ${b}): ${name} has ${part?.length ?? 'no'} entries, expected ${to - from}`);
    }
    table.set(part as never, from);
  }
}

// ---- value rows ----

/**
 * The value rows that a backward step at t on rows [a, b) reads: x0' * cells + next(t, x0, u0, c) for every
 * u0 and every x0' in the support of P0(. | x0, u0, mu_c); sorted, without repeats. `mark` is scratch of
 * problem.rows bytes, all zero on entry and on return.
 */
export function referencedRows(problem: Problem, nextCell: Int32Array, t: number, a: number, b: number, mark: Uint8Array): Int32Array {
  const { nU0 } = problem.game;
  const { rows, cells, majorCount, majorTo, majorWidth } = problem;
  let list = new Int32Array(Math.min(rows, 1024));
  let n = 0;
  for (let r = a; r < b; r++) {
    for (let u0 = 0; u0 < nU0; u0++) {
      const slot = r * nU0 + u0;
      const c = nextCell[(t * rows + r) * nU0 + u0];
      const cnt = majorCount[slot];
      for (let j = 0; j < cnt; j++) {
        const row = majorTo[slot * majorWidth + j] * cells + c;
        if (mark[row]) continue;
        mark[row] = 1;
        if (n === list.length) {
          const grown = new Int32Array(Math.min(rows, list.length * 2));
          grown.set(list);
          list = grown;
        }
        list[n++] = row;
      }
    }
  }
  const out = list.slice(0, n).sort();
  for (let i = 0; i < n; i++) mark[out[i]] = 0;
  return out;
}

/** Value rows `rows` of slot `slot`, copied out of the tables. */
export function gatherValues(problem: Problem, tables: SolverTables, slot: number, rows: Int32Array): ValueRows {
  const nX = problem.game.nX;
  const base = slot * problem.rows;
  const n = rows.length;
  const minorBR = new Float64Array(n * nX);
  const minorEval = new Float64Array(n * nX);
  const majorBR = new Float64Array(n);
  const majorEval = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = base + rows[i];
    majorBR[i] = tables.majorBR[r];
    majorEval[i] = tables.majorEval[r];
    for (let x = 0; x < nX; x++) {
      minorBR[i * nX + x] = tables.minorBR[r * nX + x];
      minorEval[i * nX + x] = tables.minorEval[r * nX + x];
    }
  }
  return { slot, rows, minorBR, minorEval, majorBR, majorEval };
}

/** All value rows [a, b) of a slot: contiguous, so views (no copy here). */
export function valueRange(problem: Problem, tables: SolverTables, slot: number, a: number, b: number): ValueRows {
  const nX = problem.game.nX;
  const base = slot * problem.rows;
  const rows = new Int32Array(b - a);
  for (let i = 0; i < rows.length; i++) rows[i] = a + i;
  return {
    slot,
    rows,
    minorBR: tables.minorBR.subarray((base + a) * nX, (base + b) * nX),
    minorEval: tables.minorEval.subarray((base + a) * nX, (base + b) * nX),
    majorBR: tables.majorBR.subarray(base + a, base + b),
    majorEval: tables.majorEval.subarray(base + a, base + b),
  };
}

/** Writes received value rows into their slot; throws on a bad shape (checkValues). */
export function scatterValues(problem: Problem, tables: SolverTables, v: ValueRows): void {
  const err = checkValues(problem, v, 0, problem.rows);
  if (err) throw new Error(err);
  const nX = problem.game.nX;
  const base = v.slot * problem.rows;
  for (let i = 0; i < v.rows.length; i++) {
    const r = base + v.rows[i];
    tables.majorBR[r] = v.majorBR[i];
    tables.majorEval[r] = v.majorEval[i];
    for (let x = 0; x < nX; x++) {
      tables.minorBR[r * nX + x] = v.minorBR[i * nX + x];
      tables.minorEval[r * nX + x] = v.minorEval[i * nX + x];
    }
  }
}

/** Why value rows are malformed (rows outside [a, b), wrong lengths, bad slot), or undefined. */
export function checkValues(problem: Problem, v: ValueRows | undefined, a: number, b: number): string | undefined {
  if (!v || typeof v !== 'object') return 'value rows missing';
  const nX = problem.game.nX;
  if (v.slot !== 0 && v.slot !== 1) return `value slot ${String(v.slot)}`;
  if (!(v.rows instanceof Int32Array)) return 'value rows: no row index';
  const n = v.rows.length;
  const f64 = (x: unknown, len: number) => x instanceof Float64Array && x.length === len;
  if (!f64(v.minorBR, n * nX) || !f64(v.minorEval, n * nX) || !f64(v.majorBR, n) || !f64(v.majorEval, n)) return 'value rows: wrong table sizes';
  for (let i = 0; i < n; i++) if (!(v.rows[i] >= a && v.rows[i] < b)) return `value row ${v.rows[i]} outside [${a}, ${b})`;
  return undefined;
}

// ---- results ----

/** A step's or backward's outputs for rows [a, b) besides the values: greedy actions and (storeQ) Q rows. */
export function rowOutputs(problem: Problem, tables: SolverTables, a: number, b: number, storeQ: boolean): Pick<TaskResult, 'minorGreedy' | 'majorGreedy' | 'q'> {
  const { nX, nU, nU0 } = problem.game;
  return {
    minorGreedy: tables.minorGreedy.subarray(a * nX, b * nX),
    majorGreedy: tables.majorGreedy.subarray(a, b),
    q: storeQ
      ? {
          minorQbr: tables.minorQbr.subarray(a * nX * nU, b * nX * nU),
          minorQev: tables.minorQev.subarray(a * nX * nU, b * nX * nU),
          majorQbr: tables.majorQbr.subarray(a * nU0, b * nU0),
          majorQev: tables.majorQev.subarray(a * nU0, b * nU0),
        }
      : undefined,
  };
}

/** Why a result does not fit its task, or undefined. Checks sizes and ranges, never trusts a node. */
export function checkResult(problem: Problem, task: TaskMessage, res: TaskResult): string | undefined {
  const { nX, nU, nU0 } = problem.game;
  const { rowFrom: a, rowTo: b, body } = task;
  const n = b - a;
  if (body.kind === 'flow') {
    const cells = problem.cells;
    const nc = res.nextCell;
    if (!(nc instanceof Int32Array) || nc.length !== (body.tTo - body.tFrom) * n * nU0) return 'next cells missing or of the wrong size';
    for (let i = 0; i < nc.length; i++) if (!(nc[i] >= 0 && nc[i] < cells)) return `next cell ${nc[i]} outside [0, ${cells})`;
    return undefined;
  }
  const err = checkValues(problem, res.values, a, b);
  if (err) return err;
  const values = res.values as ValueRows;
  const want = body.kind === 'step' ? body.returnRows : null;
  const expectedSlot = body.kind === 'step' ? body.t & 1 : (body.options.slot ?? body.t & 1);
  if (values.slot !== expectedSlot) return `values of slot ${values.slot}, expected ${expectedSlot}`;
  if (want === null ? values.rows.length !== n || values.rows[0] !== a : !sameRows(values.rows, want)) return 'value rows differ from those asked for';
  const g = res.minorGreedy;
  const g0 = res.majorGreedy;
  if (!(g instanceof Int32Array) || g.length !== n * nX || !(g0 instanceof Int32Array) || g0.length !== n) return 'greedy actions missing or of the wrong size';
  for (let i = 0; i < g.length; i++) if (!(g[i] >= 0 && g[i] < nU)) return `greedy minor action ${g[i]}`;
  for (let i = 0; i < g0.length; i++) if (!(g0[i] >= 0 && g0[i] < nU0)) return `greedy major action ${g0[i]}`;
  const storeQ = body.kind === 'step' ? body.storeQ : (body.options.storeQ ?? false);
  if (storeQ) {
    const q = res.q;
    const f64 = (x: unknown, len: number) => x instanceof Float64Array && x.length === len;
    if (!q || !f64(q.minorQbr, n * nX * nU) || !f64(q.minorQev, n * nX * nU) || !f64(q.majorQbr, n * nU0) || !f64(q.majorQev, n * nU0)) {
      return 'Q rows missing or of the wrong size';
    }
  }
  return undefined;
}

function sameRows(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Writes a checked step/backward result into the tables: values, greedy actions, Q rows. */
export function applyRowOutputs(problem: Problem, tables: SolverTables, a: number, res: TaskResult): void {
  const { nX, nU, nU0 } = problem.game;
  if (res.values) scatterValues(problem, tables, res.values);
  if (res.minorGreedy) tables.minorGreedy.set(res.minorGreedy, a * nX);
  if (res.majorGreedy) tables.majorGreedy.set(res.majorGreedy, a);
  if (res.q) {
    tables.minorQbr.set(res.q.minorQbr, a * nX * nU);
    tables.minorQev.set(res.q.minorQev, a * nX * nU);
    tables.majorQbr.set(res.q.majorQbr, a * nU0);
    tables.majorQev.set(res.q.majorQev, a * nU0);
  }
}

/** Writes a checked flow result (next cells of t in [tFrom, tTo), rows [a, b)) into the tables. */
export function applyFlowResult(problem: Problem, tables: SolverTables, tFrom: number, tTo: number, a: number, b: number, nextCell: Int32Array): void {
  const { nU0 } = problem.game;
  const rows = problem.rows;
  const n = (b - a) * nU0;
  for (let t = tFrom; t < tTo; t++) tables.nextCell.set(nextCell.subarray((t - tFrom) * n, (t - tFrom + 1) * n), (t * rows + a) * nU0);
}

/** The node side of applyFlowResult: next cells of the task's slices, in (t, row, u0) order. */
export function gatherFlowResult(problem: Problem, tables: SolverTables, tFrom: number, tTo: number, a: number, b: number): Int32Array {
  const { nU0 } = problem.game;
  const rows = problem.rows;
  const n = (b - a) * nU0;
  const out = new Int32Array((tTo - tFrom) * n);
  for (let t = tFrom; t < tTo; t++) out.set(tables.nextCell.subarray((t * rows + a) * nU0, (t * rows + b) * nU0), (t - tFrom) * n);
  return out;
}
