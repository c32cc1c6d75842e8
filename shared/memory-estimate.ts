// The bytes a solve will hold, estimated from the sizes alone (nothing allocated). Counted: the discretised
// model (Problem: kernels, rewards, major supports, grid points) once in the process and once more in every
// worker thread that builds its own copy, and the solver tables (shared/tables.ts tableLayout, the OMD
// accumulators included), with --keep best two more copies of the policies (the best iterate's saved and best
// slots), plus the runtime itself (Node, the TypeScript loader, the report's chart library: measured about
// 125 MiB, and about 10 MiB per worker thread). Results are streamed: writing adds no copy. A cluster's
// coordinator keeps no rows (keptCells 0); a node keeps its shard's (the pages of the others are never
// written; the halo rows a node receives into its value slots are not counted). The limits they are checked
// against: coordinator/memory.ts (a run), worker/shard-node.ts (a node's shard).

import { latticeCells } from './lattice-grid.ts';
import type { Projection } from './policy-cell.ts';
import type { GridKind } from './grid.ts';
import type { GameDefinition } from './model.ts';
import type { Problem } from './problem.ts';
import { tableLayout } from './tables.ts';
import type { ShardRun } from './cluster-messages.ts';

export interface MemoryEstimate {
  /** Grid cells (midpoint: exact in exact arithmetic; float ties at the simplex face may differ by a few). */
  cells: number;
  /** One copy of the discretised model. */
  modelBytes: number;
  /** Copies of the model: the coordinator's, plus one per worker thread. */
  modelCopies: number;
  /** The solver tables. */
  tableBytes: number;
  /** The best iterate's two copies of the policies (0 with --keep last). */
  bestBytes: number;
  /** Node and its libraries, measured, not derived. */
  runtimeBytes: number;
  /** Everything: modelBytes * modelCopies + tableBytes + bestBytes + runtimeBytes. */
  totalBytes: number;
  /** The cells whose rows this process keeps (a cluster node's shard, 0 on a cluster's coordinator; else all). */
  keptCells: number;
}

/** Cells of a grid: the midpoint grid keeps k in [0, M)^(nX-1) with sum(k_i + 1/2) <= M, i.e. C(N + d, d). */
export function gridCells(kind: GridKind, nX: number, bins: number): number {
  if (kind === 'lattice') return latticeCells(nX, bins);
  const d = nX - 1;
  const N = Math.floor(bins - d / 2);
  if (N < 0) return 0;
  // C(N + d, d) with every k_i < M: for d >= 2 the sum bound implies k_i <= M - 1 already
  let c = 1;
  for (let j = 1; j <= d; j++) c = (c * (N + j)) / j;
  return d === 1 ? Math.min(bins, N + 1) : Math.round(c);
}

export function estimateMemory(
  game: GameDefinition,
  bins: number,
  grid: GridKind,
  opts: { threads: number; omd: boolean; slices: number; projection?: Projection; keepBest?: boolean; keptCells?: number; modelCopies?: number },
): MemoryEstimate {
  const { nX, nU, nX0, nU0 } = game;
  const cells = gridCells(grid, nX, bins);
  const rows = nX0 * cells;
  const pairs = rows * nU0;
  // minorP, minorR, majorR (f64); majorCount (i32); majorTo (i32) and majorP (f64) at most nX0 wide; points
  // only the kept rows' pages are ever written (a partial Problem, a node's shard of the tables): they scale
  // with the kept cells; the grid points are whole everywhere
  const keptCells = Math.min(cells, opts.keptCells ?? cells);
  const kept = cells > 0 ? keptCells / cells : 0;
  const modelBytes = Math.ceil((pairs * nX * nU * nX * 8 + pairs * nX * nU * 8 + pairs * 8 + pairs * 4 + pairs * nX0 * 12) * kept) + cells * nX * 8;
  // the interpolated next tables (nextVertex, nextWeight) are 3 nX times nearest's nextCell
  const layout = tableLayout({ game, rows, projection: opts.projection ?? 'nearest' } as unknown as Problem, { omd: opts.omd, slices: opts.slices });
  let tableBytes = 0;
  for (const { length, type } of Object.values(layout)) tableBytes += length * (type === 'f64' ? 8 : 4);
  tableBytes = Math.ceil(tableBytes * kept);
  const bestBytes = opts.keepBest ? Math.ceil(2 * 8 * (layout.minorPolicy.length + layout.majorPolicy.length) * kept) : 0;
  const threads = opts.threads > 1 ? opts.threads : 0;
  const modelCopies = opts.modelCopies ?? 1 + threads;
  const runtimeBytes = (128 + 16 * threads) * 2 ** 20;
  return { cells, modelBytes, modelCopies, tableBytes, bestBytes, runtimeBytes, totalBytes: modelBytes * modelCopies + tableBytes + bestBytes + runtimeBytes, keptCells };
}

/** What a node's estimate depends on besides its cells and threads: the run's shape as the open order carries it. */
export interface NodeRunShape {
  bins: number;
  grid: GridKind;
  projection?: Projection;
  omd: boolean;
  slices: number;
  /** --keep best: the node keeps its rows of the best iterate's two copies (worker/shard-tables.ts keepSlots). */
  keepBest: boolean;
}

/**
 * A cluster node's estimate for `keptCells` cells with `poolThreads` pool threads (nodePoolThreads): its model
 * rows on its own thread and on each pool thread, its rows of the tables and, with --keep best, of the best
 * iterate's two copies. The one rule behind the node's own check (worker/shard-build.ts), the coordinator's
 * memory-aware cut (nodeCapacityCells) and run.json's `memory.nodes`.
 */
export function nodeShardEstimate(game: GameDefinition, run: NodeRunShape, keptCells: number, poolThreads: number): MemoryEstimate {
  return estimateMemory(game, run.bins, run.grid, { threads: poolThreads, modelCopies: 1 + poolThreads, omd: run.omd, slices: run.slices, projection: run.projection, keepBest: run.keepBest, keptCells });
}

/** The shape of a run as its open order gives it to a node. */
export function shardRunShape(game: GameDefinition, run: Pick<ShardRun, 'spec' | 'gridKind' | 'projection' | 'tableOptions'>): NodeRunShape {
  const o = run.tableOptions;
  return { bins: run.spec.bins, grid: run.gridKind, projection: run.projection ?? 'nearest', omd: Boolean(o.omd), slices: o.slices ?? game.T, keepBest: o.keepBest === true };
}

/** The most cells a node with `poolThreads` pool threads and `memory` bytes can hold (0: not even an empty shard). */
export function nodeCapacityCells(game: GameDefinition, run: NodeRunShape, poolThreads: number, memory: number): number {
  const fits = (c: number) => nodeShardEstimate(game, run, c, poolThreads).totalBytes <= memory;
  const cells = gridCells(run.grid, game.nX, run.bins);
  if (!fits(0)) return 0;
  if (fits(cells)) return cells;
  // the estimate grows with the kept cells: the last count that fits, by bisection
  let lo = 0;
  let hi = cells;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * A cluster node's pool threads: one per `--threads` when it has more than one; a one-thread node computes on its
 * own thread (handing each step to another thread cost ~6 ms per step). `pool: false` (tests) uses none.
 */
export function nodePoolThreads(threads: number, pool = true): number {
  return pool && threads > 1 ? threads : 0;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(2) : v < 100 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

