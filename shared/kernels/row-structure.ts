// What the generated backward step (backward-unrolled.ts) can be specialised to, found once per problem:
// 1. games whose minor kernel P(x' | x, u, x0, u0, mu) does not depend on the row (x0, mu), e.g. Buffet, where a
// minor player stays or walks whatever the crowd: their problem's minorP repeats one block of nU0 * nX * nU * nX
// numbers in every row. The step can then take the numbers as constants (no loads) and drop the exact-zero
// ones. Found by comparing every row with the first.
// 2. games whose major kernel rows all have the same number of nonzero entries (SIS, Advertisement, Cyber):
// the loop over the support of P0 can be unrolled.

import type { Problem } from '../problem.ts';

const found = new WeakMap<Problem, Float64Array | null>();
const widths = new WeakMap<Problem, number>();

/** Widest support the step unrolls. */
const MAX_SUPPORT = 8;

/** majorWidth when every row's P0 support has that many entries (and it is small), else undefined. */
export function fullSupport(problem: Problem): number | undefined {
  let w = widths.get(problem);
  if (w === undefined) {
    const { majorCount, majorWidth } = problem;
    w = majorWidth <= MAX_SUPPORT && majorCount.length > 0 && majorCount.every((c) => c === majorWidth) ? majorWidth : 0;
    widths.set(problem, w);
  }
  return w || undefined;
}

/** The block every row of problem.minorP repeats, or undefined when some row differs (or none is kept). */
export function fixedMinorBlock(problem: Problem): Float64Array | undefined {
  let block = found.get(problem);
  if (block === undefined) {
    const { nX, nU, nU0 } = problem.game;
    const { minorP } = problem;
    const size = nU0 * nX * nU * nX;
    block = minorP.slice(0, size);
    // a row never written (a cluster node's dropped rows) is all zeros: no distribution, never fixed
    for (let k = 0; k < size && block; k += nX) if (block.subarray(k, k + nX).every((p) => p === 0)) block = null;
    for (let o = size; o < minorP.length && block; o += size) {
      for (let i = 0; i < size; i++) {
        // NaN never equals itself, so a NaN-filled block is never fixed; 0 and -0 are equal (zeros are dropped)
        if (minorP[o + i] !== block[i]) {
          block = null;
          break;
        }
      }
    }
    found.set(problem, block);
  }
  return block ?? undefined;
}
