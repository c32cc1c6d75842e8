// Solve options: parsing and validation of user input, before anything runs or is written.
// Every rejection is one line that names the flag or parameter.

import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OptionError } from '../shared/errors.ts';
import { builtinGames } from '../shared/games/index.ts';
import { isGamePath, resolveGameFamily } from '../shared/game-source.ts';
import type { GridKind } from '../shared/grid.ts';
import type { Projection } from '../shared/policy-cell.ts';
import type { GameFamily } from '../shared/model.ts';
import type { InitialPolicy } from '../shared/tables.ts';
import type { Algorithm, Schedule } from './solver.ts';
import { parseBytes } from './memory.ts';
import { AUTO_FIXED_FLAGS, autoMethod, describeMethod } from './auto.ts';
import { loadGameModuleInThread } from './game-check.ts';
import { DEFAULT_TASK_DEADLINE } from './task-deadline.ts';

/** Everything that decides a run's numbers (saved in checkpoints; a resumed run must match it). */
export interface RunIdentity {
  /** Built-in game name, or the absolute path of a user module. */
  game: string;
  algorithm: Algorithm;
  bins: number;
  params: Record<string, number>;
  grid: GridKind;
  /** How the next mean field meets the grid (absent in checkpoints written before it existed: nearest). */
  projection?: Projection;
  horizon: 'finite' | 'infinite';
  discount: number;
  tolerance: number;
  softmax: boolean;
  temperature: number;
  inner: number;
  init?: InitialPolicy;
  /** Damped fixed-point iteration's step (absent in checkpoints written before it existed). */
  step?: number;
  /** OMD's learning-rate / temperature schedule or damped's step schedule (absent: constant). */
  schedule?: Schedule;
}

export interface SolveSettings extends RunIdentity {
  family: GameFamily;
  iterations: number;
  out: string;
  /** Worker threads: 1 runs inline on the calling thread, more use the local executor (Piscina). */
  threads: number;
  /** Write a checkpoint every K iterations (0 = never). */
  checkpointEvery: number;
  /** Bytes the run may use (--max-memory); default: the machine's memory. */
  maxMemory?: number;
  /** Replace a run of another configuration in `out` (--force). */
  force: boolean;
  step: number;
  schedule: Schedule;
  projection: Projection;
  /** Set when the run was asked for with --algorithm auto (algorithm etc. hold what auto chose). */
  auto?: boolean;
  /** Stop at the first iteration with total exploitability <= target. */
  target?: number;
  /** Stop after this many seconds (checked after each iteration). */
  timeLimit?: number;
  /** Seconds: the least deadline of the game check and of each thread task (coordinator/task-deadline.ts). */
  taskTimeout: number;
  /** The run's result: the best iterate (lowest total exploitability seen; the last iterate goes to last/) or the last. */
  keep: 'best' | 'last';
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
  projection?: string;
  horizon?: string;
  discount?: string;
  tolerance?: string;
  softmax?: boolean;
  temperature?: string;
  inner?: string;
  init?: string;
  checkpointEvery?: string;
  maxMemory?: string;
  force?: boolean;
  target?: string;
  timeLimit?: string;
  step?: string;
  schedule?: string;
  taskTimeout?: string;
  keep?: string;
}

export const ALGORITHMS: readonly Algorithm[] = ['fp', 'fpi', 'omd', 'alternating', 'damped'];
const SCHEDULES: readonly Schedule[] = ['constant', 'sqrt', 'anneal', 'adaptive'];
const GRIDS: readonly GridKind[] = ['midpoint', 'lattice'];
export const PROJECTIONS: readonly Projection[] = ['nearest', 'interpolate'];
const INITS: readonly InitialPolicy[] = ['first', 'last', 'uniform'];

/** Resolves the game (a built-in name or a module path) and parses every flag. */
export async function loadSolveSettings(flags: RawSolveFlags): Promise<SolveSettings> {
  const name = flags.game ?? 'sis';
  const isModule = isGamePath(name) && !Object.hasOwn(builtinGames, name);
  const game = isModule ? resolve(name) : name;
  if (isModule) {
    // its top-level code runs on the check thread first, under the deadline: importing it here could hang
    await loadGameModuleInThread(game, { ...DEFAULT_TASK_DEADLINE, floorMs: taskTimeoutOf(flags) * 1000 });
  }
  const family = await resolveGameFamily(game, importGameModule);
  return parseSolveFlags({ ...flags, game }, family);
}

/** Parses the flags for a built-in game (or a family already loaded). */
export function parseSolveFlags(given: RawSolveFlags, loaded?: GameFamily): SolveSettings {
  const auto = given.algorithm === 'auto';
  const flags = auto ? autoFlags(given, loaded) : given;
  const game = flags.game ?? 'sis';
  const family = loaded ?? (Object.hasOwn(builtinGames, game) ? builtinGames[game] : undefined);
  if (!family) throw new OptionError(`--game: unknown game '${game}' (built-in: ${Object.keys(builtinGames).join(', ')}; or a path like ./my-game.ts)`);
  const algorithm = oneOf('--algorithm', flags.algorithm ?? 'fp', [...ALGORITHMS, 'auto']) as Algorithm; // auto is resolved above
  const bins = positiveInt('--bins', flags.bins ?? '20');
  const iterations = positiveInt('--iterations', flags.iterations ?? '100');
  const threads = positiveInt('--threads', flags.threads ?? String(availableParallelism()));
  const grid = oneOf('--grid', flags.grid ?? 'midpoint', GRIDS);
  const projection = oneOf('--projection', flags.projection ?? 'nearest', PROJECTIONS);
  if (projection === 'interpolate' && grid !== 'lattice') throw new OptionError('--projection interpolate: needs --grid lattice (it interpolates between lattice points)');
  const horizon = oneOf('--horizon', flags.horizon ?? 'finite', ['finite', 'infinite'] as const);
  const discount = numberIn('--discount', flags.discount ?? '0.99', 0, 1, false);
  const tolerance = numberIn('--tolerance', flags.tolerance ?? '1e-5', 0, Infinity, false);
  const temperature = numberIn('--temperature', flags.temperature ?? '0.1', 0, Infinity, false);
  const inner = positiveInt('--inner', flags.inner ?? '1');
  const init = flags.init === undefined ? undefined : oneOf('--init', flags.init, INITS);
  const step = numberIn('--step', flags.step ?? '0.1', 0, 1, false, true);
  const schedule = oneOf('--schedule', flags.schedule ?? 'constant', SCHEDULES);
  if (flags.step !== undefined && algorithm !== 'damped') throw new OptionError('--step: only with --algorithm damped');
  if (schedule === 'adaptive' && algorithm !== 'damped') throw new OptionError('--schedule adaptive: only with --algorithm damped');
  if (flags.schedule !== undefined && algorithm !== 'omd' && algorithm !== 'damped') throw new OptionError('--schedule: only with --algorithm omd or damped');
  if (algorithm === 'damped' && (schedule === 'sqrt' || schedule === 'anneal')) throw new OptionError(`--schedule ${schedule}: only with --algorithm omd (damped: constant | adaptive)`);
  const target = flags.target === undefined ? undefined : numberIn('--target', flags.target, 0, Infinity, false);
  const timeLimit = flags.timeLimit === undefined ? undefined : numberIn('--time-limit', flags.timeLimit, 0, Infinity, false);
  const checkpointEvery = flags.checkpointEvery === undefined ? 0 : positiveInt('--checkpoint-every', flags.checkpointEvery);
  const keep = oneOf('--keep', flags.keep ?? 'best', ['best', 'last'] as const);
  const taskTimeout = taskTimeoutOf(flags);
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
  const maxMemory = flags.maxMemory === undefined ? undefined : parseBytes('--max-memory', flags.maxMemory);
  const label = isGamePath(game) ? family.name : game;
  const softmax = Boolean(flags.softmax);
  const out = flags.out ?? defaultOut({ label, algorithm, auto: Boolean(auto), bins, grid, projection, horizon, discount, softmax, temperature, inner, init, step, schedule });
  return {
    ...(auto ? { auto } : {}),
    game, family, algorithm, bins, iterations, params, out, threads, grid, projection, horizon, discount, tolerance,
    softmax, temperature, inner, init, checkpointEvery, maxMemory, force: Boolean(flags.force), target, timeLimit, step, schedule, taskTimeout, keep,
  };
}

/**
 * results/<game>-<algorithm>-m<M>, plus every variant setting that is not the default, so that runs of
 * different variants never share a directory: -softmax, -t<temperature> (when a temperature is used),
 * -infinite[-g<discount>], -init-<policy>, -lattice, -interpolate, -inner<k>, -step<α> (damped), -sqrt / -anneal (OMD schedules), -adaptive (damped);
 * auto runs are results/<game>-auto-m<M>.
 */
export function defaultOut(s: { label: string; algorithm: Algorithm; auto?: boolean; bins: number; grid: GridKind; projection?: Projection; horizon: 'finite' | 'infinite'; discount: number; softmax: boolean; temperature: number; inner: number; init?: InitialPolicy; step?: number; schedule?: Schedule }): string {
  const parts = [`${s.label}-${s.auto ? 'auto' : s.algorithm}-m${s.bins}`];
  if (!s.auto) {
    // auto fixes its own method settings: only the settings the user chose name the directory
    if (s.softmax) parts.push('softmax');
    if ((s.softmax || s.algorithm === 'omd') && s.temperature !== 0.1) parts.push(`t${s.temperature}`);
    if (s.algorithm === 'damped' && s.step !== undefined && s.step !== 0.1) parts.push(`step${s.step}`);
    if ((s.algorithm === 'omd' || s.algorithm === 'damped') && s.schedule !== undefined && s.schedule !== 'constant') parts.push(s.schedule);
  }
  if (s.horizon === 'infinite') parts.push(s.discount === 0.99 ? 'infinite' : `infinite-g${s.discount}`);
  if (s.init !== undefined) parts.push(`init-${s.init}`);
  if (s.grid !== 'midpoint') parts.push(s.grid);
  if (s.projection !== undefined && s.projection !== 'nearest') parts.push(s.projection);
  if (s.algorithm === 'alternating' && s.inner !== 1) parts.push(`inner${s.inner}`);
  return `results/${parts.join('-')}`;
}

/** --algorithm auto: the study's recommended method for this problem (./auto.ts) in place of the flags it fixes. */
function autoFlags(flags: RawSolveFlags, loaded: GameFamily | undefined): RawSolveFlags {
  const game = flags.game ?? 'sis';
  const builtin = Object.hasOwn(builtinGames, game) && (loaded === undefined || loaded === builtinGames[game]);
  const m = autoMethod({ game, builtin, params: (flags.param ?? []).length > 0, horizon: flags.horizon === 'infinite' ? 'infinite' : 'finite' });
  for (const key of AUTO_FIXED_FLAGS) {
    if (flags[key] !== undefined) throw new OptionError(`--${key}: --algorithm auto sets it itself (here: ${describeMethod(m)})`);
  }
  const text = (v: number | undefined) => (v === undefined ? undefined : String(v));
  return { ...flags, algorithm: m.algorithm, temperature: text(m.temperature), schedule: m.schedule, step: text(m.step), softmax: m.softmax };
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

/** --task-timeout in seconds (default 60). */
function taskTimeoutOf(flags: RawSolveFlags): number {
  return flags.taskTimeout === undefined ? 60 : numberIn('--task-timeout', flags.taskTimeout, 0, Infinity, false);
}

/** A number in (lo, hi) (or [lo, hi] when inclusive; (lo, hi] with hiIncluded). */
function numberIn(flag: string, text: string, lo: number, hi: number, inclusive: boolean, hiIncluded = inclusive): number {
  const v = Number(text);
  const ok = text.trim() !== '' && Number.isFinite(v) && (inclusive ? v >= lo : v > lo) && (hiIncluded ? v <= hi : v < hi);
  if (!ok) throw new OptionError(`${flag}: expected a number in ${inclusive ? '[' : '('}${lo}, ${hi}${hiIncluded ? ']' : ')'}, got '${text}'`);
  return v;
}

/** import() a user's game module; .ts modules load through the tsx loader the launcher registered. */
async function importGameModule(path: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}
