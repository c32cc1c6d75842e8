// The flow of flow.ts, generated with the loops over x, x', u and u0 unrolled for one game's sizes. Same
// operations in the same order as the loops (Pbar = (0 + pi_0 P_0) + pi_1 P_1 ..., mu' = (0 + mu_0 Pbar_0) +
// ...), so the next cells are bitwise equal; a test checks that on random policies.

import type { Problem } from '../problem.ts';
import { chain, range } from './codegen.ts';

export type UnrolledFlow = (problem: Problem, minorPolicy: Float64Array, nextCell: Int32Array, from: number, to: number) => void;

const cache = new Map<string, UnrolledFlow>();

export function unrolledFlow(nX: number, nU: number, nU0: number): UnrolledFlow | undefined {
  if (nX * nU * nX > 128 || nU0 > 8) return undefined;
  const key = `${nX}/${nU}/${nU0}`;
  let fn = cache.get(key);
  if (!fn) {
    fn = new Function(generate(nX, nU, nU0))() as UnrolledFlow;
    cache.set(key, fn);
  }
  return fn;
}

function generate(nX: number, nU: number, nU0: number): string {
  const L: string[] = [];
  const block = nX * nU * nX;
  L.push(`return function flowUnrolled(problem, minorPolicy, nextCell, from, to) {`);
  L.push(`const rows = problem.rows, cells = problem.cells, minorP = problem.minorP, grid = problem.grid, points = grid.points;`);
  L.push(`const muNext = new Float64Array(${nX});`);
  L.push(`let r = from % rows, c = r % cells;`);
  L.push(`for (let i = from; i < to; i++) {`);
  L.push(...flowRowLocals(nX, nU));
  for (const u0 of range(nU0)) {
    L.push(`{ const kb = (r * ${nU0} + ${u0}) * ${block};`);
    L.push(...flowMuNextLines(nX, nU));
    L.push(`nextCell[i * ${nU0} + ${u0}] = grid.project(muNext, 0); }`);
  }
  L.push(`if (++c === cells) c = 0;`);
  L.push(`if (++r === rows) { r = 0; c = 0; }`);
  L.push(`}`);
  L.push(`};`);
  return L.join('\n');
}

/** Locals m<x> = the point of the row's cell c, pi<x>_<u> = the minor policy of flat row i (pol, pt too). */
export function flowRowLocals(nX: number, nU: number): string[] {
  const L = [`const pol = i * ${nX * nU}, pt = c * ${nX};`];
  for (const x of range(nX)) L.push(`const m${x} = points[pt + ${x}];`);
  for (const x of range(nX)) for (const u of range(nU)) L.push(`const pi${x}_${u} = minorPolicy[pol + ${x * nU + u}];`);
  return L;
}

/**
 * `<target(y)> = mu'(y);` in the loops' order, from locals m<x> (the cell's point), pi<x>_<u> (the policy row)
 * and kb (the kernel block of (row, u0)); also used by flow-interpolated-unrolled.ts.
 */
export function flowMuNextLines(nX: number, nU: number, target: (y: number) => string = (y) => `muNext[${y}]`): string[] {
  const xs = range(nX);
  const us = range(nU);
  return xs.map((y) => {
    const terms = xs.map((x) => `m${x} * ${chain(us.map((u) => `pi${x}_${u} * minorP[kb + ${(x * nU + u) * nX + y}]`))}`);
    return `${target(y)} = ${chain(terms)};`;
  });
}
