// The result's own exploitability (issue 15): one sweep with the rule 'none' after the last update evaluates
// exactly the policies a run returns. It equals the next curve point of a run one iteration longer, leaves the
// policies unchanged, and is the same on the inline and the local executor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { LocalExecutor } from '../coordinator/local-executor.ts';
import { solve, type SolveOptions } from '../coordinator/solver.ts';
import { collected, expectSameBits } from './helpers/same-bits.ts';
import { problemOf, type Case } from './helpers/variants.ts';
import type { Executor, IterateHint } from '../coordinator/executor.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';

const CASES: Case[] = [
  { label: 'fp', game: 'sis', params: { T: 12 }, bins: 10, options: { algorithm: 'fp', iterations: 4 } },
  { label: 'omd', game: 'advertisement', params: { T: 10 }, bins: 8, options: { algorithm: 'omd', iterations: 3, temperature: 0.1 } },
  { label: 'damped, infinite', game: 'sis', params: {}, bins: 8, options: { algorithm: 'damped', iterations: 2, step: 0.3, horizon: 'infinite', discount: 0.9 } },
];

async function run(c: Case, executor: Executor, options: SolveOptions) {
  const problem = await problemOf(c);
  const r = await solve({ game: c.game, params: c.params, bins: c.bins }, problem, executor, options);
  return { ...(await collected(r)), result: r.result };
}

describe("the result's own exploitability", () => {
  let local: LocalExecutor;
  beforeAll(() => {
    local = new LocalExecutor({ threads: 2, chunks: 5 });
  });
  afterAll(async () => {
    await local?.close();
  });
  for (const c of CASES) {
    it(c.label, async () => {
      const K = c.options.iterations;
      const evaluated = await run(c, new InlineExecutor(), { ...c.options, evaluateResult: true });
      const plain = await run(c, new InlineExecutor(), c.options);
      const longer = await run(c, new InlineExecutor(), { ...c.options, iterations: K + 1 });
      // the evaluation changes no policy and no curve point
      expectSameBits(plain, evaluated, `${c.label}: evaluation sweep`);
      // and reads what the next iteration's curve point reads, to the bit
      expectSameBits({ ...plain, curve: [longer.curve[K]] }, { ...plain, curve: [{ ...longer.curve[K], ...evaluated.result! }] }, `${c.label}: result`);
      expect(Object.is(evaluated.result!.exploitability.total, longer.curve[K].exploitability.total)).toBe(true);
      const onLocal = await run(c, local, { ...c.options, evaluateResult: true });
      expectSameBits(evaluated, onLocal, `${c.label}: local executor`);
      expect(onLocal.result).toEqual(evaluated.result);
    });
  }
});

describe('the last sweep is marked for the executor', () => {
  it('the last iteration, or the evaluation sweep after it, and no other (a cluster node runs nothing ahead after it)', async () => {
    const c = CASES[0];
    const problem = await problemOf(c);
    for (const evaluateResult of [false, true]) {
      const hints: Array<boolean | undefined> = [];
      class Recording extends InlineExecutor {
        override iterate(rule: UpdateRule, hint?: IterateHint): Promise<void> {
          hints.push(hint?.last);
          return super.iterate(rule);
        }
      }
      await solve({ game: c.game, params: c.params, bins: c.bins }, problem, new Recording(), { algorithm: 'fp', iterations: 3, evaluateResult });
      expect(hints, `evaluateResult ${evaluateResult}`).toEqual(evaluateResult ? [undefined, undefined, undefined, true] : [undefined, undefined, true]);
    }
  });
});
