// Advertisement: a regulated duopoly of subscriptions (games.md, "Advertisement").
// X = {company 1, company 2}, U = {0, 1}, X0 = which company advertises efficiently, U0 = {neutral, favour 1, favour 2}.
//   a1 = k0 + kY [x0 == 0] + kU0 [u0 == 1],   a2 = k0 + kY [x0 == 1] + kU0 [u0 == 2]
//   P(1 | 0, u) = min(1, change * a2 / a1 * (0.2 + kU u)),  P(0 | 1, u) = min(1, change * a1 / a2 * (0.2 + kU u))
//   P0: x0 flips with probability jump0
//   r  = cCrowd (mu(x) - mu(1-x)) + cAd a_{x+1} - cC [u == 0] - cO [u == 1]
//   r0 = -c0Monopoly |mu(0) - mu(1)| - c0Ad [u0 != 0]

import { GameDefinitionError } from '../errors.ts';
import type { GameFamily, Params } from '../model.ts';

export const advertisement: GameFamily = {
  name: 'advertisement',
  description: 'Regulated advertisement duopoly: consumers switch subscriptions, a regulator prices ads (paper)',
  labels: {
    states: ['company 1', 'company 2'],
    actions: ['no switching boost', 'switching boost'],
    majorStates: ['company 1 efficient', 'company 2 efficient'],
    majorActions: ['neutral', 'favour company 1', 'favour company 2'],
  },
  params: {
    change: { default: 0.3, min: 0, description: 'switching rate' },
    jump0: { default: 0.05, min: 0, max: 1, description: 'probability that the efficient advertiser changes' },
    T: { default: 100, integer: true, min: 1, description: 'horizon' },
    cC: { default: 0.75, description: 'cost of action 0' },
    cO: { default: 1.0, description: 'cost of action 1' },
    cAd: { default: 1.0, description: 'weight of advertisement efficiency in the minor reward' },
    cCrowd: { default: 1.0, description: 'weight of the market-share difference' },
    c0Ad: { default: 0.1, description: 'regulator cost of favouring a company' },
    c0Monopoly: { default: 1, description: 'regulator cost of market imbalance' },
    k0: { default: 0.2, min: 0, description: 'base advertisement efficiency' },
    kY: { default: 0.5, min: 0, description: 'efficiency bonus of the efficient advertiser' },
    kU0: { default: 0.7, min: 0, description: 'efficiency bonus of the favoured company' },
    kU: { default: 1.0, min: 0, description: 'switching boost of action 1' },
  },
  create(p: Params) {
    const { change, jump0, cC, cO, cAd, cCrowd, c0Ad, c0Monopoly, k0, kY, kU0, kU } = p;
    if (k0 === 0 && kY === 0) {
      throw new GameDefinitionError('advertisement', "parameters 'k0' and 'kY' cannot both be 0 (a1 = a2 = 0 at x0 = 0, u0 = 0)");
    }
    const a1 = (x0: number, u0: number) => k0 + kY * (x0 === 0 ? 1 : 0) + kU0 * (u0 === 1 ? 1 : 0);
    const a2 = (x0: number, u0: number) => k0 + kY * (x0 === 1 ? 1 : 0) + kU0 * (u0 === 2 ? 1 : 0);
    return {
      name: 'advertisement',
      nX: 2,
      nU: 2,
      nX0: 2,
      nU0: 3,
      T: p.T,
      mu0: Float64Array.of(0.5, 0.5),
      nu0: Float64Array.of(1, 0),
      params: p,
      minorKernel(x, u, x0, u0, _mu, out, o) {
        const e1 = a1(x0, u0);
        const e2 = a2(x0, u0);
        if (x === 0) {
          const sw = Math.min(1, ((change * e2) / e1) * (0.2 + kU * u));
          out[o + 1] = sw;
          out[o] = 1 - sw;
        } else {
          const sw = Math.min(1, ((change * e1) / e2) * (0.2 + kU * u));
          out[o] = sw;
          out[o + 1] = 1 - sw;
        }
      },
      majorKernel(x0, _u0, _mu, out, o) {
        out[o + 1 - x0] = jump0;
        out[o + x0] = 1 - jump0;
      },
      minorReward(x, u, x0, u0, mu) {
        const eff = x === 0 ? a1(x0, u0) : a2(x0, u0);
        return cCrowd * (mu[x] - mu[1 - x]) + cAd * eff - (u === 0 ? cC : cO);
      },
      majorReward(_x0, u0, mu) {
        return -c0Monopoly * Math.abs(mu[0] - mu[1]) - (u0 !== 0 ? c0Ad : 0);
      },
    };
  },
};
