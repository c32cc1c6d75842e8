// The library entry point: `import { solve } from 'm3fg'` (tests resolve the package's own name to index.ts, vitest.config.ts).
import { describe, expect, it } from 'vitest';
import { solve, builtinGames, OptionError, type GameFamily, type SolveRequest } from 'm3fg';
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

  it('refuses bad options with one OptionError naming the option, as the CLI does', async () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ game: 'sis', bins: 0 }, /^solve: bins: expected a positive integer, got '0'$/],
      [{ game: 'sis', bins: 2.5 }, /^solve: bins: expected a positive integer/],
      [{ game: 'sis', iterations: -3 }, /^solve: iterations: expected a positive integer/],
      [{ game: 'sis', algorithm: 'sgd' }, /^solve: algorithm: unknown value 'sgd' \(one of: fp, fpi, omd, alternating, damped, auto\)$/],
      [{ game: 'sis', temperature: Number.NaN }, /^solve: temperature: expected a number in \(0, Infinity\)/],
      [{ game: 'sis', discount: 0.9 }, /^solve: discount: only with horizon infinite$/],
      [{ game: 'sis', horizon: 'infinite', discount: 1 }, /^solve: discount: expected a number in \(0, 1\)/],
      [{ game: 'sis', grid: 'hex' }, /^solve: grid: unknown value 'hex'/],
      [{ game: 'sis', threads: 0 }, /^solve: threads: expected a positive integer/],
      [{ game: 'sis', softmax: 'yes' }, /^solve: softmax: expected true or false/],
      [{ game: 'sis', params: { beta: 'high' } }, /^solve: params.beta: 'high' is not a finite number$/],
      [{ game: 'sis', iteration: 5 }, /^solve: unknown option 'iteration'/],
      [{ game: 'chess' }, /^solve: unknown game 'chess'/],
    ];
    for (const [request, message] of bad) {
      const err = await solve(request as unknown as SolveRequest).then(() => undefined, (e: unknown) => e);
      expect(err, JSON.stringify(request)).toBeInstanceOf(OptionError);
      expect((err as Error).message, JSON.stringify(request)).toMatch(message);
    }
  });
});
