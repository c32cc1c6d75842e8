// A node's Problem built on a thread of its own (worker/shard-build-worker.ts), so that the node keeps
// beating while it builds: the coordinator then tells a node killed during the build within its heartbeat
// timeout. The thread builds and fingerprints every row, keeps the shard's, and hands the tables over
// (transferred, not copied); here the game and the grid are made again (cheap) and the Problem put together.

import type { GameFamily } from '../shared/model.ts';
import { makeGrid, Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import type { GridKind } from '../shared/grid.ts';
import type { Projection } from '../shared/policy-cell.ts';
import { startWorkerThread } from '../runtime/thread-pool.ts';

export interface ShardBuildData {
  game: string;
  params: Record<string, number>;
  bins: number;
  gridKind: GridKind;
  projection: Projection;
  cells: [number, number];
}

type Reply =
  | { ok: true; fingerprint: string; majorWidth: number; initialCell: number; tables: [Float64Array, Float64Array, Float64Array, Int32Array, Int32Array, Float64Array] }
  | { ok: false; message: string };

export async function buildShardProblem(family: GameFamily, data: ShardBuildData): Promise<Problem> {
  const worker = startWorkerThread('shard-build-worker', data);
  const reply = await new Promise<Reply>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the model build thread exited (code ${code})`)));
  }).finally(() => void worker.terminate());
  if (!reply.ok) throw new Error(reply.message);
  const game = buildGame(family, data.params);
  const grid = makeGrid(data.gridKind, game.nX, data.bins);
  const [minorP, minorR, majorR, majorCount, majorTo, majorP] = reply.tables;
  // the constructor's fields, as it would have set them (it ran on the thread)
  const fields: Omit<Problem, 'describeRow'> = {
    game,
    grid,
    cells: grid.cells,
    rows: game.nX0 * grid.cells,
    minorP,
    minorR,
    majorR,
    majorWidth: reply.majorWidth,
    majorCount,
    majorTo,
    majorP,
    initialCell: reply.initialCell,
    projection: data.projection,
    fingerprint: reply.fingerprint,
  };
  return Object.assign(Object.create(Problem.prototype) as Problem, fields);
}
