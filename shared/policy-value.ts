// The mean-field value of given policies (the MF prediction an N-player experiment is compared with):
// one evaluation sweep of games.md, "The discretized best responses", with the policies held fixed:
//   next(t, x0, u0, c) under pi (flowRange), then t = T-1..0 the backward step (backwardRange) from V[T] = 0,
//   read out at c0 = proj(mu0): major sum_x0 nu0(x0) V0[0][x0][c0], minor sum_x mu0(x) sum_x0 nu0(x0) V[0][x][x0][c0].
// The same kernels and order as a solver iteration, without the policy update, so for the policies a solver
// iteration starts from this gives that iteration's curve values to the bit.
// With the projection 'interpolate' (lattice grid) the same sweep runs the interpolated kernels: the next mean
// field is the vertices of its lattice simplex with their weights, and the start values are interpolated at mu0
// (docs/discretisation.md).

import type { Problem } from './problem.ts';
import type { Projection } from './policy-cell.ts';
import { allocateTables } from './tables.ts';
import { backwardRange, backwardScratch } from './kernels/backward.ts';
import { interpolatedBackwardRange, interpolatedScratch } from './kernels/backward-interpolated.ts';
import { startValues, type StartValues } from './kernels/exploitability.ts';
import { flowRange } from './kernels/flow.ts';
import { allocateInterpolatedNext, interpolatedFlowRange } from './kernels/flow-interpolated.ts';
import { LatticeInterpolator } from './kernels/interpolate.ts';
import { interpolatedStartValues } from './kernels/start-interpolated.ts';

export function policyStartValues(
  problem: Problem,
  minorPolicy: Float64Array,
  majorPolicy: Float64Array,
  projection: Projection = 'nearest',
): StartValues {
  const { T, nX } = problem.game;
  const rows = problem.rows;
  const tables = allocateTables(problem);
  if (minorPolicy.length !== tables.minorPolicy.length || majorPolicy.length !== tables.majorPolicy.length) {
    throw new RangeError(
      `policy value: tables of ${minorPolicy.length} and ${majorPolicy.length} entries do not fit this problem ` +
        `(expected ${tables.minorPolicy.length} and ${tables.majorPolicy.length})`,
    );
  }
  tables.minorPolicy.set(minorPolicy);
  tables.majorPolicy.set(majorPolicy);
  const interp = projection === 'interpolate' ? new LatticeInterpolator(problem.grid) : undefined;
  const next = interp ? allocateInterpolatedNext(problem) : undefined;
  if (interp) interpolatedFlowRange(problem, tables.minorPolicy, next!, interp, 0, T * rows);
  else flowRange(problem, tables.minorPolicy, tables.nextCell, 0, T * rows);
  // the value after the last epoch is 0: the slot that plays t = T
  const terminal = T & 1;
  tables.majorBR.fill(0, terminal * rows, (terminal + 1) * rows);
  tables.majorEval.fill(0, terminal * rows, (terminal + 1) * rows);
  tables.minorBR.fill(0, terminal * rows * nX, (terminal + 1) * rows * nX);
  tables.minorEval.fill(0, terminal * rows * nX, (terminal + 1) * rows * nX);
  if (interp) {
    const scratch = interpolatedScratch(problem);
    for (let t = T - 1; t >= 0; t--) interpolatedBackwardRange(problem, tables, next!, t, 0, rows, scratch);
    return interpolatedStartValues(problem, tables, interp);
  }
  const scratch = backwardScratch(problem);
  for (let t = T - 1; t >= 0; t--) backwardRange(problem, tables, t, 0, rows, scratch);
  return startValues(problem, tables);
}
