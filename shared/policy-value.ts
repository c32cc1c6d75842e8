// The mean-field value of given policies (the MF prediction an N-player experiment is compared with):
// one evaluation sweep of games.md, "The discretized best responses", with the policies held fixed:
//   next(t, x0, u0, c) under pi (flow), then t = T-1..0 the backward step from V[T] = 0, read out at mu0:
//   major sum_x0 nu0(x0) V0[0][x0](mu0), minor sum_x mu0(x) sum_x0 nu0(x0) V[0][x][x0](mu0).
// The problem's scheme decides the kernels (shared/kernels/scheme.ts): nearest reads the values at
// c0 = proj(mu0) and moves to one next cell; interpolate interpolates them at mu0 and at every next mean field.
// The same kernels and order as a solver iteration, without the policy update, so for the policies a solver
// iteration starts from this gives that iteration's curve values to the bit.

import type { Problem } from './problem.ts';
import { allocateTables } from './tables.ts';
import type { StartValues } from './kernels/exploitability.ts';
import { schemeKernels } from './kernels/scheme.ts';

export function policyStartValues(problem: Problem, minorPolicy: Float64Array, majorPolicy: Float64Array): StartValues {
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
  const kernels = schemeKernels(problem);
  kernels.flow(tables, 0, T * rows);
  // the value after the last epoch is 0: the slot that plays t = T
  const terminal = T & 1;
  tables.majorBR.fill(0, terminal * rows, (terminal + 1) * rows);
  tables.majorEval.fill(0, terminal * rows, (terminal + 1) * rows);
  tables.minorBR.fill(0, terminal * rows * nX, (terminal + 1) * rows * nX);
  tables.minorEval.fill(0, terminal * rows * nX, (terminal + 1) * rows * nX);
  for (let t = T - 1; t >= 0; t--) kernels.backward(tables, t, 0, rows);
  return kernels.startValues(tables);
}
