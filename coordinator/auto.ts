// `--algorithm auto`: the recommended default from the algorithm study (docs/algorithms-study.md,
// `m3fg experiment algorithms`). It is an ordinary method with fixed settings, resolved when the flags are
// parsed, so run.json and checkpoints record the concrete algorithm (and `auto: true`).

import type { SolveOptions } from './solver.ts';

/** What auto runs: OMD with the temperature annealed as tau / sqrt(n + 1). */
export const AUTO_METHOD = {
  algorithm: 'omd',
  temperature: 0.1,
  schedule: 'anneal',
} as const satisfies Pick<SolveOptions, 'algorithm' | 'temperature' | 'schedule'>;

/** The flags auto fixes itself (any of them given with auto is an error). */
export const AUTO_FIXED_FLAGS = ['softmax', 'temperature', 'schedule', 'step', 'inner'] as const;
