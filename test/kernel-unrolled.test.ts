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
import { fixedMinorBlock, fullSupport } from '../shared/kernels/row-structure.ts';
import { flowRange, flowRangeGeneric } from '../shared/kernels/flow.ts';
import { unrolledFlow } from '../shared/kernels/flow-unrolled.ts';
import { sameBits } from './helpers/same-bits.ts';
import { LatticeInterpolator } from '../shared/kernels/interpolate.ts';
import { allocateInterpolatedNext, interpolatedFlowRange } from '../shared/kernels/flow-interpolated.ts';
import { interpolatedBackwardRange, interpolatedBackwardRangeGeneric, interpolatedScratch } from '../shared/kernels/backward-interpolated.ts';

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
  const variants = cases.flatMap((c) => [[c, 1, false], [c, 0.9, true]] as const).flatMap((v) => [[...v, false], [...v, true]] as const);
  for (const [[name, params, bins], discount, storeQ, special] of variants) {
    it(`is bitwise equal to the generic loop (${name} ${JSON.stringify(params)}, M = ${bins}, discount ${discount}, storeQ ${storeQ}${special ? ', specialised to the problem' : ''})`, () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins);
      const { nU, nU0, nX, T } = game;
      const specialisation = { fixed: fixedMinorBlock(problem), support: fullSupport(problem) };
      // Buffet's minor kernel is fixed and its P0 supports vary; the other games the other way round
      expect([specialisation.fixed !== undefined, specialisation.support !== undefined]).toEqual(name === 'buffet' ? [true, false] : [false, true]);
      const unrolled = unrolledBackward(nX, nU, nU0, special ? specialisation : {});
      expect(unrolled).toBeDefined();
      const [a, b] = stepInputs(problem, 42);
      for (let t = T - 1; t >= 0; t--) {
        backwardRangeGeneric(problem, a, t, 0, problem.rows, undefined, { discount, storeQ });
        unrolled!(problem, b, t, 0, problem.rows, discount, t & 1, storeQ, () => {
          throw new Error('no row needs redoing with finite values');
        });
        for (const k of stepOutputs) {
          expect(sameBits(a[k], b[k]), `${k} at t = ${t}`).toBe(true);
        }
      }
    });
  }
});

const stepOutputs = ['minorBR', 'minorEval', 'majorBR', 'majorEval', 'minorGreedy', 'majorGreedy', 'minorQbr', 'minorQev', 'majorQbr', 'majorQev'] as const;

describe('backward step specialised to a fixed minor kernel', () => {
  it("finds the fixed block of Buffet only, on a cluster node's kept rows too, and none where no row is kept", () => {
    const buffet = buildGame(builtinGames.buffet, { T: 3 });
    expect(fixedMinorBlock(new Problem(buffet, 6))).toBeDefined();
    expect(fixedMinorBlock(new Problem(buffet, 6, 'midpoint', 'nearest', { cells: [2, 4] }))).toEqual(fixedMinorBlock(new Problem(buffet, 6)));
    expect(fixedMinorBlock(new Problem(buffet, 6, 'midpoint', 'nearest', { cells: [0, 0] }))).toBeUndefined();
    for (const name of ['sis', 'advertisement', 'cyber']) expect(fixedMinorBlock(new Problem(buildGame(builtinGames[name], { T: 3 }), 6)), name).toBeUndefined();
  });

  const buffets = cases.filter(([name]) => name === 'buffet').concat([['buffet', { T: 4, L: 3, F: 2, change: 5 }, 5]]);
  for (const [[name, params, bins], discount, storeQ, broken] of buffets.flatMap((c) => [[c, 1, false, false], [c, 0.9, true, false], [c, 1, true, true]] as const)) {
    it(`is bitwise equal to the generic loop (${name} ${JSON.stringify(params)}, M = ${bins}, discount ${discount}, storeQ ${storeQ}${broken ? ', some next values infinite or NaN' : ''})`, () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins);
      const { nU, nU0, nX, T } = game;
      const fixed = fixedMinorBlock(problem);
      expect(fixed).toBeDefined();
      // the constants include exact zeros (the terms left out) and, with change = 5, exact ones
      expect(fixed!.some((p) => p === 0)).toBe(true);
      const step = unrolledBackward(nX, nU, nU0, { fixed })!;
      expect(step).not.toBe(unrolledBackward(nX, nU, nU0));
      const [a, b] = stepInputs(problem, 3, (tables) => {
        // non-finite next values in the slot the first step reads
        if (broken) for (const [i, v] of [[1, Infinity], [5, NaN], [2 * nX + 1, -Infinity]]) tables.minorBR[((T & 1) * problem.rows + i) * nX] = v;
      });
      let redone = 0;
      for (let t = T - 1; t >= 0; t--) {
        backwardRangeGeneric(problem, a, t, 0, problem.rows, undefined, { discount, storeQ });
        // in two pieces, to exercise a range that starts mid-table
        const mid = Math.floor(problem.rows / 3);
        for (const [from, to] of [[0, mid], [mid, problem.rows]]) {
          step(problem, b, t, from, to, discount, t & 1, storeQ, (r) => {
            redone++;
            backwardRangeGeneric(problem, b, t, r, r + 1, undefined, { discount, slot: t & 1, storeQ });
          });
        }
        for (const k of stepOutputs) expect(sameBits(a[k], b[k]), `${k} at t = ${t}`).toBe(true);
      }
      expect(redone > 0).toBe(broken);
    });
  }
});

/** A next value: mostly uniform in [-5, 5), one in ten an exact 0 or -0 (the signs of zeros must agree too). */
function someZeros(rng: SeededRandom): number {
  if (rng.next() < 0.1) return rng.next() < 0.5 ? 0 : -0;
  return rng.next() * 10 - 5;
}

describe('interpolated backward step specialised to a fixed minor kernel', () => {
  const buffets: Array<[string, Record<string, number>, number]> = [['buffet', { T: 5 }, 8], ['buffet', { T: 4, L: 3, F: 2, change: 5 }, 5]];
  for (const [[name, params, bins], broken] of buffets.flatMap((c) => [[c, false], [c, true]] as const)) {
    it(`is bitwise equal to the generic loop (${name} ${JSON.stringify(params)}, lattice M = ${bins}${broken ? ', some next values infinite or NaN' : ''})`, () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins, 'lattice', 'interpolate');
      const { nX, T } = game;
      expect(fixedMinorBlock(problem)).toBeDefined();
      const [a] = stepInputs(problem, 5, (tables) => {
        if (broken) for (const [i, v] of [[1, Infinity], [5, NaN], [2 * nX + 1, -Infinity]]) tables.minorBR[((T & 1) * problem.rows + i) * nX] = v;
      });
      const next = allocateInterpolatedNext(problem);
      interpolatedFlowRange(problem, a.minorPolicy, next, new LatticeInterpolator(problem.grid), 0, T * problem.rows);
      for (const [discount, storeQ] of [[1, false], [0.9, true]] as const) {
        const [generic, generated] = [allocateTables(problem), allocateTables(problem)];
        for (const k of Object.keys(a) as Array<keyof SolverTables>) for (const b of [generic, generated]) (b[k] as Float64Array).set(a[k] as Float64Array);
        const scratch = interpolatedScratch(problem);
        for (let t = T - 1; t >= 0; t--) {
          interpolatedBackwardRangeGeneric(problem, generic, next, t, 0, problem.rows, scratch, { discount, storeQ });
          interpolatedBackwardRange(problem, generated, next, t, 0, problem.rows, scratch, { discount, storeQ });
          for (const k of stepOutputs) if (storeQ || !k.endsWith('Qbr')) expect(sameBits(generated[k], generic[k]), `${k} at t = ${t}, discount ${discount}`).toBe(true);
        }
        // the non-finite values reach the values of t = 0 (slot 0)
        expect(generic.minorBR.subarray(0, problem.rows * nX).some((v) => !Number.isFinite(v))).toBe(broken);
      }
    });
  }
});

/** Two equal sets of tables for a step: random policies, the flow's next cells, random next values. */
function stepInputs(problem: Problem, seed: number, edit: (tables: SolverTables) => void = () => {}): [SolverTables, SolverTables] {
  const { nU, nU0, T } = problem.game;
  const rng = new SeededRandom(seed);
  const a = allocateTables(problem);
  randomPolicy(a.minorPolicy, nU, rng);
  randomPolicy(a.majorPolicy, nU0, rng);
  flowRange(problem, a.minorPolicy, a.nextCell, 0, T * problem.rows);
  for (const v of [a.minorBR, a.minorEval, a.majorBR, a.majorEval]) for (let i = 0; i < v.length; i++) v[i] = someZeros(rng);
  edit(a);
  const b = allocateTables(problem);
  for (const k of Object.keys(a) as Array<keyof SolverTables>) (b[k] as Float64Array).set(a[k] as Float64Array);
  return [a, b];
}
