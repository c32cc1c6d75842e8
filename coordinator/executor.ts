// The executor interface: where the sweeps of one solver iteration run. The solver loop is written once
// against it; the inline executor runs everything on the calling thread, the local executor shards over
// worker threads, the cluster executor over NATS nodes. Every executor must produce the same bits.

import type { Problem } from '../shared/problem.ts';
import type { SolverTables, TableOptions } from '../shared/tables.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';
import type { StepOptions } from '../shared/kernels/backward.ts';

/** What a remote side needs to rebuild the same Problem: the game, its parameter overrides, the bins. */
export interface ProblemSpec {
  readonly game: string;
  readonly params: Readonly<Record<string, number>>;
  readonly bins: number;
}

export interface Executor {
  readonly name: string;
  /** Allocates (or attaches) the solver tables for `problem`; the coordinator reads and writes them. */
  open(spec: ProblemSpec, problem: Problem, options?: TableOptions): Promise<SolverTables>;
  /** nextCell for every (t, row) of the allocated policy slices from the current minor policy. */
  flow(): Promise<void>;
  /** Backward step at time t over all rows, without the update (value iteration sweeps). */
  backward(t: number, options: StepOptions): Promise<void>;
  /** The policy update of slice t over all rows, from the greedy actions / Q rows in the tables. */
  update(t: number, rule: UpdateRule): Promise<void>;
  /** Backward step at time t over all rows, then the policy update of slice t (the step stores the Q rows
   * when the rule needs them: shared/kernels/update.ts ruleNeedsQ). */
  step(t: number, rule: UpdateRule): Promise<void>;
  close(): Promise<void>;
}
