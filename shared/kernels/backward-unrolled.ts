// The backward step of backward.ts, generated with every loop over x, u, x' and u0 unrolled for one game's
// sizes (nX, nU, nU0), and the loops over the P0 support merged. It performs exactly the same floating-point
// operations in the same order as the generic loop (every sum starts at 0 and adds terms upwards; the
// policy value is the first term plus the sequential sum of the rest), so its results are bitwise equal; a
// test checks that on random games. Only the loop over the support of P0 stays a loop.
// With `fixed`, the minor kernel's block shared by every row (fixed-minor.ts), its numbers are written into the
// code as constants (String(p) reads back to the same double) and the terms p * A with p = 0 are left out: for
// a finite A they are +-0, and adding +-0 to a sum that starts at +0 changes no bit (a sum of doubles is -0
// only when both terms are -0). Where some A_u0(x') of a row is not finite, the row is recomputed by the
// caller's `redoRow` (the generic loop), so even then the results are the generic loop's.

import type { Problem } from '../problem.ts';
import { chain, discounted, finiteCheck, minorTerms, range, sum, supportLoop } from './codegen.ts';
import type { SolverTables } from '../tables.ts';
import { TIE_TOLERANCE } from './argmax.ts';

export type UnrolledStep = (
  problem: Problem,
  tables: SolverTables,
  t: number,
  rowFrom: number,
  rowTo: number,
  discount: number,
  slot: number,
  storeQ: boolean,
  redoRow?: (r: number) => void,
) => void;

const cache = new Map<string, UnrolledStep>();

/** Largest nX * nU * nX for which the unrolled code stays small enough to pay off. */
const MAX_BLOCK = 128;

/**
 * What the code may assume of the problem (row-structure.ts): `fixed`, the minor kernel's block shared by every
 * row (the step then needs redoRow); `support`, the size of every row's P0 support (majorWidth).
 */
export interface Specialisation {
  fixed?: Float64Array;
  support?: number;
}

/** The generated step for these sizes and assumptions. */
export function unrolledBackward(nX: number, nU: number, nU0: number, special: Specialisation = {}): UnrolledStep | undefined {
  if (nX * nU * nX > MAX_BLOCK || nU0 > 8) return undefined;
  const { fixed, support } = special;
  const key = `${nX}/${nU}/${nU0}/${support ?? ''}` + (fixed ? `/${Array.from(fixed, String).join(',')}` : '');
  let fn = cache.get(key);
  if (!fn) {
    // a finite horizon's discount is 1, and 1 * s is s: one variant without those multiplications
    const unit = new Function('TIE', generate(nX, nU, nU0, special, true))(TIE_TOLERANCE) as UnrolledStep;
    const any = new Function('TIE', generate(nX, nU, nU0, special, false))(TIE_TOLERANCE) as UnrolledStep;
    fn = (problem, tables, t, rowFrom, rowTo, discount, slot, storeQ, redoRow) =>
      (discount === 1 ? unit : any)(problem, tables, t, rowFrom, rowTo, discount, slot, storeQ, redoRow);
    cache.set(key, fn);
  }
  return fn;
}

function generate(nX: number, nU: number, nU0: number, { fixed, support }: Specialisation, unit: boolean): string {
  const times = (s: string) => discounted(unit, s);
  const overSupport = (body: (j: string) => string) => supportLoop(support, body);
  const L: string[] = [];
  const xs = range(nX);
  const us = range(nU);
  const XU = nX * nU;
  L.push(`return function backwardUnrolled(problem, tables, t, rowFrom, rowTo, discount, valueSlot, storeQ, redoRow) {`);
  L.push(`const rows = problem.rows, cells = problem.cells, minorP = problem.minorP, minorR = problem.minorR;`);
  L.push(`const majorR = problem.majorR, majorCount = problem.majorCount, majorTo = problem.majorTo, majorP = problem.majorP, W = problem.majorWidth;`);
  L.push(`const minorPolicy = tables.minorPolicy, majorPolicy = tables.majorPolicy, nextCell = tables.nextCell;`);
  L.push(`const minorBR = tables.minorBR, minorEval = tables.minorEval, majorBR = tables.majorBR, majorEval = tables.majorEval;`);
  L.push(`const minorGreedy = tables.minorGreedy, majorGreedy = tables.majorGreedy;`);
  L.push(`const minorQbr = tables.minorQbr, minorQev = tables.minorQev, majorQbr = tables.majorQbr, majorQev = tables.majorQev;`);
  L.push(`const cur = valueSlot, nextRowBase = (cur ^ 1) * rows, curRowBase = cur * rows;`);
  L.push(`for (let r = rowFrom; r < rowTo; r++) {`);
  L.push(`const tr = t * rows + r, pi0 = tr * ${nU0};`);
  if (fixed) L.push(`let finite = 0;`);
  for (const xu of range(XU)) L.push(`let qbr${xu} = 0, qev${xu} = 0;`);
  for (const u0 of range(nU0)) {
    L.push(`let q0br${u0}, q0ev${u0};`);
    L.push(`{`);
    L.push(`const slot = r * ${nU0} + ${u0}, cNext = nextCell[tr * ${nU0} + ${u0}]${support ? '' : ', cnt = majorCount[slot]'}, sb = slot * ${support ?? 'W'};`);
    L.push(`const w = majorPolicy[pi0 + ${u0}];`);
    L.push(`let s0br = 0, s0ev = 0;`);
    L.push(`if (w === 0) {`);
    L.push(overSupport((j) => `const p = majorP[sb + ${j}], idx = nextRowBase + majorTo[sb + ${j}] * cells + cNext; s0br += p * majorBR[idx]; s0ev += p * majorEval[idx];`));
    L.push(`q0br${u0} = majorR[slot] + ${times('s0br')}; q0ev${u0} = majorR[slot] + ${times('s0ev')};`);
    L.push(`} else {`);
    L.push(`let ${xs.map((y) => `abr${y} = 0, aev${y} = 0`).join(', ')};`);
    L.push(overSupport((j) => [
      `const p = majorP[sb + ${j}], idx = nextRowBase + majorTo[sb + ${j}] * cells + cNext, vb = idx * ${nX};`,
      `s0br += p * majorBR[idx]; s0ev += p * majorEval[idx];`,
      ...xs.map((y) => `abr${y} += p * minorBR[vb + ${y}]; aev${y} += p * minorEval[vb + ${y}];`),
    ].join('\n')));
    L.push(`q0br${u0} = majorR[slot] + ${times('s0br')}; q0ev${u0} = majorR[slot] + ${times('s0ev')};`);
    L.push(`const kb = slot * ${XU * nX}, rb = slot * ${XU};`);
    if (fixed) L.push(finiteCheck(nX));
    for (const xu of range(XU)) {
      const sbr = minorTerms(fixed, u0, xu, nX, nU, 'abr');
      const sev = minorTerms(fixed, u0, xu, nX, nU, 'aev');
      L.push(`qbr${xu} += w * (minorR[rb + ${xu}] + ${times(sum(sbr))});`);
      L.push(`qev${xu} += w * (minorR[rb + ${xu}] + ${times(sum(sev))});`);
    }
    L.push(`}`);
    L.push(`}`);
  }
  L.push(`if (storeQ) {`);
  for (const u0 of range(nU0)) L.push(`majorQbr[r * ${nU0} + ${u0}] = q0br${u0}; majorQev[r * ${nU0} + ${u0}] = q0ev${u0};`);
  for (const xu of range(XU)) L.push(`minorQbr[r * ${XU} + ${xu}] = qbr${xu}; minorQev[r * ${XU} + ${xu}] = qev${xu};`);
  L.push(`}`);
  // major read-out: the strict first maximum (argmax.ts firstMaximum)
  L.push(`let best0 = q0br0, g0 = 0;`);
  for (const u0 of range(nU0).slice(1)) L.push(`if (q0br${u0} > best0) { best0 = q0br${u0}; g0 = ${u0}; }`);
  L.push(`majorBR[curRowBase + r] = best0; majorGreedy[r] = g0;`);
  L.push(`majorEval[curRowBase + r] = majorPolicy[pi0] * q0ev0 + ${chain(range(nU0).slice(1).map((u0) => `majorPolicy[pi0 + ${u0}] * q0ev${u0}`))};`);
  // minor read-out
  L.push(`const pol = tr * ${XU}, vrow = (curRowBase + r) * ${nX};`);
  for (const x of xs) {
    const q = us.map((u) => `qbr${x * nU + u}`);
    L.push(`{ let best = ${q[0]};`);
    for (const qq of q.slice(1)) L.push(`if (${qq} > best) best = ${qq};`);
    L.push(`minorBR[vrow + ${x}] = best;`);
    L.push(greedy(`minorGreedy[r * ${nX} + ${x}]`, q, 'best'));
    const rest = us.slice(1).map((u) => `minorPolicy[pol + ${x * nU + u}] * qev${x * nU + u}`);
    L.push(`minorEval[vrow + ${x}] = minorPolicy[pol + ${x * nU}] * qev${x * nU} + ${chain(rest)}; }`);
  }
  // some A_u0(x') not finite (finite is then NaN or infinite): the dropped zero terms would have mattered
  if (fixed) L.push(`if (finite - finite !== 0) redoRow(r);`);
  L.push(`}`);
  L.push(`};`);
  return L.join('\n');
}

/** Minor player: lowest index within the tie tolerance of the maximum (argmax.ts greedyAction, unrolled). */
function greedy(target: string, q: string[], best: string): string {
  const parts = [`{ const floor = ${best} - TIE * Math.max(1, Math.abs(${best}));`];
  parts.push(q.map((qq, a) => `${a === 0 ? '' : 'else '}if (${qq} >= floor) ${target} = ${a};`).join(' ') + ` else ${target} = 0; }`);
  return parts.join(' ');
}
