// The inline executor: every kernel on the calling thread, over all rows at once. The reference for the
// conformance suite, and the fastest choice for small games.

import type { Problem } from '../shared/problem.ts';
import { allocateTables, type SolverTables, type TableOptions } from '../shared/tables.ts';
import { backwardRange, backwardScratch, type BackwardScratch, type StepOptions } from '../shared/kernels/backward.ts';
import { flowRange } from '../shared/kernels/flow.ts';
import { ruleNeedsQ, updateRange, type UpdateRule } from '../shared/kernels/update.ts';
import type { ProblemSpec } from './executor.ts';
import { TableExecutor } from './table-executor.ts';

export class InlineExecutor extends TableExecutor {
  readonly name = 'inline';
  private problem?: Problem;
  private tables?: SolverTables;
  private scratch?: BackwardScratch;

  protected async openTables(_spec: ProblemSpec, problem: Problem, options: TableOptions): Promise<SolverTables> {
    this.problem = problem;
    this.tables = allocateTables(problem, undefined, options);
    this.scratch = backwardScratch(problem);
    return this.tables;
  }

  async flow(): Promise<void> {
    const { problem, tables } = this.ready();
    flowRange(problem, tables.minorPolicy, tables.nextCell, 0, tables.nextCell.length / problem.game.nU0);
  }

  async backward(t: number, options: StepOptions): Promise<void> {
    const { problem, tables } = this.ready();
    backwardRange(problem, tables, t, 0, problem.rows, this.scratch, options);
  }

  async update(t: number, rule: UpdateRule): Promise<void> {
    const { problem, tables } = this.ready();
    updateRange(problem, tables, t, 0, problem.rows, rule);
  }

  async step(t: number, rule: UpdateRule): Promise<void> {
    const { problem, tables } = this.ready();
    backwardRange(problem, tables, t, 0, problem.rows, this.scratch, { storeQ: ruleNeedsQ(rule) });
    updateRange(problem, tables, t, 0, problem.rows, rule);
  }

  protected async closeTables(): Promise<void> {
    this.tables = undefined;
  }

  private ready(): { problem: Problem; tables: SolverTables } {
    if (!this.problem || !this.tables) throw new Error('inline executor: open() first');
    return { problem: this.problem, tables: this.tables };
  }
}
