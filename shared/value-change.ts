// The L1 change sum |V_new - V| of value iteration, in a fixed summation order that does not depend on how
// rows are split: entries are summed in order within blocks of CHANGE_BLOCK_ROWS rows, and the block sums
// in block order. Any executor that owns whole blocks can compute its blocks' sums and hand them over; the
// total is the same bits for any split (shard cuts fall on block boundaries: shared/cluster-partition.ts).

export const CHANGE_BLOCK_ROWS = 256;

/** Sum of |a[i] - b[i]| per block of rows [rowFrom, rowTo) (rowFrom a block start), `width` entries per row. */
export function blockChanges(a: Float64Array, aOff: number, b: Float64Array, bOff: number, width: number, rowFrom: number, rowTo: number): Float64Array {
  const blocks = Math.ceil((rowTo - rowFrom) / CHANGE_BLOCK_ROWS);
  const out = new Float64Array(blocks);
  for (let k = 0; k < blocks; k++) {
    const from = (rowFrom + k * CHANGE_BLOCK_ROWS) * width;
    const to = Math.min(rowTo, rowFrom + (k + 1) * CHANGE_BLOCK_ROWS) * width;
    let s = 0;
    for (let i = from; i < to; i++) s += Math.abs(a[aOff + i] - b[bOff + i]);
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
