// The inline executor: every kernel on the calling thread, over all rows at once. The reference for the
// conformance suite, and the fastest choice for small games. Either projection (shared/kernels/scheme.ts).

import type { Problem } from '../shared/problem.ts';
import { allocateTables, type SolverTables, type TableOptions } from '../shared/tables.ts';
import type { StepOptions } from '../shared/kernels/backward.ts';
import { flowUnits, schemeKernels, type SchemeKernels } from '../shared/kernels/scheme.ts';
import { ruleNeedsQ, updateRange, type UpdateRule } from '../shared/kernels/update.ts';
import type { ProblemSpec } from './executor.ts';
import { TableExecutor } from './table-executor.ts';

export class InlineExecutor extends TableExecutor {
  readonly name = 'inline';
  private problem?: Problem;
  private tables?: SolverTables;
  private kernels?: SchemeKernels;

  protected async openTables(_spec: ProblemSpec, problem: Problem, options: TableOptions): Promise<SolverTables> {
    this.problem = problem;
    this.tables = allocateTables(problem, undefined, options);
    this.kernels = schemeKernels(problem);
    return this.tables;
  }

  async flow(): Promise<void> {
    const { problem, tables, kernels } = this.ready();
    kernels.flow(tables, 0, flowUnits(problem, tables));
  }

  async backward(t: number, options: StepOptions): Promise<void> {
    const { problem, tables, kernels } = this.ready();
    kernels.backward(tables, t, 0, problem.rows, options);
  }

  async update(t: number, rule: UpdateRule): Promise<void> {
    const { problem, tables } = this.ready();
    updateRange(problem, tables, t, 0, problem.rows, rule);
  }

  async step(t: number, rule: UpdateRule): Promise<void> {
    const { problem, tables, kernels } = this.ready();
    kernels.backward(tables, t, 0, problem.rows, { storeQ: ruleNeedsQ(rule) });
    updateRange(problem, tables, t, 0, problem.rows, rule);
  }

  protected async closeTables(): Promise<void> {
    this.tables = undefined;
    this.kernels = undefined;
  }

  private ready(): { problem: Problem; tables: SolverTables; kernels: SchemeKernels } {
    if (!this.problem || !this.tables || !this.kernels) throw new Error('inline executor: open() first');
    return { problem: this.problem, tables: this.tables, kernels: this.kernels };
  }
}
