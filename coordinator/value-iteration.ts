// The infinite-horizon discounted sweep of one solver iteration (games.md, "Infinite horizon"): stationary
// policies (one slice, t = 0), the flow computed once, then each of the four value functions iterated
//   V <- max_u (or policy-average of) [ r + gamma sum P V ]   from V = 0
// until its own L1 change sum |V_new - V| is no longer above the tolerance (the reference's `while eps > tol`).
// The four are computed together by the same backward step; each is frozen (values, greedy actions, Q rows)
// at the sweep where it converges, as the reference runs four separate loops. The update then uses the Q of
// that last iterate.
//
// The loop is written against a ValueIterationHost, the executor's side: the tables stay wherever the
// executor keeps them (coordinator/table-executor.ts for tables in this process). The L1 change is summed in
// the fixed block order of shared/value-change.ts, so that a host whose rows are split gives the same bits.

import type { UpdateRule } from '../shared/kernels/update.ts';
import type { ValueIterationOptions } from './executor.ts';

export type ValueFunction = 'majorBR' | 'majorEval' | 'minorBR' | 'minorEval';

export const VALUE_FUNCTIONS: ReadonlyArray<{ fn: ValueFunction; name: string }> = [
  { fn: 'majorBR', name: 'major best response' },
  { fn: 'majorEval', name: 'major policy value' },
  { fn: 'minorBR', name: 'minor best response' },
  { fn: 'minorEval', name: 'minor policy value' },
];

export interface ValueIterationHost {
  /** Sets V = 0 in value slot 1 (read by the first sweep). */
  reset(): Promise<void>;
  /** One discounted backward sweep at t = 0 writing value slot `slot` (Q rows stored). */
  backward(slot: number, discount: number): Promise<void>;
  /** For each function of `open`, sum |V[slot] - V[slot ^ 1]| in the order of shared/value-change.ts. */
  changes(slot: number, open: readonly ValueFunction[]): Promise<number[]>;
  /** Saves the iterate just written (values of `slot`, Q rows, greedy actions) of each function of `fns`. */
  freeze(fns: readonly ValueFunction[], slot: number): Promise<void>;
  /** Puts every saved iterate where the read-out and the update look (slot 0, Q rows, greedy), then updates slice 0. */
  finish(rule: UpdateRule): Promise<void>;
}

export async function valueIterationSweep(host: ValueIterationHost, rule: UpdateRule, options: ValueIterationOptions): Promise<number> {
  const done = new Set<ValueFunction>();
  await host.reset();
  const maxSweeps = options.maxSweeps ?? 1_000_000;
  let sweep = 0;
  for (; done.size < VALUE_FUNCTIONS.length; sweep++) {
    const open = VALUE_FUNCTIONS.filter((f) => !done.has(f.fn));
    if (sweep >= maxSweeps) {
      throw new Error(`value iteration: ${open.map((f) => f.name).join(', ')} not converged to ${options.tolerance} after ${maxSweeps} sweeps`);
    }
    const cur = sweep & 1;
    await host.backward(cur, options.discount);
    const eps = await host.changes(cur, open.map((f) => f.fn));
    const converged = open.filter((_, i) => !(eps[i] > options.tolerance)).map((f) => f.fn);
    if (converged.length > 0) await host.freeze(converged, cur);
    for (const fn of converged) done.add(fn);
  }
  await host.finish(rule);
  return sweep;
}
