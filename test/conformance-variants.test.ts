// The variants (softmax FP/FPI, OMD, the alternating schedule, initial policies, the infinite horizon, the
// lattice grid, a user game module) on the local executor with 2 and 3 threads and forced sharding give
// the same policy tables and curve, to the bit, as the inline executor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { LocalExecutor } from '../coordinator/local-executor.ts';
import { solve, type SolveResult } from '../coordinator/solver.ts';
import { problemOf, VARIANT_CASES as CASES } from './helpers/variants.ts';

function same(a: SolveResult, b: SolveResult, what: string) {
  const bytes = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  expect(bytes(b.tables.minorPolicy).equals(bytes(a.tables.minorPolicy)), `${what}: minorPolicy`).toBe(true);
  expect(bytes(b.tables.majorPolicy).equals(bytes(a.tables.majorPolicy)), `${what}: majorPolicy`).toBe(true);
  expect(JSON.stringify(b.curve), `${what}: curve`).toBe(JSON.stringify(a.curve));
  // JSON.stringify drops the sign of zero and rounds nothing: compare the numbers with Object.is as well
  a.curve.forEach((p, i) => {
    for (const k of ['majorBestResponse', 'majorPolicy', 'minorBestResponse', 'minorPolicy'] as const) {
      expect(Object.is(b.curve[i].value[k], p.value[k]), `${what}: curve[${i}].${k}`).toBe(true);
    }
  });
}

describe('variants conform across executors (bitwise)', () => {
  for (const threads of [2, 3]) {
    describe(`${threads} threads, forced sharding`, () => {
      let ex: LocalExecutor;
      beforeAll(() => {
        ex = new LocalExecutor({ threads, chunks: 2 * threads + 1 });
      });
      afterAll(async () => {
        await ex?.close();
      });
      for (const c of CASES) {
        it(c.label, async () => {
          const problem = await problemOf(c);
          const spec = { game: c.game, params: c.params, bins: c.bins };
          const inline = await solve(spec, problem, new InlineExecutor(), c.options);
          const local = await solve(spec, problem, ex, c.options);
          same(inline, local, `${c.label} (${threads} threads)`);
          expect(inline.curve).toHaveLength(c.options.iterations);
        });
      }
    });
  }
});
