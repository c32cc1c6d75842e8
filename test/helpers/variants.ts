// The variant solves that every executor must run bitwise like the inline executor
// (test/conformance-variants.test.ts, test/cluster.test.ts).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveGameFamily } from '../../shared/game-source.ts';
import { builtinGames } from '../../shared/games/index.ts';
import type { GridKind } from '../../shared/grid.ts';
import { Problem } from '../../shared/problem.ts';
import { buildGame } from '../../shared/validate.ts';
import type { SolveOptions } from '../../coordinator/solver.ts';

export interface Case {
  label: string;
  game: string;
  params: Record<string, number>;
  bins: number;
  grid?: GridKind;
  options: SolveOptions;
}

const example = resolve('examples/vaccination.ts');
export const VARIANT_CASES: Case[] = [
  { label: 'softmax fp', game: 'sis', params: { T: 12 }, bins: 12, options: { algorithm: 'fp', iterations: 4, softmax: true, temperature: 0.1 } },
  { label: 'softmax fpi', game: 'advertisement', params: { T: 12 }, bins: 12, options: { algorithm: 'fpi', iterations: 3, softmax: true, temperature: 0.3 } },
  { label: 'omd', game: 'sis', params: { T: 12 }, bins: 12, options: { algorithm: 'omd', iterations: 4, temperature: 0.1 } },
  { label: 'alternating', game: 'buffet', params: { T: 10 }, bins: 8, options: { algorithm: 'alternating', iterations: 5, inner: 2 } },
  { label: 'init last', game: 'cyber', params: { T: 8 }, bins: 6, options: { algorithm: 'fp', iterations: 3, init: 'last' } },
  { label: 'infinite fp', game: 'sis', params: {}, bins: 10, options: { algorithm: 'fp', iterations: 3, horizon: 'infinite', discount: 0.95 } },
  { label: 'infinite omd', game: 'advertisement', params: {}, bins: 10, options: { algorithm: 'omd', iterations: 2, horizon: 'infinite', discount: 0.9 } },
  { label: 'lattice fp', game: 'sis', params: { T: 12 }, bins: 12, grid: 'lattice', options: { algorithm: 'fp', iterations: 4 } },
  { label: 'user module', game: example, params: { T: 10 }, bins: 8, options: { algorithm: 'fp', iterations: 3 } },
];


/** The Problem of a case: a built-in game by name, or a game module by path. */
export async function problemOf(c: Pick<Case, 'game' | 'params' | 'bins' | 'grid'>): Promise<Problem> {
  const family = Object.hasOwn(builtinGames, c.game)
    ? builtinGames[c.game]
    : await resolveGameFamily(c.game, async (p) => (await import(pathToFileURL(p).href)) as Record<string, unknown>);
  return new Problem(buildGame(family, c.params), c.bins, c.grid ?? 'midpoint');
}
