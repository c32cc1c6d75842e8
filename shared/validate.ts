// Validation of a game definition when it is built: sizes, initial distributions, and kernel rows and rewards
// at the vertices and at seeded random points of the simplex. (Grid points are checked when the problem
// tables are built, which evaluates every kernel there anyway.) Every failure names the game, the function
// and the state where it failed.

import { GameDefinitionError } from './errors.ts';
import {
  describeState,
  distributionProblem,
  resolveParams,
  type GameDefinition,
  type GameFamily,
} from './model.ts';
import { SeededRandom } from './random.ts';

const RANDOM_POINTS = 24;

/**
 * Told before and after every call into a game's code (create and the four kernel functions), where one is
 * set: a thread that builds a game under a deadline records in shared memory which call is running, so that
 * the thread watching it can name the function and the state if the call never returns (shared/kernel-probe.ts).
 */
export interface KernelProbe {
  enter(fn: string, at: Readonly<Record<string, number>>, mu: ArrayLike<number>): void;
  leave(): void;
}

let probe: KernelProbe | undefined;

/** Sets (or clears) this thread's probe. */
export function setKernelProbe(p: KernelProbe | undefined): void {
  probe = p;
}

const NO_MU = new Float64Array(0);

/** Resolves parameters, instantiates the game and validates it. */
export function buildGame(family: GameFamily, overrides: Readonly<Record<string, number>> = {}): GameDefinition {
  const params = resolveParams(family, overrides);
  let game: GameDefinition;
  try {
    probe?.enter('create', {}, NO_MU);
    game = family.create(params);
    probe?.leave();
  } catch (err) {
    if (err instanceof GameDefinitionError) throw err;
    throw new GameDefinitionError(family.name, `constructing the game failed: ${(err as Error).message}`, { cause: err });
  }
  validateGame(game);
  return game;
}

export function validateGame(game: GameDefinition): void {
  const name = typeof game?.name === 'string' && game.name ? game.name : '(unnamed)';
  const fail = (msg: string): never => {
    throw new GameDefinitionError(name, msg);
  };
  for (const key of ['nX', 'nU', 'nX0', 'nU0', 'T'] as const) {
    const v = game[key];
    if (!Number.isInteger(v) || v < 1) fail(`${key} must be a positive integer, got ${String(v)}`);
  }
  if (game.nX < 2) fail(`nX must be at least 2 (the mean field of a single state is trivial), got ${game.nX}`);
  for (const fn of ['minorKernel', 'majorKernel', 'minorReward', 'majorReward'] as const) {
    if (typeof game[fn] !== 'function') fail(`${fn} must be a function`);
  }
  checkDistribution(name, 'mu0', game.mu0, game.nX);
  checkDistribution(name, 'nu0', game.nu0, game.nX0);

  const rng = new SeededRandom(0x5eed);
  const points: Float64Array[] = [];
  for (let v = 0; v < game.nX; v++) {
    const p = new Float64Array(game.nX);
    p[v] = 1;
    points.push(p);
  }
  points.push(new Float64Array(game.mu0));
  for (let n = 0; n < RANDOM_POINTS; n++) points.push(rng.simplex(game.nX));
  const scratch = new Float64Array(Math.max(game.nX, game.nX0));
  for (const mu of points) checkAt(game, mu, scratch);
}

function checkDistribution(game: string, what: string, d: unknown, n: number): void {
  if (!(d instanceof Float64Array) && !Array.isArray(d)) {
    throw new GameDefinitionError(game, `${what} must be a Float64Array of length ${n}`);
  }
  const arr = d as ArrayLike<number>;
  if (arr.length !== n) throw new GameDefinitionError(game, `${what} has length ${arr.length}, expected ${n}`);
  const problem = distributionProblem(arr, 0, n);
  if (problem) throw new GameDefinitionError(game, `${what} is not a distribution: ${problem}`);
}

/** Checks every kernel row and reward of `game` at one mean field `mu`. */
export function checkAt(game: GameDefinition, mu: Float64Array, scratch: Float64Array): void {
  const { nX, nU, nX0, nU0 } = game;
  for (let x0 = 0; x0 < nX0; x0++) {
    for (let u0 = 0; u0 < nU0; u0++) {
      scratch.fill(NaN, 0, nX0);
      callKernel(game, 'majorKernel', { x0, u0 }, mu, () => game.majorKernel(x0, u0, mu, scratch, 0));
      const bad = distributionProblem(scratch, 0, nX0);
      if (bad) throw rowError(game, 'majorKernel', { x0, u0 }, mu, bad);
      const r0 = callKernel(game, 'majorReward', { x0, u0 }, mu, () => game.majorReward(x0, u0, mu));
      if (!Number.isFinite(r0)) throw rowError(game, 'majorReward', { x0, u0 }, mu, `returned ${r0}`);
      for (let x = 0; x < nX; x++) {
        for (let u = 0; u < nU; u++) {
          scratch.fill(NaN, 0, nX);
          callKernel(game, 'minorKernel', { x, u, x0, u0 }, mu, () => game.minorKernel(x, u, x0, u0, mu, scratch, 0));
          const badRow = distributionProblem(scratch, 0, nX);
          if (badRow) throw rowError(game, 'minorKernel', { x, u, x0, u0 }, mu, badRow);
          const r = callKernel(game, 'minorReward', { x, u, x0, u0 }, mu, () => game.minorReward(x, u, x0, u0, mu));
          if (!Number.isFinite(r)) throw rowError(game, 'minorReward', { x, u, x0, u0 }, mu, `returned ${r}`);
        }
      }
    }
  }
}

export function callKernel<R>(game: GameDefinition, fn: string, at: Record<string, number>, mu: Float64Array, call: () => R): R {
  try {
    probe?.enter(fn, at, mu);
    const r = call();
    probe?.leave();
    return r;
  } catch (err) {
    throw new GameDefinitionError(game.name, `${fn} threw at ${describeState(at, mu)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function rowError(
  game: GameDefinition,
  fn: string,
  at: Record<string, number>,
  mu: ArrayLike<number>,
  problem: string,
): GameDefinitionError {
  const what = fn.endsWith('Kernel') ? 'is not a distribution' : 'is not finite';
  return new GameDefinitionError(game.name, `${fn} at ${describeState(at, mu)} ${what}: ${problem}`);
}
