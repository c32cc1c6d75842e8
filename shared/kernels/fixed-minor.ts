// Games whose minor kernel P(x' | x, u, x0, u0, mu) does not depend on the row (x0, mu), e.g. Buffet, where a
// minor player stays or walks whatever the crowd: their problem's minorP repeats one block of nU0 * nX * nU * nX
// numbers in every row. The generated backward step can then take the numbers as constants (no loads) and drop
// the exact-zero ones (backward-unrolled.ts). Found by comparing every row with the first, once per problem.

import type { Problem } from '../problem.ts';

const found = new WeakMap<Problem, Float64Array | null>();

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
