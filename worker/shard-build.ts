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
import { machineMemory } from '../runtime/machine-memory.ts';
import { formatBytes, gridCells, nodeShardEstimate, shardRunShape } from '../shared/memory-estimate.ts';
import { isGamePath } from '../shared/game-source.ts';
import type { ShardRun } from '../shared/cluster-messages.ts';

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

/**
 * Below this many (row, u0, x, u) entries a built-in game's model builds in well under the heartbeat interval
 * (Cyber at M = 8: 1,344 entries, ~15 ms; at M = 16: 10,880, ~120 ms on a loaded 2-core machine): building it
 * here costs less than starting a thread (~0.3 s). A user's game module is always built on the thread.
 */
const INLINE_BUILD_ENTRIES = 4_000;

export async function buildShardProblem(family: GameFamily, data: ShardBuildData): Promise<Problem> {
  if (!isGamePath(data.game)) {
    const game = buildGame(family, data.params);
    const entries = gridCells(data.gridKind, game.nX, data.bins) * game.nX0 * game.nU0 * game.nX * game.nU;
    if (entries < INLINE_BUILD_ENTRIES) return new Problem(game, data.bins, data.gridKind, data.projection, { cells: data.cells });
  }
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
    keptCells: data.cells,
    projection: data.projection,
    fingerprint: reply.fingerprint,
  };
  return Object.assign(Object.create(Problem.prototype) as Problem, fields);
}

/**
 * Refuses (throws) a shard whose estimate exceeds the node's memory (--memory, else the machine's): its model
 * rows on the node's thread and on each pool thread, its rows of the tables and, when the open order says
 * --keep best, of the best iterate's two copies (shared/memory-estimate.ts nodeShardEstimate). Checked before building.
 */
export function checkShardMemory(node: string, family: GameFamily, run: ShardRun, shard: number, opts: { poolThreads: number; memory?: number }): void {
  const game = buildGame(family, run.spec.params);
  const [ca, cb] = [run.cellBounds[shard], run.cellBounds[shard + 1]];
  const estimate = nodeShardEstimate(game, shardRunShape(game, run), cb - ca, opts.poolThreads);
  const limit = opts.memory !== undefined ? { bytes: opts.memory, source: '--memory' } : machineMemory();
  if (estimate.totalBytes > limit.bytes) {
    throw new Error(
      `node ${node} refuses shard ${shard} (cells [${ca}, ${cb}) of ${estimate.cells}): it needs about ${formatBytes(estimate.totalBytes)}, ` +
        `more than this node's memory (${formatBytes(limit.bytes)}, ${limit.source}); add nodes or memory, or use fewer --bins`,
    );
  }
}
