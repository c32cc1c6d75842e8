// Solve options: parsing and validation of user input, before anything runs or is written.
// Every rejection is one line that names the flag or parameter.

import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OptionError } from '../shared/errors.ts';
import { builtinGames } from '../shared/games/index.ts';
import { isGamePath, resolveGameFamily } from '../shared/game-source.ts';
import type { GridKind } from '../shared/grid.ts';
import type { GameFamily } from '../shared/model.ts';
import type { InitialPolicy } from '../shared/tables.ts';
import type { Algorithm } from './solver.ts';

/** Everything that decides a run's numbers (saved in checkpoints; a resumed run must match it). */
export interface RunIdentity {
  /** Built-in game name, or the absolute path of a user module. */
  game: string;
  algorithm: Algorithm;
  bins: number;
  params: Record<string, number>;
  grid: GridKind;
  horizon: 'finite' | 'infinite';
  discount: number;
  tolerance: number;
  softmax: boolean;
  temperature: number;
  inner: number;
  init?: InitialPolicy;
}

export interface SolveSettings extends RunIdentity {
  family: GameFamily;
  iterations: number;
  out: string;
  /** Worker threads: 1 runs inline on the calling thread, more use the local executor (Piscina). */
  threads: number;
  /** Write a checkpoint every K iterations (0 = never). */
  checkpointEvery: number;
  /** Seconds: the least deadline of the game check and of each thread task (coordinator/task-deadline.ts). */
  taskTimeout: number;
}

export interface RawSolveFlags {
  game?: string;
  algorithm?: string;
  bins?: string;
  iterations?: string;
  param?: string[];
  out?: string;
  threads?: string;
  grid?: string;
  horizon?: string;
  discount?: string;
  tolerance?: string;
  softmax?: boolean;
  temperature?: string;
  inner?: string;
  init?: string;
  checkpointEvery?: string;
  taskTimeout?: string;
}

export const ALGORITHMS: readonly Algorithm[] = ['fp', 'fpi', 'omd', 'alternating'];
const GRIDS: readonly GridKind[] = ['midpoint', 'lattice'];
const INITS: readonly InitialPolicy[] = ['first', 'last', 'uniform'];

/** Resolves the game (a built-in name or a module path) and parses every flag. */
export async function loadSolveSettings(flags: RawSolveFlags): Promise<SolveSettings> {
  const name = flags.game ?? 'sis';
  const game = isGamePath(name) && !Object.hasOwn(builtinGames, name) ? resolve(name) : name;
  const family = await resolveGameFamily(game, importGameModule);
  return parseSolveFlags({ ...flags, game }, family);
}

/** Parses the flags for a built-in game (or a family already loaded). */
export function parseSolveFlags(flags: RawSolveFlags, loaded?: GameFamily): SolveSettings {
  const game = flags.game ?? 'sis';
  const family = loaded ?? (Object.hasOwn(builtinGames, game) ? builtinGames[game] : undefined);
  if (!family) throw new OptionError(`--game: unknown game '${game}' (built-in: ${Object.keys(builtinGames).join(', ')}; or a path like ./my-game.ts)`);
  const algorithm = oneOf('--algorithm', flags.algorithm ?? 'fp', ALGORITHMS);
  const bins = positiveInt('--bins', flags.bins ?? '20');
  const iterations = positiveInt('--iterations', flags.iterations ?? '100');
  const threads = positiveInt('--threads', flags.threads ?? String(availableParallelism()));
  const grid = oneOf('--grid', flags.grid ?? 'midpoint', GRIDS);
  const horizon = oneOf('--horizon', flags.horizon ?? 'finite', ['finite', 'infinite'] as const);
  const discount = numberIn('--discount', flags.discount ?? '0.99', 0, 1, false);
  const tolerance = numberIn('--tolerance', flags.tolerance ?? '1e-5', 0, Infinity, false);
  const temperature = numberIn('--temperature', flags.temperature ?? '0.1', 0, Infinity, false);
  const inner = positiveInt('--inner', flags.inner ?? '1');
  const init = flags.init === undefined ? undefined : oneOf('--init', flags.init, INITS);
  const checkpointEvery = flags.checkpointEvery === undefined ? 0 : positiveInt('--checkpoint-every', flags.checkpointEvery);
  const taskTimeout = flags.taskTimeout === undefined ? 60 : numberIn('--task-timeout', flags.taskTimeout, 0, Infinity, false);
  if (flags.discount !== undefined && horizon !== 'infinite') throw new OptionError('--discount: only with --horizon infinite');
  if (flags.inner !== undefined && algorithm !== 'alternating') throw new OptionError('--inner: only with --algorithm alternating');
  if (flags.softmax && algorithm === 'omd') throw new OptionError('--softmax: OMD always uses softmax; set --temperature');
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
  const label = isGamePath(game) ? family.name : game;
  const out = flags.out ?? `results/${label}-${algorithm}-m${bins}`;
  return {
    game, family, algorithm, bins, iterations, params, out, threads, grid, horizon, discount, tolerance,
    softmax: Boolean(flags.softmax), temperature, inner, init, checkpointEvery, taskTimeout,
  };
}

export function positiveInt(flag: string, text: string): number {
  const v = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(v) || v < 1) {
    throw new OptionError(`${flag}: expected a positive integer, got '${text}'`);
  }
  return v;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new OptionError(`${flag}: unknown value '${value}' (one of: ${allowed.join(', ')})`);
  }
  return value as T;
}

/** A number in (lo, hi) (or [lo, hi] when inclusive). */
function numberIn(flag: string, text: string, lo: number, hi: number, inclusive: boolean): number {
  const v = Number(text);
  const ok = text.trim() !== '' && Number.isFinite(v) && (inclusive ? v >= lo && v <= hi : v > lo && v < hi);
  if (!ok) throw new OptionError(`${flag}: expected a number in ${inclusive ? '[' : '('}${lo}, ${hi}${inclusive ? ']' : ')'}, got '${text}'`);
  return v;
}

/** import() a user's game module; .ts modules load through the tsx loader the launcher registered. */
async function importGameModule(path: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}
