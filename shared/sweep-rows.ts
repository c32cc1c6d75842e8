// What one range of a sweep does, wherever it runs (a worker thread, or the calling thread taking its share
// of a team call): the flow, the backward step, updateRange, or the step then updateRange (a step), with the
// flow and step of the problem's projection (./kernels/scheme.ts), and the update guarded so that a range an earlier attempt began can be put back and computed again.
//
// Guard (retry safety). backwardRange is idempotent; updateRange is not (it rewrites slice t of the policies
// and, for OMD, of the accumulators: a second pass would read an updated policy, and OMD would add Q twice).
// So before updating its rows a range copies their slice t of those tables into `backup` (one slice, indexed
// by row) and stamps marks[r] = seq (the call's sequence number, never 0); restoreRows() puts back every row
// of a range stamped with that seq. A range that dies before its stamps has left those tables untouched; one
// that dies after them has a complete backup. Either way the recomputation writes the same bits.

import type { Problem } from './problem.ts';
import type { SolverTables } from './tables.ts';
import type { StepOptions } from './kernels/backward.ts';
import type { SchemeKernels } from './kernels/scheme.ts';
import { ruleNeedsQ, updateRange, type UpdateRule } from './kernels/update.ts';

/** Each table updateRange rewrites, with its entries per (t, row) and a one-slice backup; one stamp per row. */
export interface RowGuard {
  readonly slices: ReadonlyArray<{ readonly table: Float64Array; readonly width: number; readonly backup: Float64Array }>;
  readonly marks: Int32Array;
}

/** The operation of a sweep call; `from`/`to` index (t, row) pairs for flow and rows otherwise. */
export type RangeOp =
  | { readonly kind: 'flow' }
  | { readonly kind: 'backward'; readonly t: number; readonly options: StepOptions }
  | { readonly kind: 'update' | 'step'; readonly t: number; readonly rule: UpdateRule; readonly seq: number };

export interface RangeContext {
  readonly problem: Problem;
  readonly tables: SolverTables;
  /** The flow and step of the problem's projection, with this thread's scratch. */
  readonly kernels: SchemeKernels;
  /** Absent: updates run unguarded (the calling thread, which cannot fail apart from its own call). */
  readonly guard?: RowGuard;
}

/**
 * Runs `op` on [from, to). `half`, when given, is called after half of the range's writes instead of the
 * rest (fault injection: it throws or exits).
 */
export function runRange(ctx: RangeContext, op: RangeOp, from: number, to: number, half?: () => never): void {
  const { tables, kernels } = ctx;
  const mid = from + ((to - from) >> 1);
  switch (op.kind) {
    case 'flow':
      if (half) {
        kernels.flow(tables, from, mid);
        half();
      }
      kernels.flow(tables, from, to);
      return;
    case 'backward':
      if (half) {
        kernels.backward(tables, op.t, from, mid, op.options);
        half();
      }
      kernels.backward(tables, op.t, from, to, op.options);
      return;
    case 'step':
      kernels.backward(tables, op.t, from, to, { storeQ: ruleNeedsQ(op.rule) });
      guardedUpdate(ctx, op, from, to, half);
      return;
    case 'update':
      guardedUpdate(ctx, op, from, to, half);
      return;
  }
}

/** Backs up slice t of the rows, stamps them, then runs updateRange on them. */
function guardedUpdate({ problem, tables, guard }: RangeContext, op: Extract<RangeOp, { seq: number }>, rowFrom: number, rowTo: number, half?: () => never): void {
  const { t, rule, seq } = op;
  if (rowTo <= rowFrom) return;
  if (!guard) {
    updateRange(problem, tables, t, rowFrom, rowTo, rule);
    if (half) half();
    return;
  }
  const tr = t * problem.rows;
  const { slices, marks } = guard;
  for (const { table, width, backup } of slices) backup.set(table.subarray((tr + rowFrom) * width, (tr + rowTo) * width), rowFrom * width);
  // the atomic stores order the backup before the stamps and the stamps before the update
  Atomics.store(marks, rowFrom, seq);
  marks.fill(seq, rowFrom + 1, rowTo);
  Atomics.store(marks, rowTo - 1, seq);
  if (half) {
    updateRange(problem, tables, t, rowFrom, rowFrom + ((rowTo - rowFrom) >> 1), rule);
    half();
  }
  updateRange(problem, tables, t, rowFrom, rowTo, rule);
}

/** Puts back slice t of the rows in [rowFrom, rowTo) stamped with `seq`; returns how many. */
export function restoreRows(problem: Problem, guard: RowGuard, t: number, rowFrom: number, rowTo: number, seq: number): number {
  const tr = t * problem.rows;
  let restored = 0;
  for (let r = rowFrom; r < rowTo; r++) {
    if (Atomics.load(guard.marks, r) !== seq) continue;
    for (const { table, width, backup } of guard.slices) table.set(backup.subarray(r * width, (r + 1) * width), (tr + r) * width);
    restored++;
  }
  return restored;
}
