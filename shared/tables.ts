// The solver's mutable tables, laid out for sharding by rows (r = x0 * cells + c):
//   minorPolicy[((t * rows + r) * nX + x) * nU + u] = pi[t][x][x0][c](u)
//   majorPolicy[(t * rows + r) * nU0 + u0]          = pi0[t][x0][c](u0)
//   nextCell[(t * rows + r) * nU0 + u0]             = next(t, x0, u0, c)          (projection 'nearest'; else empty)
//   nextVertex/nextWeight[((t * rows + r) * nU0 + u0) * nX + j] = (c_j, w_j) of next(t, x0, u0, c)
//                                                     (projection 'interpolate', kernels/flow-interpolated.ts; else empty)
//   value slices for two consecutive times, slot s = t mod 2:
//     minorBR/minorEval[(s * rows + r) * nX + x], majorBR/majorEval[s * rows + r]
//   greedy actions of the step in progress: minorGreedy[r * nX + x], majorGreedy[r]
//   Q rows of the step in progress (written only when a softmax or OMD update needs them):
//     minorQbr/minorQev[(r * nX + x) * nU + u], majorQbr/majorQev[r * nU0 + u0]
//   OMD accumulators (allocated only for OMD, else empty): minorY like minorPolicy, majorY like majorPolicy
// Every array is a view on one buffer each, so an executor can allocate them on SharedArrayBuffers.
// Float64 everywhere a number is averaged or summed: the flow's projection can sit exactly on a tie, so the
// policy's last bit matters for agreeing with the reference.

import type { Problem } from './problem.ts';

export interface SolverTables {
  readonly minorPolicy: Float64Array;
  readonly majorPolicy: Float64Array;
  readonly nextCell: Int32Array;
  readonly nextVertex: Int32Array;
  readonly nextWeight: Float64Array;
  readonly minorBR: Float64Array;
  readonly minorEval: Float64Array;
  readonly majorBR: Float64Array;
  readonly majorEval: Float64Array;
  readonly minorGreedy: Int32Array;
  readonly majorGreedy: Int32Array;
  readonly minorQbr: Float64Array;
  readonly minorQev: Float64Array;
  readonly majorQbr: Float64Array;
  readonly majorQev: Float64Array;
  readonly minorY: Float64Array;
  readonly majorY: Float64Array;
}

export interface TableOptions {
  /** Allocate the OMD accumulators. */
  omd?: boolean;
  /** Policy slices: the horizon T (default), or 1 for the stationary policies of an infinite horizon. */
  slices?: number;
  /**
   * --keep best: the run keeps the best iterate's two copies of the policies. The tables do not depend on it; a
   * cluster's open order carries it so that each node counts those copies in its memory check.
   */
  keepBest?: boolean;
}

export type TableName = keyof SolverTables;

/** Element counts and types of each table for a problem. */
export function tableLayout(problem: Problem, options: TableOptions = {}): Record<TableName, { length: number; type: 'f64' | 'i32' }> {
  const { nX, nU, nU0 } = problem.game;
  const T = options.slices ?? problem.game.T;
  const rows = problem.rows;
  const interpolate = problem.projection === 'interpolate';
  return {
    minorPolicy: { length: T * rows * nX * nU, type: 'f64' },
    majorPolicy: { length: T * rows * nU0, type: 'f64' },
    nextCell: { length: interpolate ? 0 : T * rows * nU0, type: 'i32' },
    nextVertex: { length: interpolate ? T * rows * nU0 * nX : 0, type: 'i32' },
    nextWeight: { length: interpolate ? T * rows * nU0 * nX : 0, type: 'f64' },
    minorBR: { length: 2 * rows * nX, type: 'f64' },
    minorEval: { length: 2 * rows * nX, type: 'f64' },
    majorBR: { length: 2 * rows, type: 'f64' },
    majorEval: { length: 2 * rows, type: 'f64' },
    minorGreedy: { length: rows * nX, type: 'i32' },
    majorGreedy: { length: rows, type: 'i32' },
    minorQbr: { length: rows * nX * nU, type: 'f64' },
    minorQev: { length: rows * nX * nU, type: 'f64' },
    majorQbr: { length: rows * nU0, type: 'f64' },
    majorQev: { length: rows * nU0, type: 'f64' },
    minorY: { length: options.omd ? T * rows * nX * nU : 0, type: 'f64' },
    majorY: { length: options.omd ? T * rows * nU0 : 0, type: 'f64' },
  };
}

/** Allocates the tables; `makeBuffer` decides where (ArrayBuffer or SharedArrayBuffer). */
export function allocateTables(
  problem: Problem,
  makeBuffer: (bytes: number) => ArrayBufferLike = (n) => new ArrayBuffer(n),
  options: TableOptions = {},
): SolverTables {
  const layout = tableLayout(problem, options);
  const out: Partial<Record<TableName, Float64Array | Int32Array>> = {};
  for (const [name, { length, type }] of Object.entries(layout) as Array<[TableName, { length: number; type: 'f64' | 'i32' }]>) {
    const bytes = length * (type === 'f64' ? 8 : 4);
    const buf = makeBuffer(bytes);
    out[name] = type === 'f64' ? new Float64Array(buf, 0, length) : new Int32Array(buf, 0, length);
  }
  return out as unknown as SolverTables;
}

/** Initial policies: one-hot on the first action (the reference's default), the last, or uniform. */
export type InitialPolicy = 'first' | 'last' | 'uniform';

export function initPolicies(problem: Problem, tables: SolverTables, init: InitialPolicy): void {
  const { nU, nU0 } = problem.game;
  fillPolicy(tables.minorPolicy, nU, init);
  fillPolicy(tables.majorPolicy, nU0, init);
}

function fillPolicy(policy: Float64Array, n: number, init: InitialPolicy): void {
  if (init === 'uniform') {
    policy.fill(1 / n);
    return;
  }
  policy.fill(0);
  const a = init === 'first' ? 0 : n - 1;
  for (let i = a; i < policy.length; i += n) policy[i] = 1;
}
