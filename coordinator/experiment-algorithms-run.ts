// One run of the algorithm study: a solve of one (game, method) with the study's budget and cap, traced after
// every iteration. It runs in the study's process (`--parallel 1`) or on a thread of its own
// (./experiment-algorithms-thread.ts, `--parallel P`: P runs side by side, each inline on one thread).

import type { Logger } from 'pino';
import type { Problem } from '../shared/problem.ts';
import { InlineExecutor } from './inline-executor.ts';
import { LocalExecutor } from './local-executor.ts';
import { solve } from './solver.ts';
import type { Method, StudyGame, Trace, TracePoint } from './experiment-algorithms.ts';

/**
 * A run stops once its total exploitability is at most this: below it the differences are rounding (the
 * totals of converged runs are 1e-14..1e-13), so there is nothing more to learn, and the budget goes to the
 * next run. The trace records it as stop reason 'target'.
 */
export const STOP_BELOW = 1e-12;

export interface StudyRun {
  game: StudyGame;
  method: Method;
  budget: number;
  cap: number;
}

export async function runStudyRun(run: StudyRun, problem: Problem, threads: number, logger: Logger): Promise<Trace> {
  const { game: g, method: m } = run;
  const executor = threads > 1 ? new LocalExecutor({ threads, logger }) : new InlineExecutor();
  const points: TracePoint[] = [];
  const started = performance.now();
  try {
    const result = await solve({ game: g.game, params: g.params, bins: g.bins }, problem, executor, {
      ...m.options,
      iterations: run.cap,
      timeLimit: run.budget,
      target: STOP_BELOW,
      onIteration: (p) => {
        const { total, major, minor } = p.exploitability;
        points.push({ iteration: p.iteration, seconds: (performance.now() - started) / 1000, total, major, minor });
      },
    });
    return { game: g.game, bins: g.bins, method: m.key, label: m.label, stopReason: result.stopReason, points };
  } finally {
    await executor.close();
  }
}
