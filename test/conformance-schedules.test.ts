// The study's further methods (damped fixed-point iteration, OMD with a learning-rate schedule or an annealed
// temperature) on the local executor with 2 threads and forced sharding give the same policy tables,
// accumulators and curve, to the bit, as the inline executor.
import { describe, expect, it } from 'vitest';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { expectConforms, localExecutorForBlock } from './helpers/conformance.ts';
import { solveCollected } from './helpers/same-bits.ts';
import { problemOf, type Case } from './helpers/variants.ts';

const CASES: Case[] = [
  { label: 'damped greedy', game: 'sis', params: { T: 12 }, bins: 12, options: { algorithm: 'damped', iterations: 4, step: 0.3 } },
  { label: 'damped softmax', game: 'advertisement', params: { T: 10 }, bins: 10, options: { algorithm: 'damped', iterations: 3, step: 0.2, softmax: true, temperature: 0.05 } },
  { label: 'omd sqrt rate', game: 'buffet', params: { T: 10 }, bins: 8, options: { algorithm: 'omd', iterations: 4, temperature: 0.1, schedule: 'sqrt' } },
  { label: 'omd annealed', game: 'sis', params: { T: 12 }, bins: 12, options: { algorithm: 'omd', iterations: 4, temperature: 0.3, schedule: 'anneal' } },
  { label: 'infinite damped', game: 'sis', params: {}, bins: 10, options: { algorithm: 'damped', iterations: 2, step: 0.5, horizon: 'infinite', discount: 0.95 } },
];

describe('further methods conform across executors (bitwise)', () => {
  const ex = localExecutorForBlock({ threads: 2, chunks: 5 });
  for (const c of CASES) {
    it(c.label, async () => {
      const inline = await expectConforms(c, ex(), '2 threads');
      // the schedule changes the numbers: not a renamed copy of the plain method
      const spec = { game: c.game, params: c.params, bins: c.bins };
      const plain = await solveCollected(spec, await problemOf(c), new InlineExecutor(), { ...c.options, step: undefined, schedule: undefined, algorithm: c.options.algorithm === 'damped' ? 'fpi' : 'omd' });
      expect(plain.curve[c.options.iterations - 1].exploitability.total).not.toBe(inline.curve[c.options.iterations - 1].exploitability.total);
    });
  }
});
