// Solve options: parsing and validation of user input, before anything runs or is written.
// Every rejection is one line that names the flag or parameter.

import { availableParallelism } from 'node:os';
import { OptionError } from '../shared/errors.ts';
import { builtinGames } from '../shared/games/index.ts';
import type { GameFamily } from '../shared/model.ts';
import type { Algorithm } from './solver.ts';

export interface SolveSettings {
  game: string;
  family: GameFamily;
  algorithm: Algorithm;
  bins: number;
  iterations: number;
  params: Record<string, number>;
  out: string;
  /** Worker threads: 1 runs inline on the calling thread, more use the local executor (Piscina). */
  threads: number;
}

export interface RawSolveFlags {
  game?: string;
  algorithm?: string;
  bins?: string;
  iterations?: string;
  param?: string[];
  out?: string;
  threads?: string;
}

export const ALGORITHMS: readonly Algorithm[] = ['fp', 'fpi'];

export function parseSolveFlags(flags: RawSolveFlags): SolveSettings {
  const game = flags.game ?? 'sis';
  const family = builtinGames[game];
  if (!family) throw new OptionError(`--game: unknown game '${game}' (built-in: ${Object.keys(builtinGames).join(', ')})`);
  const algorithm = (flags.algorithm ?? 'fp') as Algorithm;
  if (!ALGORITHMS.includes(algorithm)) {
    throw new OptionError(`--algorithm: unknown algorithm '${flags.algorithm}' (one of: ${ALGORITHMS.join(', ')})`);
  }
  const bins = positiveInt('--bins', flags.bins ?? '20');
  const iterations = positiveInt('--iterations', flags.iterations ?? '100');
  const threads = positiveInt('--threads', flags.threads ?? String(availableParallelism()));
  const params: Record<string, number> = {};
  for (const item of flags.param ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new OptionError(`--param: expected name=value, got '${item}'`);
    const name = item.slice(0, eq).trim();
    const text = item.slice(eq + 1).trim();
    const value = Number(text);
    if (text === '' || !Number.isFinite(value)) throw new OptionError(`--param ${name}: '${text}' is not a finite number`);
    params[name] = value;
  }
  const out = flags.out ?? `results/${game}-${algorithm}-m${bins}`;
  return { game, family, algorithm, bins, iterations, params, out, threads };
}

export function positiveInt(flag: string, text: string): number {
  const v = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < 1) {
    throw new OptionError(`${flag}: expected a positive integer, got '${text}'`);
  }
  return v;
}
