// A Piscina thread of the algorithm study's `--parallel P` (./experiment-algorithms.ts): runs one study run
// inline on this thread. The game's model is built once per thread and kept for the next run of that game.

import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { createLogger } from './logger.ts';
import { runStudyRun, type StudyRun } from './experiment-algorithms-run.ts';
import type { Trace } from './experiment-algorithms.ts';

let cached: { key: string; problem: Problem } | undefined;

export default async function runStudyThread(task: StudyRun & { logLevel: string }): Promise<Trace> {
  const g = task.game;
  const key = JSON.stringify(g);
  if (cached?.key !== key) {
    cached = undefined; // one model at a time: let the previous game's go first
    cached = { key, problem: new Problem(buildGame(builtinGames[g.game], g.params), g.bins) };
  }
  return runStudyRun(task, cached.problem, 1, createLogger(task.logLevel));
}
