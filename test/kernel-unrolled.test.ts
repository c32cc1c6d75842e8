// The generated (unrolled) backward step performs the generic loop's operations in the same order: bitwise
// equal values and greedy actions on every built-in game, random policies and random next values.
import { describe, expect, it } from 'vitest';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { SeededRandom } from '../shared/random.ts';
import { allocateTables, type SolverTables } from '../shared/tables.ts';
import { buildGame } from '../shared/validate.ts';
import { backwardRangeGeneric } from '../shared/kernels/backward.ts';
import { unrolledBackward } from '../shared/kernels/backward-unrolled.ts';
import { flowRange, flowRangeGeneric } from '../shared/kernels/flow.ts';
import { unrolledFlow } from '../shared/kernels/flow-unrolled.ts';
import { sameBits } from './helpers/same-bits.ts';

const cases: Array<[string, Record<string, number>, number]> = [
  ['sis', { T: 6 }, 12],
  ['advertisement', { T: 6 }, 12],
  ['buffet', { T: 5 }, 8],
  ['buffet', { T: 4, L: 3, F: 3 }, 6],
  ['cyber', { T: 5 }, 6],
];

function randomPolicy(policy: Float64Array, n: number, rng: SeededRandom) {
  for (let i = 0; i < policy.length; i += n) {
    const oneHot = rng.next() < 0.3;
    const a = rng.int(n);
    for (let k = 0; k < n; k++) policy[i + k] = oneHot ? (k === a ? 1 : 0) : 0;
    if (!oneHot) rng.simplex(n, policy.subarray(i, i + n));
  }
}

describe('unrolled flow', () => {
  for (const [name, params, bins] of cases) {
    it(`gives the same next cells as the generic loop (${name} ${JSON.stringify(params)}, M = ${bins})`, () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins);
      const unrolled = unrolledFlow(game.nX, game.nU, game.nU0);
      expect(unrolled).toBeDefined();
      const rng = new SeededRandom(7);
      const a = allocateTables(problem);
      randomPolicy(a.minorPolicy, game.nU, rng);
      const b = new Int32Array(a.nextCell.length);
      flowRangeGeneric(problem, a.minorPolicy, a.nextCell, 0, game.T * problem.rows);
      // in two pieces, to exercise a range that starts mid-table
      const mid = Math.floor((game.T * problem.rows) / 3);
      unrolled!(problem, a.minorPolicy, b, 0, mid);
      unrolled!(problem, a.minorPolicy, b, mid, game.T * problem.rows);
      expect(Array.from(b)).toEqual(Array.from(a.nextCell));
    });
  }
});

describe('unrolled backward step', () => {
  for (const [[name, params, bins], discount, storeQ] of cases.flatMap((c) => [[c, 1, false], [c, 0.9, true]] as const)) {
    it(`is bitwise equal to the generic loop (${name} ${JSON.stringify(params)}, M = ${bins}, discount ${discount}, storeQ ${storeQ})`, () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins);
      const { nU, nU0, nX, T } = game;
      const unrolled = unrolledBackward(nX, nU, nU0);
      expect(unrolled).toBeDefined();
      const rng = new SeededRandom(42);
      const a = allocateTables(problem);
      randomPolicy(a.minorPolicy, nU, rng);
      randomPolicy(a.majorPolicy, nU0, rng);
      flowRange(problem, a.minorPolicy, a.nextCell, 0, T * problem.rows);
      for (const v of [a.minorBR, a.minorEval, a.majorBR, a.majorEval]) for (let i = 0; i < v.length; i++) v[i] = rng.next() * 10 - 5;
      const b = allocateTables(problem);
      for (const k of Object.keys(a) as Array<keyof SolverTables>) (b[k] as Float64Array).set(a[k] as Float64Array);
      for (let t = T - 1; t >= 0; t--) {
        backwardRangeGeneric(problem, a, t, 0, problem.rows, undefined, { discount, storeQ });
        unrolled!(problem, b, t, 0, problem.rows, discount, t & 1, storeQ);
        const names = ['minorBR', 'minorEval', 'majorBR', 'majorEval', 'minorGreedy', 'majorGreedy', 'minorQbr', 'minorQev', 'majorQbr', 'majorQev'] as const;
        for (const k of names) {
          expect(sameBits(a[k], b[k]), `${k} at t = ${t}`).toBe(true);
        }
      }
    });
  }
});
