// One solve run end to end: build and validate the game and grid, run the solver on an executor with
// progress, and write the results directory. Nothing is written until the problem has been built and
// validated, so bad input leaves no trace.

import type { Logger } from 'pino';
import { buildGame } from '../shared/validate.ts';
import { isGamePath } from '../shared/game-source.ts';
import { checkGameInThread } from './game-check.ts';
import { DEFAULT_TASK_DEADLINE } from './task-deadline.ts';
import { Problem } from '../shared/problem.ts';
import { InlineExecutor } from './inline-executor.ts';
import { LocalExecutor } from './local-executor.ts';
import { ClusterExecutor } from './cluster-executor.ts';
import type { Executor } from './executor.ts';
import type { SolveSettings } from './options.ts';
import { encodePolicies, ensureDir, resultPaths, writeFileAtomic } from './results.ts';
import { solve, type CurvePoint, type ResumeState } from './solver.ts';
import { writeCheckpoint } from './checkpoint.ts';
import { CURVE_COLUMNS, curveMatrix, encodeNpy } from './npy.ts';
import { join } from 'node:path';
import type { Progress } from './progress.ts';
import { reportAfterSolve } from './report/index.ts';

export interface RunSolveResult {
  curve: CurvePoint[];
  paths: ReturnType<typeof resultPaths>;
  seconds: number;
}

export async function runSolve(
  settings: SolveSettings,
  deps: { logger: Logger; progress?: Progress; executor?: Executor; resume?: ResumeState; /** write DIR/report (default true) */ report?: boolean },
): Promise<RunSolveResult> {
  const { logger } = deps;
  // a user's game is first built under a deadline on a thread of its own: its code could loop forever
  const deadline = { ...DEFAULT_TASK_DEADLINE, floorMs: settings.taskTimeout * 1000 };
  if (isGamePath(settings.game)) await checkGameInThread({ game: settings.game, params: settings.params, bins: settings.bins, grid: settings.grid }, deadline);
  const game = buildGame(settings.family, settings.params);
  const built = Date.now();
  const problem = new Problem(game, settings.bins, settings.grid);
  const spec = { game: settings.game, params: settings.params, bins: settings.bins };
  const identity = {
    game: settings.game, algorithm: settings.algorithm, bins: settings.bins, params: { ...game.params }, grid: settings.grid,
    horizon: settings.horizon, discount: settings.discount, tolerance: settings.tolerance, softmax: settings.softmax,
    temperature: settings.temperature, inner: settings.inner, init: settings.init,
  };
  const log = logger.child({ component: 'solve', game: settings.game, algorithm: settings.algorithm, bins: settings.bins });
  log.info({ cells: problem.cells, rows: problem.rows, T: game.T, setupMs: Date.now() - built }, 'problem built');

  const setupMs = Date.now() - built;
  const executor = deps.executor ?? (settings.threads > 1 ? new LocalExecutor({ threads: settings.threads, logger, deadline, setupMs }) : new InlineExecutor());
  const threads = executor instanceof LocalExecutor ? executor.threads : 1;
  const paths = resultPaths(settings.out);
  ensureDir(settings.out);
  const started = performance.now();
  deps.progress?.start(settings.iterations);
  let result;
  const curveSoFar: CurvePoint[] = deps.resume ? deps.resume.curve.slice(0, deps.resume.iteration) : [];
  try {
    result = await solve(spec, problem, executor, {
      algorithm: settings.algorithm,
      iterations: settings.iterations,
      init: settings.init,
      softmax: settings.softmax,
      temperature: settings.temperature,
      inner: settings.inner,
      horizon: settings.horizon,
      discount: settings.discount,
      tolerance: settings.tolerance,
      resume: deps.resume,
      onIteration: (point, tables) => {
        curveSoFar.push(point);
        deps.progress?.update(point);
        log.debug({ iteration: point.iteration, exploitability: point.exploitability }, 'iteration');
        const done = point.iteration + 1;
        if (settings.checkpointEvery > 0 && (done % settings.checkpointEvery === 0 || done === settings.iterations)) {
          writeCheckpoint(settings.out, problem, tables, { ...identity, iterations: settings.iterations, checkpointEvery: settings.checkpointEvery }, done, curveSoFar);
        }
      },
    });
  } finally {
    deps.progress?.stop();
    await executor.close();
  }
  const seconds = (performance.now() - started) / 1000;
  writeFileAtomic(paths.curve, JSON.stringify(result.curve, null, 1));
  writeFileAtomic(paths.policies, encodePolicies(problem, result.tables, { ...spec, params: { ...game.params } }));
  // the same tables for numpy users: numpy.load('minorPolicy.npy') etc. (axes as in policies.bin)
  const slices = result.tables.minorPolicy.length / (problem.rows * game.nX * game.nU);
  writeFileAtomic(join(settings.out, 'minorPolicy.npy'), encodeNpy([slices, game.nX0, problem.cells, game.nX, game.nU], result.tables.minorPolicy));
  writeFileAtomic(join(settings.out, 'majorPolicy.npy'), encodeNpy([slices, game.nX0, problem.cells, game.nU0], result.tables.majorPolicy));
  writeFileAtomic(join(settings.out, 'gridPoints.npy'), encodeNpy([problem.cells, game.nX], problem.grid.points));
  writeFileAtomic(join(settings.out, 'curve.npy'), encodeNpy([result.curve.length, CURVE_COLUMNS.length], curveMatrix(result.curve)));
  const last = result.curve[result.curve.length - 1];
  writeFileAtomic(
    paths.run,
    JSON.stringify(
      {
        ...identity,
        overrides: settings.params,
        iterations: settings.iterations,
        resumedAt: deps.resume?.iteration,
        executor: executor.name,
        threads,
        ...(executor instanceof LocalExecutor ? { sharding: executor.stats() } : {}),
        ...(executor instanceof ClusterExecutor ? { cluster: executor.stats() } : {}),
        sizes: { nX: game.nX, nU: game.nU, nX0: game.nX0, nU0: game.nU0, T: game.T, cells: problem.cells, rows: problem.rows },
        initialCell: problem.initialCell,
        seconds,
        secondsPerIteration: seconds / result.curve.length,
        final: last,
        version: 1,
      },
      null,
      1,
    ),
  );
  log.info({ seconds, final: last.exploitability }, 'solve finished');
  if (deps.report !== false) await reportAfterSolve(settings.out, log); // DIR/report; a failure is a warning, not a failed solve
  return { curve: result.curve, paths, seconds };
}
