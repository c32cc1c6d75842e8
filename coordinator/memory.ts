// The resource guard: the bytes a solve will hold, estimated from the sizes alone (nothing allocated), and
// the limit it is checked against (the machine's memory, or --max-memory). Counted: the discretised model
// (Problem: kernels, rewards, major supports, grid points) once on the coordinator and once more in every
// worker thread that builds its own copy, and the solver tables (shared/tables.ts tableLayout, the OMD
// accumulators included), plus the runtime itself (Node, the TypeScript loader, the report's chart library:
// measured about 125 MiB, and about 10 MiB per worker thread). Results are streamed: writing adds no copy.

import { totalmem } from 'node:os';
import { latticeCells } from '../shared/lattice-grid.ts';
import type { Projection } from '../shared/policy-cell.ts';
import type { GridKind } from '../shared/grid.ts';
import type { GameDefinition } from '../shared/model.ts';
import type { Problem } from '../shared/problem.ts';
import { tableLayout } from '../shared/tables.ts';
import { OptionError } from '../shared/errors.ts';

export interface MemoryEstimate {
  /** Grid cells (midpoint: exact in exact arithmetic; float ties at the simplex face may differ by a few). */
  cells: number;
  /** One copy of the discretised model. */
  modelBytes: number;
  /** Copies of the model: the coordinator's, plus one per worker thread. */
  modelCopies: number;
  /** The solver tables. */
  tableBytes: number;
  /** Node and its libraries, measured, not derived. */
  runtimeBytes: number;
  /** Everything: modelBytes * modelCopies + tableBytes + runtimeBytes. */
  totalBytes: number;
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
  opts: { threads: number; omd: boolean; slices: number; projection?: Projection },
): MemoryEstimate {
  const { nX, nU, nX0, nU0 } = game;
  const cells = gridCells(grid, nX, bins);
  const rows = nX0 * cells;
  const pairs = rows * nU0;
  // minorP, minorR, majorR (f64); majorCount (i32); majorTo (i32) and majorP (f64) at most nX0 wide; points
  const modelBytes = pairs * nX * nU * nX * 8 + pairs * nX * nU * 8 + pairs * 8 + pairs * 4 + pairs * nX0 * 12 + cells * nX * 8;
  // the interpolated next tables (nextVertex, nextWeight) are 3 nX times nearest's nextCell
  const layout = tableLayout({ game, rows, projection: opts.projection ?? 'nearest' } as unknown as Problem, { omd: opts.omd, slices: opts.slices });
  let tableBytes = 0;
  for (const { length, type } of Object.values(layout)) tableBytes += length * (type === 'f64' ? 8 : 4);
  const threads = opts.threads > 1 ? opts.threads : 0;
  const modelCopies = 1 + threads;
  const runtimeBytes = (128 + 16 * threads) * 2 ** 20;
  return { cells, modelBytes, modelCopies, tableBytes, runtimeBytes, totalBytes: modelBytes * modelCopies + tableBytes + runtimeBytes };
}

/** The memory a run may use: --max-memory, else the machine's (or the container's) memory. */
export function memoryLimit(maxMemory: number | undefined): { bytes: number; source: string } {
  if (maxMemory !== undefined) return { bytes: maxMemory, source: '--max-memory' };
  const total = totalmem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  // cgroup v2 without a limit reports a huge number
  if (constrained > 0 && constrained < total) return { bytes: constrained, source: "this container's memory" };
  return { bytes: total, source: "this machine's memory" };
}

export function checkMemory(estimate: MemoryEstimate, maxMemory: number | undefined): void {
  const limit = memoryLimit(maxMemory);
  if (estimate.totalBytes > limit.bytes) {
    const copies = estimate.modelCopies > 1 ? ` (${estimate.modelCopies} copies of the model: the coordinator and each thread)` : '';
    throw new OptionError(
      `the run needs about ${formatBytes(estimate.totalBytes)}${copies}, more than ${limit.source} (${formatBytes(limit.bytes)}); ` +
        'use fewer --bins or --threads, or set --max-memory to try anyway',
    );
  }
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

/** Parses --max-memory: bytes, or a number with K, M, G or T (powers of 1024). */
export function parseBytes(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$/i.exec(text);
  const scale = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 } as Record<string, number>;
  const v = m ? Number(m[1]) * scale[(m[2] ?? '').charAt(0).toLowerCase()] : NaN;
  if (!Number.isFinite(v) || v < 1) throw new OptionError(`${flag}: expected a size like 8G, 500M or a number of bytes, got '${text}'`);
  return Math.floor(v);
}
