// Damped fixed-point iteration with an adaptive step (`--algorithm damped --schedule adaptive`): the step of
// iteration n is a function of the curve before it, so every executor, and a run resumed from a checkpoint
// (which carries the curve), takes the same steps:
//   alpha_0 = alpha_1 = alpha;  for n >= 2:
//   alpha_n = curve[n-1] > curve[n-2] ?  max(alpha_{n-1} / 2, alpha / 128)   (the total rose: halve)
//                                     :  min(alpha_{n-1} * 1.2, alpha)        (it fell: grow back)
// (curve[i] = total exploitability of the policies after i updates). FPI and large constant steps cycle on
// these games and small ones crawl; halving on every rise settles the cycle and growing back keeps the speed.

import type { CurvePoint } from './solver.ts';

export const ADAPTIVE_SHRINK = 0.5;
export const ADAPTIVE_GROW = 1.2;
/** The least step, as a fraction of the largest. */
export const ADAPTIVE_MIN_FRACTION = 1 / 128;

/** The steps of one run, computed incrementally (each curve point read once; asking for an earlier n restarts). */
export class AdaptiveStep {
  private n = 0;
  private step: number;

  constructor(readonly alpha: number) {
    this.step = alpha;
  }

  /** The step of iteration n; needs curve[0..n-1]. */
  at(curve: readonly Pick<CurvePoint, 'exploitability'>[], n: number): number {
    if (n < this.n) {
      this.n = 0;
      this.step = this.alpha;
    }
    for (; this.n < n; ) {
      this.n++;
      const k = this.n;
      if (k < 2) continue;
      const rose = curve[k - 1].exploitability.total > curve[k - 2].exploitability.total;
      this.step = rose ? Math.max(this.step * ADAPTIVE_SHRINK, this.alpha * ADAPTIVE_MIN_FRACTION) : Math.min(this.step * ADAPTIVE_GROW, this.alpha);
    }
    return this.step;
  }
}
