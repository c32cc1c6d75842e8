// The identity of a built Problem, so that a thread or node that rebuilds it from the spec can prove it got
// the same tables as the coordinator.

import type { Problem } from './problem.ts';

/**
 * A 64-bit hash (two 32-bit lanes, hex) of everything a kernel reads from a Problem: sizes, grid points,
 * kernel and reward tables. Equal Problems give equal fingerprints; it costs about a millisecond per 4 MB.
 */
export function problemFingerprint(problem: Problem): string {
  const { nX, nU, nX0, nU0, T } = problem.game;
  let a = 0x811c9dc5 | 0;
  let b = 0x6a09e667 | 0;
  const word = (v: number) => {
    a = Math.imul(a ^ v, 0x01000193);
    b = Math.imul((b << 5) | (b >>> 27), 0x9e3779b1) ^ v;
  };
  for (const v of [nX, nU, nX0, nU0, T, problem.cells, problem.rows, problem.majorWidth, problem.initialCell]) word(v);
  if (problem.projection === 'interpolate') word(0x1e7e); // the tables' layout and kernels differ; nearest hashes as before
  const arrays: ArrayBufferView[] = [
    problem.grid.points,
    problem.minorP,
    problem.minorR,
    problem.majorR,
    problem.majorCount,
    problem.majorTo,
    problem.majorP,
  ];
  for (const arr of arrays) {
    const w = new Int32Array(arr.buffer, arr.byteOffset, arr.byteLength >> 2);
    word(w.length);
    for (let i = 0; i < w.length; i++) {
      const v = w[i];
      a = Math.imul(a ^ v, 0x01000193);
      b = Math.imul((b << 5) | (b >>> 27), 0x9e3779b1) ^ v;
    }
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}
