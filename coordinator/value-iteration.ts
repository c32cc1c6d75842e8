// The infinite-horizon discounted sweep of one solver iteration (games.md, "Infinite horizon"): stationary
// policies (one slice, t = 0), the flow computed once, then each of the four value functions iterated
//   V <- max_u (or policy-average of) [ r + gamma sum P V ]   from V = 0
// until its own L1 change sum |V_new - V| is no longer above the tolerance (the reference's `while eps > tol`).
// The four are computed together by the same backward step; each is frozen (values, greedy actions, Q rows)
// at the sweep where it converges, as the reference runs four separate loops. The update then uses the Q of
// that last iterate.

import type { Problem } from '../shared/problem.ts';
import type { SolverTables } from '../shared/tables.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';
import type { Executor } from './executor.ts';

export interface ValueIterationOptions {
  discount: number;
  tolerance: number;
  /** Give up (with an error naming the function) after this many sweeps. */
  maxSweeps?: number;
}

interface Frozen {
  name: string;
  values: Float64Array; // the two value slots, [slot][...]
  width: number; // entries per row
  q: Float64Array;
  qWidth: number;
  greedy?: Int32Array;
  done: boolean;
  saved: { values: Float64Array; q: Float64Array; greedy?: Int32Array };
}

export async function valueIterationSweep(
  problem: Problem,
  tables: SolverTables,
  executor: Executor,
  rule: UpdateRule,
  options: ValueIterationOptions,
): Promise<number> {
  const { nX, nU, nU0 } = problem.game;
  const rows = problem.rows;
  const fn = (name: string, values: Float64Array, width: number, q: Float64Array, qWidth: number, greedy?: Int32Array): Frozen => ({
    name,
    values,
    width,
    q,
    qWidth,
    greedy,
    done: false,
    saved: {
      values: new Float64Array(rows * width),
      q: new Float64Array(rows * qWidth),
      greedy: greedy ? new Int32Array(greedy.length) : undefined,
    },
  });
  const fns = [
    fn('major best response', tables.majorBR, 1, tables.majorQbr, nU0, tables.majorGreedy),
    fn('major policy value', tables.majorEval, 1, tables.majorQev, nU0),
    fn('minor best response', tables.minorBR, nX, tables.minorQbr, nX * nU, tables.minorGreedy),
    fn('minor policy value', tables.minorEval, nX, tables.minorQev, nX * nU),
  ];
  for (const f of fns) f.values.fill(0, rows * f.width, 2 * rows * f.width); // V = 0 in slot 1, read first
  const maxSweeps = options.maxSweeps ?? 1_000_000;
  let sweep = 0;
  for (; fns.some((f) => !f.done); sweep++) {
    if (sweep >= maxSweeps) {
      const open = fns.filter((f) => !f.done).map((f) => f.name).join(', ');
      throw new Error(`value iteration: ${open} not converged to ${options.tolerance} after ${maxSweeps} sweeps`);
    }
    const cur = sweep & 1;
    await executor.backward(0, { discount: options.discount, slot: cur, storeQ: true });
    for (const f of fns) {
      if (f.done) continue;
      const n = rows * f.width;
      const a = cur * n;
      const b = (cur ^ 1) * n;
      let eps = 0;
      for (let i = 0; i < n; i++) eps += Math.abs(f.values[b + i] - f.values[a + i]);
      if (eps > options.tolerance) continue;
      f.done = true;
      f.saved.values.set(f.values.subarray(a, a + n));
      f.saved.q.set(f.q);
      if (f.greedy && f.saved.greedy) f.saved.greedy.set(f.greedy);
    }
  }
  // put every function's converged iterate where the read-out and the update look: slot 0, Q rows, greedy
  for (const f of fns) {
    f.values.set(f.saved.values, 0);
    f.q.set(f.saved.q);
    if (f.greedy && f.saved.greedy) f.greedy.set(f.saved.greedy);
  }
  await executor.update(0, rule);
  return sweep;
}
