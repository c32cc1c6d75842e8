// The L1 change sum |V_new - V| of value iteration, in a fixed summation order that does not depend on how
// rows are split over threads or nodes: rows are visited cell-major (for c, for x0, for the row's entries),
// entries summed in order within blocks of CHANGE_BLOCK_CELLS cells, and the block sums added in block
// order. A shard that owns whole blocks of cells (shared/cluster-partition.ts cuts on block boundaries)
// computes its blocks' sums; the total is the same bits for any split.

export const CHANGE_BLOCK_CELLS = 4;

/**
 * Per block of cells [cellFrom, cellTo) (cellFrom a block start): the sum of |a - b| over the rows
 * r = x0 * cells + c of those cells, `width` entries per row, a[aOff + r * width + i] against b[bOff + ...].
 */
export function blockChanges(
  a: Float64Array,
  aOff: number,
  b: Float64Array,
  bOff: number,
  width: number,
  nX0: number,
  cells: number,
  cellFrom: number,
  cellTo: number,
): Float64Array {
  const blocks = Math.ceil((cellTo - cellFrom) / CHANGE_BLOCK_CELLS);
  const out = new Float64Array(blocks);
  for (let k = 0; k < blocks; k++) {
    const end = Math.min(cellTo, cellFrom + (k + 1) * CHANGE_BLOCK_CELLS);
    let s = 0;
    for (let c = cellFrom + k * CHANGE_BLOCK_CELLS; c < end; c++) {
      for (let x0 = 0; x0 < nX0; x0++) {
        const o = (x0 * cells + c) * width;
        for (let i = o; i < o + width; i++) s += Math.abs(a[aOff + i] - b[bOff + i]);
      }
    }
    out[k] = s;
  }
  return out;
}

/** The total of block sums, added in block order. */
export function sumBlocks(blocks: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < blocks.length; k++) s += blocks[k];
  return s;
}
