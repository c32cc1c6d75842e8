// The study's further update rules against dense per-entry formulas on random Q rows and policies (games.md
// "Variants" plus issue 15): damped fixed-point iteration pi <- (1 - alpha) pi + alpha response (greedy or
// softmax, one player or both), OMD with a learning rate y <- y + eta Q_eval, and the solver's schedules
// (sqrt learning rate, annealed temperature, damped's adaptive step).
import { describe, expect, it } from 'vitest';
import { updateRange, type Players, type Response } from '../shared/kernels/update.ts';
import { updateRule } from '../coordinator/solver.ts';
import { AdaptiveStep } from '../coordinator/adaptive-step.ts';
import { sameBits } from './helpers/same-bits.ts';
import { randomUpdateTables, softmaxRef } from './helpers/update-tables.ts';

/** Every (policy entry, Q row, greedy action) of slice t, for both players: the dense walk. */
function* entries(game: { nX: number; nU: number; nU0: number }, rows: number, t: number) {
  for (let r = 0; r < rows; r++) {
    yield { player: 'major' as const, n: game.nU0, p: (t * rows + r) * game.nU0, q: r * game.nU0, g: r };
    for (let x = 0; x < game.nX; x++) {
      yield { player: 'minor' as const, n: game.nU, p: ((t * rows + r) * game.nX + x) * game.nU, q: (r * game.nX + x) * game.nU, g: r * game.nX + x };
    }
  }
}

describe('further update rules (dense reference)', () => {
  const t = 1;
  const cases: Array<{ step: number; response: Response; players: Players }> = [
    { step: 0.1, response: { kind: 'greedy' }, players: 'both' },
    { step: 0.35, response: { kind: 'softmax', temperature: 0.2 }, players: 'both' },
    { step: 0.5, response: { kind: 'greedy' }, players: 'minor' },
    { step: 1, response: { kind: 'softmax', temperature: 0.05 }, players: 'major' },
  ];
  for (const [i, c] of cases.entries()) {
    it(`damped: pi <- (1 - ${c.step}) pi + ${c.step} ${c.response.kind} response (${c.players})`, () => {
      const { game, problem, tables } = randomUpdateTables(20 + i);
      const before = { minor: Float64Array.from(tables.minorPolicy), major: Float64Array.from(tables.majorPolicy) };
      updateRange(problem, tables, t, 0, problem.rows, { kind: 'damped', step: c.step, response: c.response, players: c.players });
      for (const e of entries(game, problem.rows, t)) {
        const policy = e.player === 'major' ? tables.majorPolicy : tables.minorPolicy;
        const old = before[e.player];
        const q = Array.from((e.player === 'major' ? tables.majorQbr : tables.minorQbr).subarray(e.q, e.q + e.n));
        const g = (e.player === 'major' ? tables.majorGreedy : tables.minorGreedy)[e.g];
        const resp = c.response.kind === 'softmax' ? softmaxRef(q, c.response.temperature) : q.map((_, a) => (a === g ? 1 : 0));
        const updated = c.players === 'both' || c.players === e.player;
        for (let a = 0; a < e.n; a++) {
          const want = updated ? (1 - c.step) * old[e.p + a] + c.step * resp[a] : old[e.p + a];
          if (c.response.kind === 'greedy' || !updated) expect(policy[e.p + a]).toBe(want);
          else expect(policy[e.p + a]).toBeCloseTo(want, 14);
        }
      }
      // other slices untouched
      const slice = problem.rows * game.nX * game.nU;
      expect(Array.from(tables.minorPolicy.subarray(0, slice))).toEqual(Array.from(before.minor.subarray(0, slice)));
    });
  }

  it('OMD with a learning rate: y <- y + eta Q_eval, pi <- softmax(y / tau)', () => {
    const { game, problem, tables } = randomUpdateTables(31, true);
    const y0 = { minor: Float64Array.from(tables.minorY), major: Float64Array.from(tables.majorY) };
    updateRange(problem, tables, t, 0, problem.rows, { kind: 'omd', temperature: 0.3, rate: 0.25 });
    for (const e of entries(game, problem.rows, t)) {
      const y = e.player === 'major' ? tables.majorY : tables.minorY;
      const policy = e.player === 'major' ? tables.majorPolicy : tables.minorPolicy;
      const q = (e.player === 'major' ? tables.majorQev : tables.minorQev).subarray(e.q, e.q + e.n);
      const want = Array.from(q, (v, a) => y0[e.player][e.p + a] + 0.25 * v);
      const s = softmaxRef(want, 0.3);
      for (let a = 0; a < e.n; a++) {
        expect(y[e.p + a]).toBe(want[a]);
        expect(policy[e.p + a]).toBeCloseTo(s[a], 14);
      }
    }
  });

  it('OMD without a rate is the reference sum, bit for bit the same as rate 1', () => {
    const a = randomUpdateTables(32, true);
    const b = randomUpdateTables(32, true);
    updateRange(a.problem, a.tables, t, 0, a.problem.rows, { kind: 'omd', temperature: 0.1 });
    updateRange(b.problem, b.tables, t, 0, b.problem.rows, { kind: 'omd', temperature: 0.1, rate: 1 });
    expect(sameBits(a.tables.minorY, b.tables.minorY)).toBe(true);
    expect(sameBits(a.tables.majorPolicy, b.tables.majorPolicy)).toBe(true);
  });

  it('schedules: damped step, OMD sqrt learning rate and annealed temperature per iteration', () => {
    expect(updateRule({ algorithm: 'damped' }, 7)).toEqual({ kind: 'damped', step: 0.1, response: { kind: 'greedy' } });
    expect(updateRule({ algorithm: 'damped', step: 0.3, softmax: true, temperature: 0.2 }, 0)).toEqual({
      kind: 'damped', step: 0.3, response: { kind: 'softmax', temperature: 0.2 },
    });
    expect(updateRule({ algorithm: 'omd', schedule: 'constant', temperature: 0.5 }, 8)).toEqual({ kind: 'omd', temperature: 0.5 });
    for (const n of [0, 3, 8]) {
      expect(updateRule({ algorithm: 'omd', schedule: 'sqrt', temperature: 0.5 }, n)).toEqual({ kind: 'omd', temperature: 0.5, rate: 1 / Math.sqrt(n + 1) });
      expect(updateRule({ algorithm: 'omd', schedule: 'anneal', temperature: 0.5 }, n)).toEqual({ kind: 'omd', temperature: 0.5 / Math.sqrt(n + 1) });
    }
  });

  it('adaptive damping: the step of iteration n from the curve before it, against the definition on random curves', () => {
    // the definition, recursively: alpha_0 = alpha_1 = alpha; halve (not below alpha/128) after a rise, else grow by 1.2 (not above alpha)
    const ref = (totals: number[], alpha: number, n: number): number => {
      if (n < 2) return alpha;
      const prev = ref(totals, alpha, n - 1);
      return totals[n - 1] > totals[n - 2] ? Math.max(prev / 2, alpha / 128) : Math.min(prev * 1.2, alpha);
    };
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 20; trial++) {
      const alpha = 0.05 + rand() * 0.95;
      // rises and falls, equal neighbours (not a rise) and long runs of rises (down to the floor)
      const totals = Array.from({ length: 60 }, (_, i) => (trial % 3 === 0 && i > 20 && i < 35 ? i : Math.floor(rand() * 4)));
      const curve = totals.map((total) => ({ exploitability: { total, major: total, minor: 0 } }));
      const steps = new AdaptiveStep(alpha);
      const seen = new Set<number>();
      // in order, then out of order (an earlier n restarts), as a resumed run asks
      const order = [...totals.keys(), 30, 5, 59, 0, 2, 41];
      for (const n of order) {
        const want = ref(totals, alpha, n);
        expect(steps.at(curve, n), `trial ${trial}, n = ${n}`).toBe(want);
        seen.add(want);
      }
      expect(seen.size, 'the step changes along the curve').toBeGreaterThan(2);
      if (trial % 3 === 0) expect(seen.has(alpha / 128), 'the floor is reached').toBe(true);
    }
    expect(updateRule({ algorithm: 'damped', schedule: 'adaptive', step: 0.4 }, 5, 0.0125)).toEqual({ kind: 'damped', step: 0.0125, response: { kind: 'greedy' } });
    expect(() => updateRule({ algorithm: 'damped', schedule: 'adaptive' }, 5)).toThrow(/needs the step/);
  });
});
