// One conformance check for the executor tests (test/conformance-variants.test.ts,
// test/conformance-schedules.test.ts): a case solved by the inline executor and by a local executor with
// threads must agree to the bit, over the whole requested number of iterations.
import { afterAll, beforeAll, expect } from 'vitest';
import { InlineExecutor } from '../../coordinator/inline-executor.ts';
import { LocalExecutor, type LocalExecutorOptions } from '../../coordinator/local-executor.ts';
import { expectSameBits, solveCollected, type Solved } from './same-bits.ts';
import { problemOf, type Case } from './variants.ts';

/** A local executor for the enclosing describe block, opened before its tests and closed after them. */
export function localExecutorForBlock(options: LocalExecutorOptions): () => LocalExecutor {
  let ex: LocalExecutor | undefined;
  beforeAll(() => {
    ex = new LocalExecutor(options);
  });
  afterAll(async () => {
    await ex?.close();
  });
  return () => ex!;
}

/** Solves the case inline and on `ex`, expects the same bits; returns the inline solve. */
export async function expectConforms(c: Case, ex: LocalExecutor, label: string): Promise<Solved> {
  const problem = await problemOf(c);
  const spec = { game: c.game, params: c.params, bins: c.bins };
  const inline = await solveCollected(spec, problem, new InlineExecutor(), c.options);
  const local = await solveCollected(spec, problem, ex, c.options);
  expectSameBits(inline, local, `${c.label} (${label})`);
  expect(inline.curve).toHaveLength(c.options.iterations);
  return inline;
}
