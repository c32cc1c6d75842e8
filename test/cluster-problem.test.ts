// A Problem that keeps only some rows (a cluster node's shard; none on the coordinator): its kept rows are
// the full Problem's bits, the rest is never written, and the fingerprint is the full one's.
import { describe, expect, it } from 'vitest';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { SeededRandom } from '../shared/random.ts';

const TABLES = ['minorP', 'minorR', 'majorR', 'majorCount', 'majorTo', 'majorP'] as const;

/** Entries per row of a table. */
function perRow(p: Problem, name: (typeof TABLES)[number]): number {
  return p[name].length / p.rows;
}

describe('Problem with kept cells', () => {
  const cases = [
    { game: 'sis', bins: 20, params: {} },
    { game: 'buffet', bins: 6, params: { L: 3 } },
    { game: 'cyber', bins: 8, params: { T: 4 } },
    { game: 'advertisement', bins: 10, params: {} },
  ] as const;
  for (const c of cases) {
    it(`${c.game}: kept rows equal the full Problem's, other rows zero, same fingerprint`, () => {
      const game = buildGame(builtinGames[c.game], c.params);
      const full = new Problem(game, c.bins);
      const rng = new SeededRandom(c.bins);
      const C = full.cells;
      const cuts: Array<[number, number]> = [[0, 0], [0, C], [C, C]];
      for (let i = 0; i < 3; i++) {
        const a = Math.floor(rng.next() * C);
        cuts.push([a, a + Math.floor(rng.next() * (C - a + 1))]);
      }
      for (const [a, b] of cuts) {
        const part = new Problem(game, c.bins, 'midpoint', 'nearest', { cells: [a, b] });
        expect(part.fingerprint).toBe(full.fingerprint);
        expect([part.majorWidth, part.rows, part.initialCell]).toEqual([full.majorWidth, full.rows, full.initialCell]);
        for (const name of TABLES) {
          const w = perRow(full, name);
          expect(part[name].length).toBe(full[name].length);
          const want = full[name].slice();
          for (let r = 0; r < full.rows; r++) if (r % C < a || r % C >= b) want.fill(0, r * w, (r + 1) * w);
          // compare as 32-bit words: bitwise, NaN-safe
          const x = new Int32Array(part[name].buffer);
          const y = new Int32Array(want.buffer);
          let bad = -1;
          for (let i = 0; i < x.length && bad < 0; i++) if (x[i] !== y[i]) bad = i;
          expect(bad, `${name}, cells [${a}, ${b})`).toBe(-1);
        }
      }
    });
  }

  it('different problems have different fingerprints', () => {
    const a = new Problem(buildGame(builtinGames.sis, {}), 20, 'midpoint', 'nearest', { cells: [0, 0] });
    const b = new Problem(buildGame(builtinGames.sis, { beta: 0.5 }), 20, 'midpoint', 'nearest', { cells: [0, 0] });
    const c = new Problem(buildGame(builtinGames.sis, {}), 21, 'midpoint', 'nearest', { cells: [0, 0] });
    expect(new Set([a, b, c].map((p) => p.fingerprint)).size).toBe(3);
  });
});
