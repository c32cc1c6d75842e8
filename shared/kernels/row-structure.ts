// What the generated backward step (backward-unrolled.ts) can be specialised to, found once per problem:
// 1. games whose minor kernel P(x' | x, u, x0, u0, mu) does not depend on the row (x0, mu), e.g. Buffet, where a
// minor player stays or walks whatever the crowd: their problem's minorP repeats one block of nU0 * nX * nU * nX
// numbers in every row. The step can then take the numbers as constants (no loads) and drop the exact-zero
// ones. Found by comparing every row with the first.
// 2. games whose major kernel rows all have the same number of nonzero entries (SIS, Advertisement, Cyber):
// the loop over the support of P0 can be unrolled.
// Only the rows the problem keeps are looked at (a cluster node's shard: the others were never written), so a
// node finds what a whole problem finds on its rows. Either choice gives the plain loop's bits
// (docs/backward-step.md); it only decides the speed.

import type { Problem } from '../problem.ts';

const found = new WeakMap<Problem, Float64Array | null>();
const widths = new WeakMap<Problem, number>();

/** Widest support the step unrolls. */
const MAX_SUPPORT = 8;

/** The kept rows as ranges [a, b) of row indices (rows r = x0 * cells + c for the kept cells c). */
function keptRows(problem: Problem): Array<[number, number]> {
  const [from, to] = problem.keptCells ?? [0, problem.cells];
  const out: Array<[number, number]> = [];
  if (to > from) for (let x0 = 0; x0 < problem.game.nX0; x0++) out.push([x0 * problem.cells + from, x0 * problem.cells + to]);
  return out;
}

/** majorWidth when every kept row's P0 support has that many entries (and it is small), else undefined. */
export function fullSupport(problem: Problem): number | undefined {
  let w = widths.get(problem);
  if (w === undefined) {
    const { majorCount, majorWidth } = problem;
    const nU0 = problem.game.nU0;
    const ranges = keptRows(problem);
    const every = ranges.length > 0 && ranges.every(([a, b]) => majorCount.subarray(a * nU0, b * nU0).every((c) => c === majorWidth));
    w = majorWidth <= MAX_SUPPORT && every ? majorWidth : 0;
    widths.set(problem, w);
  }
  return w || undefined;
}

/** The block every kept row of problem.minorP repeats, or undefined when some row differs (or none is kept). */
export function fixedMinorBlock(problem: Problem): Float64Array | undefined {
  let block = found.get(problem);
  if (block === undefined) {
    const { nX, nU, nU0 } = problem.game;
    const { minorP } = problem;
    const size = nU0 * nX * nU * nX;
    const ranges = keptRows(problem);
    block = ranges.length > 0 ? minorP.slice(ranges[0][0] * size, (ranges[0][0] + 1) * size) : null;
    // a row of zeros is no distribution: never fixed
    for (let k = 0; k < size && block; k += nX) if (block.subarray(k, k + nX).every((p) => p === 0)) block = null;
    for (const [a, b] of ranges) {
      for (let o = a * size; o < b * size && block; o += size) {
        for (let i = 0; i < size; i++) {
          // NaN never equals itself, so a NaN-filled block is never fixed; 0 and -0 are equal (zeros are dropped)
          if (minorP[o + i] !== block[i]) {
            block = null;
            break;
          }
        }
      }
    }
    found.set(problem, block);
  }
  return block ?? undefined;
}
