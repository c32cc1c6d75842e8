// `--algorithm auto`: the recommended method from the algorithm study (docs/algorithms-study.md,
// `m3fg experiment algorithms`). It is an ordinary method with fixed settings, resolved when the flags are
// parsed, so run.json and checkpoints record the concrete algorithm (and `auto: true`), and a resumed run
// resolves to the same one.
//
// No method is best on every game of the study, so auto chooses by problem where the study measured one:
//   Buffet         damped FPI with the adaptive step, α ≤ 0.3: at M = 120 0.064 in 250 iterations with the
//                  paper's nearest projection (FP 0.57, OMD 0.89), 0.00996 in 409 with the interpolated one
//   Advertisement  FPI: its second iterate is the lowest total any method reached in 1500 iterations (0.086 at
//                  M = 120; the run keeps its best iterate, FPI then cycles)
//   otherwise      OMD with the temperature annealed as 0.1 / sqrt(n + 1) (SIS, Cyber: the best there)
// The per-game choices hold for the game as the study ran it (finite horizon, default parameters); with
// --param or --horizon infinite auto is the general choice. Auto never changes the discretisation (grid,
// projection): that would change the game being solved.

import type { SolveOptions } from './solver.ts';

export type AutoMethod = Pick<SolveOptions, 'algorithm' | 'temperature' | 'schedule' | 'step' | 'softmax'>;

/** The general choice: OMD with the temperature annealed as tau / sqrt(n + 1). */
export const AUTO_METHOD = {
  algorithm: 'omd',
  temperature: 0.1,
  schedule: 'anneal',
} as const satisfies AutoMethod;

export const AUTO_BUFFET = { algorithm: 'damped', step: 0.3, schedule: 'adaptive' } as const satisfies AutoMethod;
export const AUTO_ADVERTISEMENT = { algorithm: 'fpi' } as const satisfies AutoMethod;

/** The flags auto fixes itself (any of them given with auto is an error). */
export const AUTO_FIXED_FLAGS = ['softmax', 'temperature', 'schedule', 'step', 'inner'] as const;

/** What auto runs for this problem. `builtin`: the game is the built-in of that name (not a module). */
export function autoMethod(p: { game: string; builtin: boolean; params: boolean; horizon: 'finite' | 'infinite' }): AutoMethod {
  if (!p.builtin || p.params || p.horizon !== 'finite') return AUTO_METHOD;
  if (p.game === 'buffet') return AUTO_BUFFET;
  if (p.game === 'advertisement') return AUTO_ADVERTISEMENT;
  return AUTO_METHOD;
}

/** The method in words (error messages, the solve summary). */
export function describeMethod(m: AutoMethod): string {
  const parts: string[] = [m.algorithm];
  if (m.algorithm === 'damped') parts.push(m.schedule === 'adaptive' ? `adaptive step ≤ ${m.step}` : `step ${m.step}`);
  if (m.softmax) parts.push(`softmax τ = ${m.temperature}`);
  if (m.algorithm === 'omd') parts.push(m.schedule === 'anneal' ? `temperature ${m.temperature} / sqrt(n + 1)` : `temperature ${m.temperature}`);
  return parts.join(', ');
}
