// A user-defined game for m3fg: `npx m3fg solve --game ./examples/vaccination.ts --bins 40 --iterations 200`.
//
// Minor players are susceptible (0), infected (1) or immune (2); each decides whether to get vaccinated
// (u = 1, cost cV) which makes a susceptible player immune with probability `efficacy`. A health agency (the
// major player) runs a campaign (u0 = 1, cost c0Campaign) that raises efficacy by `boost`; the major state
// is the season (0 = calm, 1 = flu season) with a higher infection rate in season.
//
// A game is a family: named numeric parameters with defaults, and `create(params)` returning the definition.
// Kernels write one probability row into `out` at `o`; rewards return a number. m3fg checks, when the game is
// built, that every row is a distribution (within 1e-12) and every reward finite, at vertices, random
// points and every grid point, and names the function and state if one is not.

import type { GameFamily } from '../shared/model.ts';

const vaccination: GameFamily = {
  name: 'vaccination',
  description: 'SIR-style vaccination with a health agency campaign',
  // optional: names for reports (panel headers, legends); states and actions are numbered otherwise
  labels: {
    states: ['susceptible', 'infected', 'immune'],
    actions: ['no vaccination', 'vaccinate'],
    majorStates: ['calm', 'flu season'],
    majorActions: ['no campaign', 'campaign'],
  },
  params: {
    beta: { default: 0.6, min: 0, description: 'infection rate in the calm season' },
    seasonBoost: { default: 2, min: 0, description: 'infection-rate multiplier in the flu season' },
    recover: { default: 0.2, min: 0, max: 1, description: 'recovery probability' },
    waning: { default: 0.02, min: 0, max: 1, description: 'probability that immunity wanes' },
    efficacy: { default: 0.5, min: 0, max: 1, description: 'vaccination success probability' },
    boost: { default: 0.3, min: 0, max: 1, description: 'efficacy added by a campaign' },
    season: { default: 0.1, min: 0, max: 1, description: 'season switch probability' },
    cI: { default: 1, description: 'cost of being infected' },
    cV: { default: 0.3, description: 'cost of vaccination' },
    c0I: { default: 2, description: 'agency cost per infected share' },
    c0Campaign: { default: 0.2, description: 'agency cost of a campaign' },
    T: { default: 50, integer: true, min: 1, description: 'horizon' },
  },
  create(p) {
    return {
      name: 'vaccination',
      nX: 3,
      nU: 2,
      nX0: 2,
      nU0: 2,
      T: p.T,
      mu0: Float64Array.of(0.9, 0.1, 0),
      nu0: Float64Array.of(1, 0),
      params: p,
      minorKernel(x, u, x0, u0, mu, out, o) {
        out[o] = out[o + 1] = out[o + 2] = 0;
        if (x === 0) {
          const rate = p.beta * (x0 === 1 ? p.seasonBoost : 1);
          const infect = Math.min(1, rate * mu[1]);
          const immunise = u === 1 ? Math.min(1, p.efficacy + p.boost * u0) : 0;
          // vaccination acts first; an unvaccinated or failed player may then be infected
          out[o + 2] = immunise;
          out[o + 1] = (1 - immunise) * infect;
          out[o] = (1 - immunise) * (1 - infect);
        } else if (x === 1) {
          out[o + 2] = p.recover;
          out[o + 1] = 1 - p.recover;
        } else {
          out[o] = p.waning;
          out[o + 2] = 1 - p.waning;
        }
      },
      majorKernel(x0, _u0, _mu, out, o) {
        out[o + 1 - x0] = p.season;
        out[o + x0] = 1 - p.season;
      },
      minorReward(x, u) {
        return -p.cI * (x === 1 ? 1 : 0) - p.cV * u;
      },
      majorReward(_x0, u0, mu) {
        return -p.c0I * mu[1] - p.c0Campaign * u0;
      },
    };
  },
};

export default vaccination;
