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
import type { InitialPolicy } from './shared/tables.ts';
import { OptionError } from './shared/errors.ts';
import { InlineExecutor } from './coordinator/inline-executor.ts';
import { collectSource } from './shared/table-source.ts';
import { LocalExecutor } from './coordinator/local-executor.ts';
import { AUTO_METHOD } from './coordinator/auto.ts';
import { solve as runSolver, type Algorithm, type CurvePoint, type OmdSchedule, type SolveResult, type StopReason } from './coordinator/solver.ts';

export interface SolveRequest {
  /** A built-in game name ('sis', 'buffet', 'advertisement', 'cyber') or a game family object. */
  game: string | GameFamily;
  params?: Record<string, number>;
  bins?: number;
  /** 'auto': the recommended method of the algorithm study (OMD with an annealed temperature). */
  algorithm?: Algorithm | 'auto';
  iterations?: number;
  grid?: GridKind;
  horizon?: 'finite' | 'infinite';
  discount?: number;
  tolerance?: number;
  softmax?: boolean;
  temperature?: number;
  inner?: number;
  /** 'damped': the step alpha of pi <- (1 - alpha) pi + alpha BR (default 0.1). */
  step?: number;
  /** 'omd': constant | sqrt (learning rate 1/sqrt(n+1)) | anneal (temperature tau/sqrt(n+1)). */
  schedule?: OmdSchedule;
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

export async function solve(request: SolveRequest): Promise<SolveResponse> {
  const family = typeof request.game === 'string' ? builtinGames[request.game] : request.game;
  if (!family) throw new OptionError(`solve: unknown game '${String(request.game)}' (built-in: ${Object.keys(builtinGames).join(', ')})`);
  const params = request.params ?? {};
  const bins = request.bins ?? 20;
  const problem = new Problem(buildGame(family, params), bins, request.grid ?? 'midpoint');
  const threads = request.threads ?? 1;
  if (threads > 1 && typeof request.game !== 'string') {
    throw new OptionError('solve: threads > 1 needs a game the worker threads can load (a built-in name)');
  }
  const executor = threads > 1 ? new LocalExecutor({ threads }) : new InlineExecutor();
  try {
    const { curve, policies, stopReason, result } = await runSolver({ game: family.name, params, bins }, problem, executor, {
      algorithm: request.algorithm === 'auto' ? AUTO_METHOD.algorithm : (request.algorithm ?? 'fp'),
      iterations: request.iterations ?? 100,
      horizon: request.horizon,
      discount: request.discount,
      tolerance: request.tolerance,
      softmax: request.softmax,
      temperature: request.temperature,
      inner: request.inner,
      step: request.step,
      schedule: request.schedule,
      init: request.init,
      target: request.target,
      timeLimit: request.timeLimit,
      evaluateResult: request.evaluateResult,
      onIteration: request.onIteration ? (p) => request.onIteration?.(p) : undefined,
      // auto fixes its own settings (last, over the request's)
      ...(request.algorithm === 'auto' ? AUTO_METHOD : {}),
    });
    // read before close(): the sources are the executor's
    return { curve, stopReason, result, minorPolicy: await collectSource(policies.minorPolicy), majorPolicy: await collectSource(policies.majorPolicy), problem };
  } finally {
    await executor.close();
  }
}

export { builtinGames, buildGame, Problem, InlineExecutor, LocalExecutor, runSolver };
export type { Algorithm, CurvePoint, OmdSchedule, StopReason, GameFamily, GridKind, InitialPolicy };
export type { GameDefinition, ParamSpec, Params } from './shared/model.ts';
