// One solve run end to end: build and validate the game, check the memory it needs and the results
// directory, build the grid and model, run the solver on an executor with progress, and write the results
// directory (streamed from the tables, before the executor closes). Bad input and environment errors are
// found before anything is computed; a directory this run created is removed again if the run fails.

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
import { ensureDir, LAST_DIR, LAST_FILES, removeDirIfEmpty, resultPaths, writeFileAtomic, writePolicies, type ResultIterate } from './results.ts';
import { solve, type CurvePoint, type StopReason } from './solver.ts';
import { writeCheckpoint, type SavedState } from './checkpoint.ts';
import { CURVE_COLUMNS, curveMatrix, encodeNpy, writeNpy } from './npy.ts';
import { join } from 'node:path';
import type { Progress } from './progress.ts';
import { reportAfterSolve } from './report/index.ts';
import { checkMemory, estimateMemory, formatBytes, memoryLimit, nodeEstimates, type MemoryEstimate } from './memory.ts';
import { prepareOutDir } from './out-dir.ts';
import { hashReady } from './policy-file.ts';
import { unlinkQuietly } from './atomic.ts';

export interface RunSolveResult {
  curve: CurvePoint[];
  stopReason: StopReason;
  /** The written policies: which iterate (the policies after that many updates) and their exploitability. */
  result: ResultIterate;
  /** With --keep best: the last iterate (written to last/). */
  last?: ResultIterate;
  paths: ReturnType<typeof resultPaths>;
  /** Every file written, in order (the report's index.html last when there is one). */
  files: string[];
  seconds: number;
  memory: MemoryEstimate;
}

export async function runSolve(
  settings: SolveSettings,
  deps: { logger: Logger; progress?: Progress; executor?: Executor; resume?: SavedState; /** write DIR/report (default true) */ report?: boolean },
): Promise<RunSolveResult> {
  await hashReady;
  const { logger } = deps;
  // a user's game is first built under a deadline on a thread of its own: its code could loop forever
  const deadline = { ...DEFAULT_TASK_DEADLINE, floorMs: settings.taskTimeout * 1000 };
  if (isGamePath(settings.game)) await checkGameInThread({ game: settings.game, params: settings.params, bins: settings.bins, grid: settings.grid }, deadline);
  const game = buildGame(settings.family, settings.params);
  const identity = {
    game: settings.game, algorithm: settings.algorithm, bins: settings.bins, params: { ...game.params }, grid: settings.grid,
    projection: settings.projection, horizon: settings.horizon, discount: settings.discount, tolerance: settings.tolerance, softmax: settings.softmax,
    temperature: settings.temperature, inner: settings.inner, init: settings.init, step: settings.step, schedule: settings.schedule,
  };
  const omd = settings.algorithm === 'omd';
  const slices = settings.horizon === 'infinite' ? 1 : game.T;
  // threads that build their own copy of the model: the local executor's (a cluster's live on other machines)
  const modelThreads = deps.executor ? (deps.executor instanceof LocalExecutor ? deps.executor.threads : 1) : settings.threads;
  const keepBest = settings.keep === 'best';
  // a cluster's coordinator keeps no model rows and no tables (its nodes do: estimated per shard in run.json)
  const cluster = deps.executor instanceof ClusterExecutor;
  const memory = estimateMemory(game, settings.bins, settings.grid, { threads: modelThreads, omd, slices, keepBest, projection: settings.projection, ...(cluster ? { keptCells: 0 } : {}) });
  // a cluster's tables live on its nodes (each node checks its own shard): only in-process tables are checked here
  if (!(deps.executor instanceof ClusterExecutor)) checkMemory(memory, settings.maxMemory);
  const out = prepareOutDir(settings.out, { identity: { ...identity, iterations: settings.iterations }, force: settings.force, resume: Boolean(deps.resume) });
  const log = logger.child({ component: 'solve', game: settings.game, algorithm: settings.algorithm, bins: settings.bins });
  let executor: Executor | undefined = deps.executor;
  let closed = false;
  // results written so far: removed again if the run fails after all (a half-written results directory misleads)
  const files: string[] = [];
  try {
    const built = Date.now();
    // a cluster's model rows live on its nodes: the coordinator builds them only for the fingerprint, keeping none
    const problem = new Problem(game, settings.bins, settings.grid, settings.projection, deps.executor instanceof ClusterExecutor ? { cells: [0, 0] } : {});
    const spec = { game: settings.game, params: settings.params, bins: settings.bins, projection: settings.projection };
    log.info({ cells: problem.cells, rows: problem.rows, T: game.T, setupMs: Date.now() - built, memoryBytes: memory.totalBytes }, 'problem built');
    out.replaceOtherRun();

    const setupMs = Date.now() - built;
    executor ??= settings.threads > 1 ? new LocalExecutor({ threads: settings.threads, logger, deadline, setupMs }) : new InlineExecutor();
    const threads = executor instanceof LocalExecutor ? executor.threads : 1;
    const paths = resultPaths(settings.out);
    const started = performance.now();
    deps.progress?.start(settings.iterations);
    const curveSoFar: CurvePoint[] = deps.resume ? deps.resume.curve.slice(0, deps.resume.iteration) : [];
    const checkpointId = { ...identity, iterations: settings.iterations, checkpointEvery: settings.checkpointEvery, target: settings.target, timeLimit: settings.timeLimit, keep: settings.keep };
    let seconds = 0;
    let result;
    let results: { result: ResultIterate; last?: ResultIterate } | undefined;
    try {
      result = await solve(spec, problem, executor, {
        algorithm: settings.algorithm,
        iterations: settings.iterations,
        init: settings.init,
        softmax: settings.softmax,
        temperature: settings.temperature,
        inner: settings.inner,
        step: settings.step,
        schedule: settings.schedule,
        horizon: settings.horizon,
        discount: settings.discount,
        tolerance: settings.tolerance,
        target: settings.target,
        timeLimit: settings.timeLimit,
        evaluateResult: true,
        keepBest,
        resume: deps.resume,
        onIteration: async (point, policies, stopping, best) => {
          curveSoFar.push(point);
          deps.progress?.update(point);
          log.debug({ iteration: point.iteration, exploitability: point.exploitability }, 'iteration');
          const done = point.iteration + 1;
          if (settings.checkpointEvery > 0 && (done % settings.checkpointEvery === 0 || stopping)) {
            const saved = best && { iteration: best.iteration, total: best.exploitability.total, policies: best.policies };
            await writeCheckpoint(settings.out, problem, policies, checkpointId, done, curveSoFar, saved);
          }
        },
      });
      seconds = (performance.now() - started) / 1000;
      deps.progress?.stop();
      // the results, streamed from the executor's sources while it is still open: the best iterate (or the
      // last with --keep last) in DIR, the last iterate in DIR/last when it is not the result
      const last: ResultIterate = { iteration: result.curve.length, ...result.result! };
      const chosen: ResultIterate = result.best ? { iteration: result.best.iteration, exploitability: result.best.exploitability, value: result.best.value } : last;
      results = { result: chosen, ...(result.best ? { last } : {}) };
      const policies = result.best?.policies ?? result.policies;
      const write = async (name: string, w: (path: string) => void | Promise<void>) => {
        const path = join(settings.out, name);
        await w(path);
        files.push(path);
      };
      const policySpec = { ...spec, params: { ...game.params }, grid: settings.grid };
      if (!result.best) {
        // a --keep best run of this configuration before left a last/ that this result does not belong to
        for (const f of LAST_FILES) unlinkQuietly(join(settings.out, LAST_DIR, f));
        removeDirIfEmpty(join(settings.out, LAST_DIR));
      } else {
        ensureDir(join(settings.out, LAST_DIR));
        await write(join(LAST_DIR, LAST_FILES[0]), (p) => writePolicies(p, problem, result!.policies, policySpec));
        await write(join(LAST_DIR, LAST_FILES[1]), (p) => writeFileAtomic(p, JSON.stringify(last, null, 1)));
      }
      await write('curve.json', (p) => writeFileAtomic(p, JSON.stringify(result!.curve, null, 1)));
      await write('policies.bin', (p) => writePolicies(p, problem, policies, policySpec));
      // the same tables for numpy users: numpy.load('minorPolicy.npy') etc. (axes as in policies.bin)
      const T = policies.minorPolicy.length / (problem.rows * game.nX * game.nU);
      await write('minorPolicy.npy', (p) => writeNpy(p, [T, game.nX0, problem.cells, game.nX, game.nU], policies.minorPolicy));
      await write('majorPolicy.npy', (p) => writeNpy(p, [T, game.nX0, problem.cells, game.nU0], policies.majorPolicy));
      await write('gridPoints.npy', (p) => writeFileAtomic(p, encodeNpy([problem.cells, game.nX], problem.grid.points)));
      await write('curve.npy', (p) => writeFileAtomic(p, encodeNpy([result!.curve.length, CURVE_COLUMNS.length], curveMatrix(result!.curve))));
    } finally {
      deps.progress?.stop();
      closed = true;
      await executor.close();
    }
    const last = result.curve[result.curve.length - 1];
    const limit = memoryLimit(settings.maxMemory);
    writeFileAtomic(
      paths.run,
      JSON.stringify(
        {
          ...identity,
          overrides: settings.params,
          iterations: settings.iterations,
          ...(settings.auto ? { auto: true } : {}),
          target: settings.target,
          timeLimit: settings.timeLimit,
          stopReason: result.stopReason,
          resumedAt: deps.resume?.iteration,
          executor: executor.name,
          threads,
          ...(executor instanceof LocalExecutor ? { sharding: executor.stats() } : {}),
          ...(executor instanceof ClusterExecutor ? { cluster: executor.stats() } : {}),
          sizes: { nX: game.nX, nU: game.nU, nX0: game.nX0, nU0: game.nU0, T: game.T, cells: problem.cells, rows: problem.rows },
          initialCell: problem.initialCell,
          memory: {
            ...memory,
            total: formatBytes(memory.totalBytes),
            limitBytes: limit.bytes,
            limitSource: limit.source,
            ...(executor instanceof ClusterExecutor ? { nodes: nodeEstimates(game, settings, executor.stats(), { omd, slices, keepBest }) } : {}),
          },
          seconds,
          secondsPerIteration: seconds / result.curve.length,
          final: last,
          keep: settings.keep,
          // the exploitability of exactly the policies written: the best iterate's curve point, or the last
          // iterate's evaluation sweep; iteration i = the policies after i updates (the input of iteration i)
          result: results!.result,
          ...(results!.last ? { last: { ...results!.last, policies: join(LAST_DIR, 'policies.bin') } } : {}),
          version: 1,
        },
        null,
        1,
      ),
    );
    files.push(paths.run);
    log.info({ seconds, final: last.exploitability }, 'solve finished');
    const { curve, stopReason } = result;
    result = undefined; // the tables are not needed for the report: let them go before it reads policies.bin
    if (deps.report !== false) {
      const report = await reportAfterSolve(settings.out, log); // DIR/report; a failure is a warning, not a failed solve
      if (report) files.push(...report.pngs, report.html);
    }
    return { curve, stopReason, result: results!.result, last: results!.last, paths, files, seconds, memory };
  } catch (err) {
    if (executor && !closed) await executor.close().catch(() => {});
    for (const f of files) unlinkQuietly(f);
    removeDirIfEmpty(join(settings.out, LAST_DIR));
    out.removeIfEmpty();
    throw err;
  }
}
