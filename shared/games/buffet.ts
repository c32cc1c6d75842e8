// Buffet: conference catering (games.md, "Buffet"). X = U = locations {0..L-1}; U0 = the location refilled.
// X0 = fill vectors f in {0..F-1}^L, encoded x0 = sum_d f_d F^d.
//   minor: u == x stays; otherwise moves to u with probability change * dt
//   major: each location d loses one unit with probability mu(d) loss dt (independently); with probability
//          gain dt location u0 gains one unit; gain and losses apply together, then clip to [0, F-1].
//   r  = cFood f_x - cCrowd mu(x) - cMove [u != x]
//   r0 = c0Fill mean_d(f_d) - c0Balance mean_d |f_d - mean(f)|
// Floating-point order follows the reference: the stay mass is (1 - change dt) + change dt when u == x, and
// the major row accumulates, for each loss pattern in lexicographic order (location 0 slowest), the
// no-gain outcome then the gain outcome, with pattern probability prod_d (loss_d ? mu_d loss dt : 1 - mu_d loss dt).

import { GameDefinitionError } from '../errors.ts';
import type { GameFamily, Params } from '../model.ts';

export const buffet: GameFamily = {
  name: 'buffet',
  description: 'Buffet locations that deplete with crowding, refilled by a caterer (paper)',
  params: {
    L: { default: 2, integer: true, min: 2, max: 6, description: 'number of locations' },
    F: { default: 5, integer: true, min: 2, max: 20, description: 'fill levels 0..F-1' },
    change: { default: 0.7, min: 0, description: 'moving rate' },
    dt: { default: 0.2, min: 0, description: 'time step' },
    gain: { default: 0.9, min: 0, description: 'refill rate' },
    loss: { default: 1.0, min: 0, description: 'depletion rate per unit crowd' },
    T: { default: 100, integer: true, min: 1, description: 'horizon' },
    cFood: { default: 0.75, description: 'minor reward per fill level' },
    cCrowd: { default: 0.5, description: 'minor cost of crowding' },
    cMove: { default: 1.0, description: 'minor cost of moving' },
    c0Fill: { default: 2, description: 'caterer reward per mean fill level' },
    c0Balance: { default: 1, description: 'caterer cost of unbalanced fill levels' },
  },
  create(p: Params) {
    const { L, F, change, dt, gain, loss, cFood, cCrowd, cMove, c0Fill, c0Balance } = p;
    const nX0 = F ** L;
    if (nX0 > 4096) {
      throw new GameDefinitionError('buffet', `F^L = ${F}^${L} = ${nX0} major states is more than the 4096 supported`);
    }
    const fill = new Int32Array(nX0 * L); // fill[x0 * L + d] = f_d
    for (let x0 = 0; x0 < nX0; x0++) {
      let rest = x0;
      for (let d = 0; d < L; d++) {
        fill[x0 * L + d] = rest % F;
        rest = Math.floor(rest / F);
      }
    }
    const nu0 = new Float64Array(nX0).fill(1 / nX0);
    const mu0 = new Float64Array(L);
    mu0[0] = 1;
    const move = Math.min(1, change * dt);
    const stay = 1 - move;
    const pGain = Math.min(1, gain * dt);
    const patterns = 1 << L;
    const lossF = new Int32Array(L);
    return {
      name: 'buffet',
      nX: L,
      nU: L,
      nX0,
      nU0: L,
      T: p.T,
      mu0,
      nu0,
      params: p,
      minorKernel(x, u, _x0, _u0, _mu, out, o) {
        for (let y = 0; y < L; y++) out[o + y] = 0;
        out[o + x] += stay;
        out[o + u] += move;
      },
      majorKernel(x0, u0, mu, out, o) {
        for (let y = 0; y < nX0; y++) out[o + y] = 0;
        for (let pat = 0; pat < patterns; pat++) {
          // location 0 is the most significant bit: itertools.product order
          let prob = 1;
          let yLoss = 0;
          let yBoth = 0;
          let scale = 1;
          for (let d = 0; d < L; d++) {
            const lost = (pat >> (L - 1 - d)) & 1;
            const pd = Math.min(1, mu[d] * loss * dt);
            prob = d === 0 ? (lost ? pd : 1 - pd) : prob * (lost ? pd : 1 - pd);
            const f = fill[x0 * L + d];
            lossF[d] = f - lost;
            const both = f + (d === u0 ? 1 : 0) - lost;
            yLoss += clip(lossF[d], F) * scale;
            yBoth += clip(both, F) * scale;
            scale *= F;
          }
          out[o + yLoss] += (1 - pGain) * prob;
          out[o + yBoth] += pGain * prob;
        }
      },
      minorReward(x, u, x0, _u0, mu) {
        return cFood * fill[x0 * L + x] - cCrowd * mu[x] - (u !== x ? cMove : 0);
      },
      majorReward(x0, _u0, _mu) {
        let sum = 0;
        for (let d = 0; d < L; d++) sum += fill[x0 * L + d];
        const mean = sum / L;
        // numpy's mean over the last axis: first element + (sequential sum of the rest)
        let rest = 0;
        for (let d = 1; d < L; d++) rest += Math.abs(fill[x0 * L + d] - mean);
        const dev = Math.abs(fill[x0 * L] - mean) + rest;
        return c0Fill * mean - c0Balance * (dev / L);
      },
    };
  },
};

function clip(f: number, F: number): number {
  return f < 0 ? 0 : f > F - 1 ? F - 1 : f;
}
