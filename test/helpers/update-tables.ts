// Random tables for the policy-update tests (test/update-variants.test.ts, test/update-schedules.test.ts):
// Advertisement with T = 3 (nU = 2, nU0 = 3) at M = 6, every policy row a random distribution, every Q entry
// (and the OMD accumulators, when allocated) uniform in [-2, 2), random greedy actions; and softmax from its
// definition, the reference the rules are checked against.
import { builtinGames } from '../../shared/games/index.ts';
import { Problem } from '../../shared/problem.ts';
import { SeededRandom } from '../../shared/random.ts';
import { allocateTables } from '../../shared/tables.ts';
import { buildGame } from '../../shared/validate.ts';

export function randomUpdateTables(seed: number, omd = false) {
  const game = buildGame(builtinGames.advertisement, { T: 3 });
  const problem = new Problem(game, 6);
  const tables = allocateTables(problem, undefined, { omd });
  const rng = new SeededRandom(seed);
  for (const [a, n] of [[tables.minorPolicy, game.nU], [tables.majorPolicy, game.nU0]] as const) {
    for (let i = 0; i < a.length; i += n) rng.simplex(n, a.subarray(i, i + n));
  }
  // the accumulators are empty unless omd
  for (const q of [tables.minorQbr, tables.minorQev, tables.majorQbr, tables.majorQev, tables.minorY, tables.majorY]) {
    for (let i = 0; i < q.length; i++) q[i] = rng.next() * 4 - 2;
  }
  for (let i = 0; i < tables.minorGreedy.length; i++) tables.minorGreedy[i] = rng.int(game.nU);
  for (let i = 0; i < tables.majorGreedy.length; i++) tables.majorGreedy[i] = rng.int(game.nU0);
  return { game, problem, tables };
}

/** softmax(q / tau) from its definition. */
export function softmaxRef(q: number[], tau: number): number[] {
  const m = Math.max(...q);
  const e = q.map((v) => Math.exp((v - m) / tau));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
