// The variants (softmax FP/FPI, OMD, the alternating schedule, initial policies, the infinite horizon, the
// lattice grid, a user game module) on the local executor with 2 and 3 threads, forced sharding and team
// calls on every sweep (the workers alone, or with the calling thread), give the same policy tables and
// curve, to the bit, as the inline executor.
import { describe, expect, it } from 'vitest';
import type { LocalExecutorOptions } from '../coordinator/local-executor.ts';
import { expectConforms, localExecutorForBlock } from './helpers/conformance.ts';
import { VARIANT_CASES as CASES } from './helpers/variants.ts';

/** Team calls on every sweep, in blocks of a few rows. */
const TEAM_EVERYWHERE = { inlineBelowMs: 0, minChunkMs: 1e-9, targetBlockMs: 1e-6 };
const CONFIGS: Array<[string, LocalExecutorOptions]> = [
  ['2 threads, forced sharding', { threads: 2, chunks: 5 }],
  ['3 threads, forced sharding', { threads: 3, chunks: 7 }],
  ['2 threads, team calls on the worker alone', { threads: 2, rule: TEAM_EVERYWHERE, callerJoins: false }],
  ['3 threads, team calls with the calling thread', { threads: 3, rule: TEAM_EVERYWHERE }],
];

describe('variants conform across executors (bitwise)', () => {
  for (const [label, options] of CONFIGS) {
    describe(label, () => {
      const ex = localExecutorForBlock(options);
      for (const c of CASES) {
        it(c.label, async () => {
          await expectConforms(c, ex(), label);
        });
      }
      if (options.chunks === undefined) {
        it('ran every sweep as a team call', () => {
          const s = ex().stats();
          // the workers alone: every block is theirs; with the calling thread, they join once attached
          if (options.callerJoins === false) expect(s.blocks.caller).toBe(0);
          if (options.callerJoins === false) expect(s.blocks.workers).toBeGreaterThan(0);
          for (const kind of ['flow', 'step', 'backward', 'update'] as const) expect(s.calls[kind].inline, kind).toBe(0);
          expect(s.calls.step.sharded).toBeGreaterThan(0);
          expect(s.retries).toBe(0);
        });
      }
    });
  }
});
