// The kernels of a problem's projection behind one interface, so that every executor (inline, thread team,
// chunk threads, cluster nodes) runs either scheme through the same calls:
//   nearest:      flow.ts (nextCell), backward.ts, exploitability.ts's startValues at proj(mu0);
//   interpolate:  flow-interpolated.ts (nextVertex/nextWeight), backward-interpolated.ts, start-interpolated.ts.
// One instance per thread: it holds the scratch arrays and the interpolator's work arrays.

import type { Problem } from '../problem.ts';
import type { SolverTables } from '../tables.ts';
import { backwardRange, backwardScratch, type StepOptions } from './backward.ts';
import { flowRange } from './flow.ts';
import { startValues, type StartValues } from './exploitability.ts';
import { interpolatedBackwardRange, interpolatedScratch } from './backward-interpolated.ts';
import { interpolatedFlowRange } from './flow-interpolated.ts';
import { interpolatedStartValues } from './start-interpolated.ts';
import { LatticeInterpolator } from './interpolate.ts';

export interface SchemeKernels {
  /** The next mean fields of the flat (t, row) range [from, to), i = t * rows + r, under tables.minorPolicy. */
  flow(tables: SolverTables, from: number, to: number): void;
  /** One backward step at t over rows [rowFrom, rowTo) (backward.ts's options); no policy update. */
  backward(tables: SolverTables, t: number, rowFrom: number, rowTo: number, options?: StepOptions): void;
  /** The start values at mu0 from value slot 0. */
  startValues(tables: SolverTables): StartValues;
}

export function schemeKernels(problem: Problem): SchemeKernels {
  if (problem.projection === 'interpolate') {
    const placement = new LatticeInterpolator(problem.grid);
    const scratch = interpolatedScratch(problem);
    return {
      flow: (tables, from, to) => interpolatedFlowRange(problem, tables.minorPolicy, tables, placement, from, to),
      backward: (tables, t, rowFrom, rowTo, options) => interpolatedBackwardRange(problem, tables, tables, t, rowFrom, rowTo, scratch, options),
      startValues: (tables) => interpolatedStartValues(problem, tables, placement),
    };
  }
  const scratch = backwardScratch(problem);
  return {
    flow: (tables, from, to) => flowRange(problem, tables.minorPolicy, tables.nextCell, from, to),
    backward: (tables, t, rowFrom, rowTo, options) => backwardRange(problem, tables, t, rowFrom, rowTo, scratch, options),
    startValues: (tables) => startValues(problem, tables),
  };
}

/** (t, row) pairs of the flow over `slices` policy slices: the flat range of flow(). */
export function flowUnits(problem: Problem, tables: SolverTables): number {
  return tables.majorPolicy.length / problem.game.nU0;
}
