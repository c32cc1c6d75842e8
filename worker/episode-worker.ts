// The Piscina entry of the N-player experiment: one task = one range of episodes of one job (shared/episodes.ts,
// EpisodeTask). Thin on purpose: it rebuilds the game with buildGame(builtinGames[name], params) and the grid
// (cached per thread by game spec), builds the simulator on the task's policy tables (cached per job: the
// tables are SharedArrayBuffer views, shared, not copied), runs episodes [from, to) and writes their returns
// into the task's shared output arrays at the episodes' own indices. Episode k draws from the stream of
// (seed, k) only, so any split over any threads writes the same bits. A failure rejects the caller's promise.

import { builtinGames } from '../shared/games/index.ts';
import type { MeanFieldGrid } from '../shared/grid.ts';
import type { GameDefinition } from '../shared/model.ts';
import { makeGrid } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { EpisodeSimulator, type EpisodeTask, type EpisodeTaskResult, type GameSpec } from '../shared/episodes.ts';

let built: { key: string; game: GameDefinition; grid: MeanFieldGrid } | undefined;
let simulator: { job: string; sim: EpisodeSimulator } | undefined;

function gameAndGrid(spec: GameSpec): { game: GameDefinition; grid: MeanFieldGrid } {
  const key = JSON.stringify([spec.game, spec.params, spec.bins, spec.grid ?? 'midpoint']);
  if (built?.key === key) return built;
  const family = builtinGames[spec.game];
  if (!family) throw new Error(`episode worker: unknown game '${spec.game}'`);
  const game = buildGame(family, spec.params);
  built = { key, game, grid: makeGrid(spec.grid ?? 'midpoint', game.nX, spec.bins) };
  return built;
}

export default function runEpisodeTask(task: EpisodeTask): EpisodeTaskResult {
  const started = performance.now();
  if (simulator?.job !== task.job) {
    simulator = undefined;
    const { game, grid } = gameAndGrid(task.spec);
    const policies = { minorPolicy: task.minorPolicy, majorPolicy: task.majorPolicy };
    const sim = new EpisodeSimulator(game, grid, policies, task.players, task.sampler, task.spec.projection ?? 'nearest');
    simulator = { job: task.job, sim };
  }
  simulator.sim.runRange(task.seed, task.from, task.to, task.major, task.minor, task.from);
  return { from: task.from, to: task.to, ms: performance.now() - started };
}
