// The resource guard of a solve: the estimate (shared/memory-estimate.ts) checked against the limit, the
// machine's memory or --max-memory. A cluster node checks its own shard against its own limit (worker/shard-node.ts).

import { machineMemory } from '../runtime/machine-memory.ts';
import { OptionError } from '../shared/errors.ts';
import { formatBytes, nodePoolThreads, nodeShardEstimate, type MemoryEstimate } from '../shared/memory-estimate.ts';
import type { GameDefinition } from '../shared/model.ts';
import type { GridKind } from '../shared/grid.ts';
import type { Projection } from '../shared/policy-cell.ts';

export { estimateMemory, formatBytes, gridCells, type MemoryEstimate } from '../shared/memory-estimate.ts';

/** The memory a run may use: --max-memory, else the machine's (or the container's) memory. */
export function memoryLimit(maxMemory: number | undefined): { bytes: number; source: string } {
  if (maxMemory !== undefined) return { bytes: maxMemory, source: '--max-memory' };
  return machineMemory();
}

/**
 * Each node's estimate for its shard of a cluster run (run.json): its model rows on its own thread and on each
 * of its pool threads (nodePoolThreads), its rows of the tables, and with --keep best its rows of the best iterate's two copies.
 */
export function nodeEstimates(
  game: GameDefinition,
  run: { bins: number; grid: GridKind; projection?: Projection },
  cut: { cellBounds: number[]; nodeReports: Array<{ node: string; threads: number }> },
  opts: { omd: boolean; slices: number; keepBest: boolean },
): Array<{ node: string; cells: [number, number]; threads: number; totalBytes: number; total: string }> {
  return cut.nodeReports.map(({ node, threads }, k) => {
    const cells: [number, number] = [cut.cellBounds[k], cut.cellBounds[k + 1]];
    const e = nodeShardEstimate(game, { ...opts, bins: run.bins, grid: run.grid, projection: run.projection }, cells[1] - cells[0], nodePoolThreads(threads));
    return { node, cells, threads, totalBytes: e.totalBytes, total: formatBytes(e.totalBytes) };
  });
}

export function checkMemory(estimate: MemoryEstimate, maxMemory: number | undefined): void {
  const limit = memoryLimit(maxMemory);
  if (estimate.totalBytes > limit.bytes) {
    const copies = estimate.modelCopies > 1 ? ` (${estimate.modelCopies} copies of the model: the coordinator and each thread)` : '';
    if (estimate.bestBytes > 0 && estimate.totalBytes - estimate.bestBytes <= limit.bytes) {
      throw new OptionError(
        `the run needs about ${formatBytes(estimate.totalBytes)}, more than ${limit.source} (${formatBytes(limit.bytes)}), of which ` +
          `${formatBytes(estimate.bestBytes)} are the best iterate's two copies of the policies; use --keep last (the last iterate only) to fit`,
      );
    }
    throw new OptionError(
      `the run needs about ${formatBytes(estimate.totalBytes)}${copies}, more than ${limit.source} (${formatBytes(limit.bytes)}); ` +
        'use fewer --bins or --threads, or set --max-memory to try anyway',
    );
  }
}

/** Parses --max-memory: bytes, or a number with K, M, G or T (powers of 1024). */
export function parseBytes(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$/i.exec(text);
  const scale = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 } as Record<string, number>;
  const v = m ? Number(m[1]) * scale[(m[2] ?? '').charAt(0).toLowerCase()] : NaN;
  if (!Number.isFinite(v) || v < 1) throw new OptionError(`${flag}: expected a size like 8G, 500M or a number of bytes, got '${text}'`);
  return Math.floor(v);
}
