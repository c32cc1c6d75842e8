// The library entry point: `import { solve } from 'm3fg'` (the package's own name resolves to index.ts).
import { describe, expect, it } from 'vitest';
import { solve, builtinGames, type GameFamily } from 'm3fg';
import vaccination from '../examples/vaccination.ts';

describe('library API', () => {
  it('solves a built-in game and returns the curve and the policies', async () => {
    const seen: number[] = [];
    const { curve, minorPolicy, majorPolicy, problem } = await solve({ game: 'sis', bins: 20, iterations: 5, onIteration: (p) => seen.push(p.iteration) });
    expect(curve).toHaveLength(5);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    // the first point is the reference's iteration 0 (crosscheck.md)
    expect(curve[0].exploitability.major).toBeCloseTo(78.27404152007739, 9);
    expect(minorPolicy.length).toBe(problem.game.T * problem.rows * problem.game.nX * problem.game.nU);
    expect(majorPolicy.length).toBe(problem.game.T * problem.rows * problem.game.nU0);
  });

  it('solves a game family object and refuses unknown names', async () => {
    const family: GameFamily = vaccination;
    const { curve } = await solve({ game: family, params: { T: 5 }, bins: 6, iterations: 2 });
    expect(curve).toHaveLength(2);
    await expect(solve({ game: 'chess' })).rejects.toThrow(/unknown game 'chess'/);
    expect(Object.keys(builtinGames)).toEqual(['sis', 'buffet', 'advertisement', 'cyber']);
  });
});
