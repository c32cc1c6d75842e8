// The m3fg library API. `solve` runs a game end to end in this process (inline, or on worker threads) and
// returns the exploitability curve and the final policy tables; the lower layers are exported for callers
// that want their own loop or executor.
//
//   import { solve } from 'm3fg';
//   const { curve, minorPolicy } = await solve({ game: 'sis', bins: 20, iterations: 100 });

import { buildGame } from './shared/validate.ts';
import { builtinGames } from './shared/games/index.ts';
import { Problem } from './shared/problem.ts';
import type { GameFamily } from './shared/model.ts';
import type { GridKind } from './shared/grid.ts';
import type { Projection } from './shared/policy-cell.ts';
import type { InitialPolicy } from './shared/tables.ts';
import { OptionError } from './shared/errors.ts';
import { InlineExecutor } from './coordinator/inline-executor.ts';
import { collectSource } from './shared/table-source.ts';
import { LocalExecutor } from './coordinator/local-executor.ts';
import { solve as runSolver, type Algorithm, type CurvePoint, type OmdSchedule, type Schedule, type SolveResult, type StopReason } from './coordinator/solver.ts';
import { parseSolveFlags, type SolveSettings } from './coordinator/options.ts';

export interface SolveRequest {
  /** A built-in game name ('sis', 'buffet', 'advertisement', 'cyber') or a game family object. */
  game: string | GameFamily;
  params?: Record<string, number>;
  bins?: number;
  /** 'auto': the recommended method of the algorithm study for this problem (README, "Which algorithm?"). */
  algorithm?: Algorithm | 'auto';
  iterations?: number;
  grid?: GridKind;
  /** 'interpolate': barycentric interpolation between lattice points (needs grid 'lattice'); default 'nearest'. */
  projection?: Projection;
  horizon?: 'finite' | 'infinite';
  discount?: number;
  tolerance?: number;
  softmax?: boolean;
  temperature?: number;
  inner?: number;
  /** 'damped': the step alpha of pi <- (1 - alpha) pi + alpha BR (default 0.1). */
  step?: number;
  /** 'omd': constant | sqrt (learning rate 1/sqrt(n+1)) | anneal (temperature tau/sqrt(n+1)). */
  schedule?: Schedule;
  init?: InitialPolicy;
  /** Stop at the first iteration with total exploitability <= target (`iterations` stays the cap). */
  target?: number;
  /** Stop after the iteration that passes this many seconds. */
  timeLimit?: number;
  /** One more sweep after the last update: `result`, the exploitability of exactly the returned policies. */
  evaluateResult?: boolean;
  /** Worker threads (default 1: inline). Threads need the game to be a built-in name or a module path. */
  threads?: number;
  onIteration?: (point: CurvePoint) => void;
}

export interface SolveResponse {
  curve: CurvePoint[];
  /** Why the run ended: 'target', 'time-limit' or 'iterations'. */
  stopReason: StopReason;
  /** With evaluateResult: the exploitability and start values of the returned policies. */
  result?: SolveResult['result'];
  /** Final policies; layouts in shared/tables.ts (minorPolicy[((t * rows + x0 * cells + c) * nX + x) * nU + u]). */
  minorPolicy: Float64Array;
  majorPolicy: Float64Array;
  problem: Problem;
}

const REQUEST_KEYS = new Set([
  'game', 'params', 'bins', 'algorithm', 'iterations', 'grid', 'projection', 'horizon', 'discount', 'tolerance', 'softmax',
  'temperature', 'inner', 'init', 'threads', 'onIteration', 'step', 'schedule', 'target', 'timeLimit', 'evaluateResult',
]);

/**
 * Checks a request as the CLI checks its flags (the same rules, coordinator/options.ts); a bad option is one
 * OptionError naming it, e.g. "solve: bins: expected a positive integer, got '0'".
 */
function validate(request: SolveRequest): { family: GameFamily; settings: SolveSettings } {
  if (typeof request !== 'object' || request === null) throw new OptionError('solve: expected a request object { game, bins, ... }');
  for (const key of Object.keys(request)) {
    if (!REQUEST_KEYS.has(key)) throw new OptionError(`solve: unknown option '${key}' (options: ${[...REQUEST_KEYS].join(', ')})`);
  }
  const { game } = request;
  const family = typeof game === 'string' ? (Object.hasOwn(builtinGames, game) ? builtinGames[game] : undefined) : game;
  if (!family || typeof family !== 'object' || typeof family.create !== 'function') {
    throw new OptionError(`solve: unknown game '${String(typeof game === 'string' ? game : (game as { name?: string })?.name ?? game)}' (built-in: ${Object.keys(builtinGames).join(', ')}; or a GameFamily object)`);
  }
  const params = request.params ?? {};
  if (typeof params !== 'object' || params === null) throw new OptionError('solve: params: expected an object of name: number');
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new OptionError(`solve: params.${name}: '${String(value)}' is not a finite number`);
  }
  for (const key of ['softmax', 'evaluateResult'] as const) {
    if (request[key] !== undefined && typeof request[key] !== 'boolean') throw new OptionError(`solve: ${key}: expected true or false, got '${String(request[key])}'`);
  }
  if (request.onIteration !== undefined && typeof request.onIteration !== 'function') throw new OptionError('solve: onIteration: expected a function');
  const text = (v: unknown) => (v === undefined ? undefined : String(v));
  try {
    const settings = parseSolveFlags(
      {
        game: typeof game === 'string' ? game : family.name,
        algorithm: text(request.algorithm),
        // parsed again only so that 'auto' knows the game's parameters were changed (request.params is what runs)
        param: Object.entries(params).map(([k, v]) => `${k}=${v}`),
        bins: text(request.bins),
        iterations: text(request.iterations),
        threads: text(request.threads ?? 1),
        grid: text(request.grid),
        projection: text(request.projection),
        horizon: text(request.horizon),
        discount: text(request.discount),
        tolerance: text(request.tolerance),
        softmax: request.softmax,
        temperature: text(request.temperature),
        inner: text(request.inner),
        init: text(request.init),
        step: text(request.step),
        schedule: text(request.schedule),
        target: text(request.target),
        timeLimit: text(request.timeLimit),
      },
      family,
    );
    return { family, settings };
  } catch (err) {
    // the CLI's messages name flags (--bins); the library's name options (bins)
    if (err instanceof OptionError) throw new OptionError(`solve: ${err.message.replace(/--([a-z][a-z-]*)/g, (_, f: string) => f.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()))}`);
    throw err;
  }
}

export async function solve(request: SolveRequest): Promise<SolveResponse> {
  const { family, settings } = validate(request);
  const params = request.params ?? {};
  const { bins, threads } = settings;
  if (threads > 1 && typeof request.game !== 'string') {
    throw new OptionError('solve: threads > 1 needs a game the worker threads can load (a built-in name)');
  }
  const problem = new Problem(buildGame(family, params), bins, settings.grid, settings.projection);
  const executor = threads > 1 ? new LocalExecutor({ threads }) : new InlineExecutor();
  try {
    const { curve, policies, stopReason, result } = await runSolver({ game: family.name, params, bins, projection: settings.projection }, problem, executor, {
      algorithm: settings.algorithm,
      iterations: settings.iterations,
      horizon: settings.horizon,
      discount: settings.discount,
      tolerance: settings.tolerance,
      softmax: settings.softmax,
      temperature: settings.temperature,
      inner: settings.inner,
      step: settings.step,
      schedule: settings.schedule,
      init: settings.init,
      target: settings.target,
      timeLimit: settings.timeLimit,
      evaluateResult: request.evaluateResult,
      onIteration: request.onIteration ? (p) => request.onIteration?.(p) : undefined,
    });
    // read before close(): the sources are the executor's
    return { curve, stopReason, result, minorPolicy: await collectSource(policies.minorPolicy), majorPolicy: await collectSource(policies.majorPolicy), problem };
  } finally {
    await executor.close();
  }
}

export { builtinGames, buildGame, Problem, InlineExecutor, LocalExecutor, runSolver, OptionError };
export { GameDefinitionError } from './shared/errors.ts';
export type { Algorithm, CurvePoint, OmdSchedule, Schedule, StopReason, GameFamily, GridKind, InitialPolicy, Projection };
export type { GameDefinition, GameLabels, ParamSpec, Params } from './shared/model.ts';
