// The variants (softmax FP/FPI, OMD, the alternating schedule, initial policies, the infinite horizon, the
// lattice grid, a user game module) on the local executor with 2 and 3 threads and forced sharding give
// the same policy tables and curve, to the bit, as the inline executor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { LocalExecutor } from '../coordinator/local-executor.ts';
import { expectSameBits, solveCollected } from './helpers/same-bits.ts';
import { problemOf, VARIANT_CASES as CASES } from './helpers/variants.ts';

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
          const inline = await solveCollected(spec, problem, new InlineExecutor(), c.options);
          const local = await solveCollected(spec, problem, ex, c.options);
          expectSameBits(inline, local, `${c.label} (${threads} threads)`);
          expect(inline.curve).toHaveLength(c.options.iterations);
        });
      }
    });
  }
});
