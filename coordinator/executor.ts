// The executor interface: where the work of one solver iteration runs and where its tables live. The solver
// loop (./solver.ts) is written once against it and never touches a table: it asks the executor for the
// initial policies (or to load a run's state), one iteration's sweep, the start values at t = 0 for the
// curve, and the current policies as TableSources (checkpoints, results). So an executor is free to keep its
// tables anywhere: in this process (inline, ./inline-executor.ts), on SharedArrayBuffers for worker threads
// (./local-executor.ts), or cut into row shards over cluster nodes. Every executor must produce the same bits.

import type { Problem } from '../shared/problem.ts';
import type { InitialPolicy, TableOptions } from '../shared/tables.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';
import type { StartValues } from '../shared/kernels/exploitability.ts';
import type { PolicySources } from '../shared/table-source.ts';
import type { Projection } from '../shared/policy-cell.ts';

/** What a remote side needs to rebuild the same Problem: the game, its parameter overrides, the bins. */
export interface ProblemSpec {
  readonly game: string;
  readonly params: Readonly<Record<string, number>>;
  readonly bins: number;
  /** The problem's projection (absent: nearest); must agree with Problem.projection. */
  readonly projection?: Projection;
}

/** Settings of the infinite horizon's value iteration (./value-iteration.ts). */
export interface ValueIterationOptions {
  discount: number;
  tolerance: number;
  /** Give up (with an error naming the function) after this many sweeps. */
  maxSweeps?: number;
}

export interface Executor {
  readonly name: string;
  /** Sets up the run's tables for `problem` (policies with `options.slices` slices; OMD accumulators). */
  open(spec: ProblemSpec, problem: Problem, options?: TableOptions): Promise<void>;
  /** Fills the policies with the initial policy of a fresh run (OMD accumulators stay 0). */
  initPolicies(init: InitialPolicy): Promise<void>;
  /** Loads a run's state (policies; OMD accumulators when given) from sources, e.g. a checkpoint. */
  loadPolicies(policies: PolicySources): Promise<void>;
  /**
   * One finite-horizon iteration: next cells under the current minor policy, V(T) = 0, then the backward
   * step and the policy update of slice t for t = T-1..0.
   */
  iterate(rule: UpdateRule, hint?: IterateHint): Promise<void>;
  /**
   * One infinite-horizon iteration (stationary policies, one slice): the flow, value iteration of the four
   * value functions to the tolerance, the update of the slice. Returns the number of value sweeps.
   */
  valueIteration(rule: UpdateRule, options: ValueIterationOptions): Promise<number>;
  /** The start values at t = 0 (at c0 = proj(mu0)) of the last sweep: the curve's read-out. */
  startValues(): Promise<StartValues>;
  /**
   * The current policies (and OMD accumulators) as sources. They read the state as it is when read; they
   * stay readable until the next sweep or close().
   */
  policies(): PolicySources;
  /**
   * The best iterate (SolveOptions.keepBest): two more copies of the policies (not the OMD accumulators), a
   * `saved` and a `best` slot, held where the policies are (allocated at the first call that needs them).
   * The read-out after a sweep is the exploitability of the sweep's INPUT policies, which the sweep overwrites
   * slice by slice; so the loop calls saveInput() before the sweep and keepSaved() when the read-out is a new
   * minimum.
   *   saveInput(): copies the current policies into the saved slot.
   *   keepSaved(): makes the saved slot the best one (a swap: the old best becomes the next saved slot).
   *   bestPolicies(): the best slot as sources; readable until the next keepSaved() or close().
   *   loadBest(): fills the best slot from sources (resume).
   */
  saveInput(): Promise<void>;
  keepSaved(): Promise<void>;
  bestPolicies(): PolicySources;
  loadBest(policies: PolicySources): Promise<void>;
  close(): Promise<void>;
}

/** What the solver knows about an iteration beyond its rule. */
export interface IterateHint {
  /** No iteration follows it (executors may skip work for the next one: a cluster node's flow run ahead). */
  last?: boolean;
}
