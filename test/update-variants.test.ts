// The policy-update rules against their formulas (games.md "Variants"), on random Q rows and policies:
// softmax FP / FPI, OMD accumulation, the alternating schedule, and the solver's rule schedule.
import { describe, expect, it } from 'vitest';
import { updateRange, type UpdateRule } from '../shared/kernels/update.ts';
import { updateRule } from '../coordinator/solver.ts';
import { randomUpdateTables, softmaxRef } from './helpers/update-tables.ts';

describe('policy updates', () => {
  const t = 1;
  it('softmax FP averages softmax(Q_BR / tau) with weight 1/(n+2); FPI replaces', () => {
    for (const rule of [
      { kind: 'average', iteration: 4, response: { kind: 'softmax', temperature: 0.1 } },
      { kind: 'replace', response: { kind: 'softmax', temperature: 0.3 } },
    ] as UpdateRule[]) {
      const { game, problem, tables } = randomUpdateTables(11);
      const before = Float64Array.from(tables.minorPolicy);
      const before0 = Float64Array.from(tables.majorPolicy);
      updateRange(problem, tables, t, 0, problem.rows, rule);
      const tau = (rule as { response: { temperature: number } }).response.temperature;
      for (let r = 0; r < problem.rows; r++) {
        for (let x = 0; x < game.nX; x++) {
          const q = Array.from(tables.minorQbr.subarray((r * game.nX + x) * game.nU, (r * game.nX + x + 1) * game.nU));
          const s = softmaxRef(q, tau);
          for (let u = 0; u < game.nU; u++) {
            const i = ((t * problem.rows + r) * game.nX + x) * game.nU + u;
            const want = rule.kind === 'average' ? (before[i] * 5 + s[u]) / 6 : s[u];
            expect(tables.minorPolicy[i]).toBeCloseTo(want, 14);
          }
        }
        const q0 = Array.from(tables.majorQbr.subarray(r * game.nU0, (r + 1) * game.nU0));
        const s0 = softmaxRef(q0, tau);
        for (let u0 = 0; u0 < game.nU0; u0++) {
          const i = (t * problem.rows + r) * game.nU0 + u0;
          expect(tables.majorPolicy[i]).toBeCloseTo(rule.kind === 'average' ? (before0[i] * 5 + s0[u0]) / 6 : s0[u0], 14);
        }
      }
      // other slices untouched
      expect(Array.from(tables.minorPolicy.subarray(0, problem.rows * game.nX * game.nU))).toEqual(Array.from(before.subarray(0, problem.rows * game.nX * game.nU)));
    }
  });

  it('OMD adds the evaluation Q to y and sets the policy to softmax(y / tau)', () => {
    const { game, problem, tables } = randomUpdateTables(11, true);
    const y0 = Float64Array.from(tables.minorY);
    updateRange(problem, tables, t, 0, problem.rows, { kind: 'omd', temperature: 0.5 });
    updateRange(problem, tables, t, 0, problem.rows, { kind: 'omd', temperature: 0.5 });
    for (let r = 0; r < problem.rows; r++) {
      for (let x = 0; x < game.nX; x++) {
        const base = ((t * problem.rows + r) * game.nX + x) * game.nU;
        const q = Array.from(tables.minorQev.subarray((r * game.nX + x) * game.nU, (r * game.nX + x + 1) * game.nU));
        const y = q.map((v, u) => y0[base + u] + 2 * v);
        const s = softmaxRef(y, 0.5);
        for (let u = 0; u < game.nU; u++) {
          expect(tables.minorY[base + u]).toBeCloseTo(y[u], 14);
          expect(tables.minorPolicy[base + u]).toBeCloseTo(s[u], 14);
        }
      }
    }
  });

  it('the alternating schedule updates only the scheduled player', () => {
    const { problem, tables } = randomUpdateTables(11);
    const minor = Float64Array.from(tables.minorPolicy);
    const major = Float64Array.from(tables.majorPolicy);
    updateRange(problem, tables, t, 0, problem.rows, { kind: 'average', iteration: 3, players: 'minor' });
    expect(Array.from(tables.majorPolicy)).toEqual(Array.from(major));
    expect(Array.from(tables.minorPolicy)).not.toEqual(Array.from(minor));
    const minor2 = Float64Array.from(tables.minorPolicy);
    updateRange(problem, tables, t, 0, problem.rows, { kind: 'average', iteration: 4, players: 'major' });
    expect(Array.from(tables.minorPolicy)).toEqual(Array.from(minor2));
    expect(Array.from(tables.majorPolicy)).not.toEqual(Array.from(major));
  });

  it('schedules the rules as the reference does', () => {
    expect(updateRule({ algorithm: 'fp' }, 3)).toEqual({ kind: 'average', iteration: 3, response: { kind: 'greedy' } });
    expect(updateRule({ algorithm: 'fpi', softmax: true, temperature: 0.2 }, 3)).toEqual({ kind: 'replace', response: { kind: 'softmax', temperature: 0.2 } });
    expect(updateRule({ algorithm: 'omd' }, 3)).toEqual({ kind: 'omd', temperature: 0.1 });
    const players = [0, 1, 2, 3, 4, 5].map((n) => (updateRule({ algorithm: 'alternating', inner: 2 }, n) as { players: string }).players);
    expect(players).toEqual(['major', 'minor', 'minor', 'major', 'minor', 'minor']);
  });
});
