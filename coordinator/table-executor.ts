// The Executor contract (./executor.ts) on top of SolverTables held in this process: the base of the inline
// and local executors. A subclass provides the tables (openTables) and the four sharded primitives (flow,
// backward, update, step over all rows); this class runs the iteration's order on them, exactly as the
// solver loop did when it held the tables: flow, V(T) = 0, steps T-1..0; or value iteration at t = 0.

import type { Problem } from '../shared/problem.ts';
import { initPolicies, type InitialPolicy, type SolverTables, type TableOptions } from '../shared/tables.ts';
import type { StepOptions } from '../shared/kernels/backward.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';
import type { StartValues } from '../shared/kernels/exploitability.ts';
import { schemeKernels } from '../shared/kernels/scheme.ts';
import { arraySource, type PolicySources, type TableSource } from '../shared/table-source.ts';
import { blockChanges, sumBlocks } from '../shared/value-change.ts';
import type { Executor, ProblemSpec, ValueIterationOptions } from './executor.ts';
import { valueIterationSweep, type ValueFunction, type ValueIterationHost } from './value-iteration.ts';

export abstract class TableExecutor implements Executor {
  abstract readonly name: string;
  #held?: { problem: Problem; tables: SolverTables };

  /** Allocates (or attaches) the tables for `problem`. */
  protected abstract openTables(spec: ProblemSpec, problem: Problem, options: TableOptions): Promise<SolverTables>;
  /** Releases what openTables set up. */
  protected abstract closeTables(): Promise<void>;
  /** nextCell for every (t, row) of the policy slices from the current minor policy. */
  abstract flow(): Promise<void>;
  /** Backward step at time t over all rows, without the update. */
  abstract backward(t: number, options: StepOptions): Promise<void>;
  /** The policy update of slice t over all rows. */
  abstract update(t: number, rule: UpdateRule): Promise<void>;
  /** Backward step at time t over all rows (Q rows stored when the rule needs them), then the update of slice t. */
  abstract step(t: number, rule: UpdateRule): Promise<void>;

  async open(spec: ProblemSpec, problem: Problem, options: TableOptions = {}): Promise<void> {
    this.#held = { problem, tables: await this.openTables(spec, problem, options) };
  }

  /** The tables as they are now (in this process: for tests and benchmarks that inspect a sweep's state). */
  get heldTables(): SolverTables {
    return this.held().tables;
  }

  async initPolicies(init: InitialPolicy): Promise<void> {
    const { problem, tables } = this.held();
    initPolicies(problem, tables, init);
  }

  async loadPolicies(policies: PolicySources): Promise<void> {
    const { tables } = this.held();
    await readInto(policies.minorPolicy, tables.minorPolicy, 'minor policy');
    await readInto(policies.majorPolicy, tables.majorPolicy, 'major policy');
    if (policies.minorY) await readInto(policies.minorY, tables.minorY, 'minor OMD accumulator');
    if (policies.majorY) await readInto(policies.majorY, tables.majorY, 'major OMD accumulator');
  }

  async iterate(rule: UpdateRule): Promise<void> {
    const { problem, tables } = this.held();
    const { T, nX } = problem.game;
    const rows = problem.rows;
    await this.flow();
    // the value after the last epoch is 0: clear the slot that plays t = T
    const s = T & 1;
    tables.majorBR.fill(0, s * rows, (s + 1) * rows);
    tables.majorEval.fill(0, s * rows, (s + 1) * rows);
    tables.minorBR.fill(0, s * rows * nX, (s + 1) * rows * nX);
    tables.minorEval.fill(0, s * rows * nX, (s + 1) * rows * nX);
    for (let t = T - 1; t >= 0; t--) await this.step(t, rule);
  }

  async valueIteration(rule: UpdateRule, options: ValueIterationOptions): Promise<number> {
    await this.flow();
    return valueIterationSweep(this.valueHost(), rule, options);
  }

  async startValues(): Promise<StartValues> {
    const { problem, tables } = this.held();
    return schemeKernels(problem).startValues(tables);
  }

  policies(): PolicySources {
    const { tables } = this.held();
    const omd = tables.minorY.length > 0;
    return {
      minorPolicy: arraySource(tables.minorPolicy),
      majorPolicy: arraySource(tables.majorPolicy),
      ...(omd ? { minorY: arraySource(tables.minorY), majorY: arraySource(tables.majorY) } : {}),
    };
  }

  async close(): Promise<void> {
    this.#held = undefined;
    await this.closeTables();
  }

  private held(): { problem: Problem; tables: SolverTables } {
    if (!this.#held) throw new Error(`${this.name} executor: open() first`);
    return this.#held;
  }

  /** Value iteration on the tables in this process: the values of each function sit in its two slots. */
  private valueHost(): ValueIterationHost {
    const { problem, tables } = this.held();
    const nX = problem.game.nX;
    const rows = problem.rows;
    const parts = {
      majorBR: { values: tables.majorBR, width: 1, q: tables.majorQbr, greedy: tables.majorGreedy as Int32Array | undefined },
      majorEval: { values: tables.majorEval, width: 1, q: tables.majorQev, greedy: undefined },
      minorBR: { values: tables.minorBR, width: nX, q: tables.minorQbr, greedy: tables.minorGreedy as Int32Array | undefined },
      minorEval: { values: tables.minorEval, width: nX, q: tables.minorQev, greedy: undefined },
    } satisfies Record<ValueFunction, unknown>;
    const saved = new Map<ValueFunction, { values: Float64Array; q: Float64Array; greedy?: Int32Array }>();
    return {
      reset: async () => {
        for (const p of Object.values(parts)) p.values.fill(0, rows * p.width, 2 * rows * p.width);
      },
      backward: (slot, discount) => this.backward(0, { discount, slot, storeQ: true }),
      changes: async (slot, open) =>
        open.map((fn) => {
          const { values, width } = parts[fn];
          const n = rows * width;
          return sumBlocks(blockChanges(values, (slot ^ 1) * n, values, slot * n, width, problem.game.nX0, problem.cells, 0, problem.cells));
        }),
      freeze: async (fns, slot) => {
        for (const fn of fns) {
          const { values, width, q, greedy } = parts[fn];
          const n = rows * width;
          saved.set(fn, { values: values.slice(slot * n, (slot + 1) * n), q: q.slice(), greedy: greedy?.slice() });
        }
      },
      finish: async (rule) => {
        for (const [fn, s] of saved) {
          const p = parts[fn];
          p.values.set(s.values, 0);
          p.q.set(s.q);
          if (p.greedy && s.greedy) p.greedy.set(s.greedy);
        }
        await this.update(0, rule);
      },
    };
  }
}

/** Reads a whole source into `target` (same length), in order. */
async function readInto(source: TableSource, target: Float64Array, what: string): Promise<void> {
  if (source.length !== target.length) throw new Error(`resume: the saved ${what} has ${source.length} entries, this problem needs ${target.length}`);
  let expected = 0;
  await source.read((piece, offset) => {
    if (offset !== expected) throw new Error(`resume: ${what} source out of order at ${offset}`);
    target.set(piece, offset);
    expected += piece.length;
  });
  if (expected !== target.length) throw new Error(`resume: the saved ${what} ended at ${expected} of ${target.length} entries`);
}
