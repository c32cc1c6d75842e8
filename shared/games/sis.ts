// SIS epidemic control (games.md, "SIS"). X = {S=0, I=1}, U = {no precaution, precaution},
// X0 = {low season, high season}, U0 = {0, 1}.
//   P(I | S, u=0) = min(1, beta * mu(I) * (0.5 + x0 + [u0 == 0]) * dt),  P(S | I) = gamma * dt
//   P0: the season switches with probability jump * dt
//   r  = -cI [x == I] - cP u (0.5 + u0),   r0 = -c0I mu(I) - c0F u0 (0.5 - mu(I))
// Stay probabilities are formed as 1 - (move probability), as the reference does.

import type { GameFamily, Params } from '../model.ts';

export const sis: GameFamily = {
  name: 'sis',
  description: 'SIS epidemic control with a government and low/high seasons (paper)',
  labels: { states: ['S', 'I'], actions: ['no precaution', 'precaution'], majorStates: ['L', 'H'] },
  params: {
    beta: { default: 0.8, min: 0, description: 'infection rate' },
    gamma: { default: 0.2, min: 0, description: 'recovery rate' },
    T: { default: 150, integer: true, min: 1, description: 'horizon' },
    dt: { default: 0.25, min: 0, description: 'time step' },
    p_inf0: { default: 0.2, min: 0, max: 1, description: 'initially infected share' },
    p_high0: { default: 0.5, min: 0, max: 1, description: 'probability of starting in the high season' },
    jump: { default: 0.4, min: 0, description: 'season switch rate' },
    cI: { default: 0.75, description: 'minor cost of infection' },
    cP: { default: 0.5, description: 'minor cost of precaution' },
    c0I: { default: 2, description: 'major cost of the infected share' },
    c0F: { default: 1, description: 'major cost of encouraging precaution' },
  },
  create(p: Params) {
    const { beta, gamma, dt, jump, cI, cP, c0I, c0F } = p;
    return {
      name: 'sis',
      nX: 2,
      nU: 2,
      nX0: 2,
      nU0: 2,
      T: p.T,
      mu0: Float64Array.of(1 - p.p_inf0, p.p_inf0),
      nu0: Float64Array.of(1 - p.p_high0, p.p_high0),
      params: p,
      minorKernel(x, u, x0, u0, mu, out, o) {
        if (x === 0) {
          const infect = u === 0 ? Math.min(1, beta * mu[1] * (0.5 + x0 + (u0 === 0 ? 1 : 0)) * dt) : 0;
          out[o + 1] = infect;
          out[o] = 1 - infect;
        } else {
          const recover = Math.min(1, gamma * dt);
          out[o] = recover;
          out[o + 1] = 1 - recover;
        }
      },
      majorKernel(x0, _u0, _mu, out, o) {
        const flip = Math.min(1, jump * dt);
        out[o + 1 - x0] = flip;
        out[o + x0] = 1 - flip;
      },
      minorReward(x, u, _x0, u0, _mu) {
        return -cI * (x === 1 ? 1 : 0) - cP * u * (0.5 + u0);
      },
      majorReward(_x0, u0, mu) {
        return -c0I * mu[1] - c0F * u0 * (0.5 - mu[1]);
      },
    };
  },
};
