// Cyber: botnet defence (games.md, "Cyber"; reference code only). X = {0..3}: x >= 2 is the protection class,
// x odd is infected. U = {keep class, try to switch}. X0 = {0}. U0 = attacker effort {0, 1}.
//   i = mu(1) + mu(3);  q = beta i 0.5 (u0 = 0) or min(1, beta i 1.5) (u0 = 1);  recovery gamma
//   u = 1 switches the class with probability jump, independently of the infection-bit move.
//   r = -cInf [x odd] - cProt [x >= 2],   r0 = c0Inf i - c0Hack u0
// Products are formed as (bit-move probability) * (class-move probability), as the reference does.

import type { GameFamily, Params } from '../model.ts';

export const cyber: GameFamily = {
  name: 'cyber',
  description: 'Botnet defence with an attacker; 4 minor states make a 3-D simplex (reference code)',
  labels: { states: ['class 0, S', 'class 0, I', 'class 1, S', 'class 1, I'], actions: ['keep class', 'switch class'], majorActions: ['no attack effort', 'attack effort'] },
  params: {
    beta: { default: 0.8, min: 0, description: 'infection rate' },
    gamma: { default: 0.2, min: 0, max: 1, description: 'recovery probability' },
    T: { default: 100, integer: true, min: 1, description: 'horizon' },
    p_inf0: { default: 0.2, min: 0, max: 1, description: 'initially infected share' },
    p_mod0: { default: 0.5, min: 0, max: 1, description: 'initial share in protection class 1' },
    jump: { default: 0.1, min: 0, max: 1, description: 'class switch probability under u = 1' },
    cInf: { default: 1.0, description: 'minor cost of infection' },
    cProt: { default: 0.0, description: 'minor cost of protection class 1' },
    c0Inf: { default: 1.0, description: 'attacker gain per infected share' },
    c0Hack: { default: 0.5, description: 'attacker cost of effort' },
  },
  create(p: Params) {
    const { beta, gamma, jump, cInf, cProt, c0Inf, c0Hack } = p;
    const m = p.p_mod0;
    const q0 = p.p_inf0;
    return {
      name: 'cyber',
      nX: 4,
      nU: 2,
      nX0: 1,
      nU0: 2,
      T: p.T,
      mu0: Float64Array.of((1 - q0) * (1 - m), q0 * (1 - m), (1 - q0) * m, q0 * m),
      nu0: Float64Array.of(1),
      params: p,
      minorKernel(x, u, _x0, u0, mu, out, o) {
        const i = mu[1] + mu[3];
        const cls = x >= 2 ? 2 : 0;
        const other = 2 - cls;
        // probability that the infection bit ends at 1 (infected) and at 0
        let toInf: number;
        let toSus: number;
        if (x % 2 === 1) {
          toSus = gamma;
          toInf = 1 - gamma;
        } else {
          const q = u0 === 0 ? Math.min(1, beta * i * 0.5) : Math.min(1, beta * i * 1.5);
          toInf = q;
          toSus = 1 - q;
        }
        if (u === 0) {
          out[o + other] = 0;
          out[o + other + 1] = 0;
          out[o + cls] = toSus;
          out[o + cls + 1] = toInf;
        } else {
          out[o + cls] = toSus * (1 - jump);
          out[o + cls + 1] = toInf * (1 - jump);
          out[o + other] = toSus * jump;
          out[o + other + 1] = toInf * jump;
        }
      },
      majorKernel(_x0, _u0, _mu, out, o) {
        out[o] = 1;
      },
      minorReward(x, _u, _x0, _u0, _mu) {
        return -cInf * (x % 2) - cProt * (x >= 2 ? 1 : 0);
      },
      majorReward(_x0, u0, mu) {
        return c0Inf * (mu[1] + mu[3]) - c0Hack * u0;
      },
    };
  },
};
