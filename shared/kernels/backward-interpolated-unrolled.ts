// The interpolated backward step of backward-interpolated.ts, generated with the loops over the vertices,
// x, u, x' and u0 unrolled for one game's sizes (nX, nU, nU0). Same floating-point operations in the same
// order as the generic loop (every sum starts at 0 and adds its terms upwards), so its results are bitwise
// equal; a test checks that. The loop over the support of P0 stays a loop unless every support has the same
// size (`support`); a minor kernel shared by every row (`fixed`) is written in as constants, as in
// backward-unrolled.ts (rows with a non-finite A are redone by the caller's redoRow). Two variants: any discount, and a discount of 1 without the multiplications by it; sums
// that end in an accumulation start at their first term (codegen.ts sum()). The Q rows are handed to
// readout.ts's readOutRow through the scratch, so the greedy rule lives in one place.

import type { Problem } from '../problem.ts';
import type { SolverTables } from '../tables.ts';
import { discounted, finiteCheck, minorTerms, range, sum, supportLoop } from './codegen.ts';
import type { Specialisation } from './backward-unrolled.ts';
import type { InterpolatedNext } from './flow-interpolated.ts';
import { readOutRow, type RowQ } from './readout.ts';

export type UnrolledInterpolatedStep = (
  problem: Problem,
  tables: SolverTables,
  next: InterpolatedNext,
  t: number,
  rowFrom: number,
  rowTo: number,
  discount: number,
  slot: number,
  storeQ: boolean,
  q: RowQ,
  redoRow?: (r: number) => void,
) => void;

const cache = new Map<string, UnrolledInterpolatedStep>();

/** The generated step for these sizes and assumptions (backward-unrolled.ts's Specialisation: the same rules). */
export function unrolledInterpolatedBackward(nX: number, nU: number, nU0: number, special: Specialisation = {}): UnrolledInterpolatedStep | undefined {
  if (nX * nU * nX > 128 || nU0 > 8) return undefined;
  const { fixed, support } = special;
  const key = `${nX}/${nU}/${nU0}/${support ?? ''}` + (fixed ? `/${Array.from(fixed, String).join(',')}` : '');
  let fn = cache.get(key);
  if (!fn) {
    const [unit, any] = [true, false].map((u) => new Function('readOutRow', generate(nX, nU, nU0, special, u))(readOutRow) as UnrolledInterpolatedStep);
    fn = (problem, tables, next, t, rowFrom, rowTo, discount, slot, storeQ, q, redoRow) =>
      (discount === 1 ? unit : any)(problem, tables, next, t, rowFrom, rowTo, discount, slot, storeQ, q, redoRow);
    cache.set(key, fn);
  }
  return fn;
}

function generate(nX: number, nU: number, nU0: number, { fixed, support }: Specialisation, unit: boolean): string {
  const L: string[] = [];
  const xs = range(nX);
  const XU = nX * nU;
  L.push(`return function interpolatedBackwardUnrolled(problem, tables, next, t, rowFrom, rowTo, discount, valueSlot, storeQ, q, redoRow) {`);
  L.push(`const rows = problem.rows, cells = problem.cells, minorP = problem.minorP, minorR = problem.minorR;`);
  L.push(`const majorR = problem.majorR, majorCount = problem.majorCount, majorTo = problem.majorTo, majorP = problem.majorP, W = problem.majorWidth;`);
  L.push(`const majorPolicy = tables.majorPolicy, nextVertex = next.nextVertex, nextWeight = next.nextWeight;`);
  L.push(`const minorBR = tables.minorBR, minorEval = tables.minorEval, majorBR = tables.majorBR, majorEval = tables.majorEval;`);
  L.push(`const q0br = q.q0br, q0ev = q.q0ev, qbr = q.qbr, qev = q.qev;`);
  L.push(`const cur = valueSlot, nextRowBase = (cur ^ 1) * rows, curRowBase = cur * rows;`);
  L.push(`for (let r = rowFrom; r < rowTo; r++) {`);
  L.push(`const tr = t * rows + r, pi0 = tr * ${nU0};`);
  for (const xu of range(XU)) L.push(`let qbr${xu} = 0, qev${xu} = 0;`);
  if (fixed) L.push(`let finite = 0;`);
  for (const u0 of range(nU0)) {
    L.push(`{`);
    L.push(`const slot = r * ${nU0} + ${u0}, nb = (tr * ${nU0} + ${u0}) * ${nX}${support ? '' : ', cnt = majorCount[slot]'}, sb = slot * ${support ?? 'W'};`);
    L.push(`const w = majorPolicy[pi0 + ${u0}];`);
    L.push(`const ${xs.map((v) => `c${v} = nextVertex[nb + ${v}], w${v} = nextWeight[nb + ${v}]`).join(', ')};`);
    L.push(`let s0br = 0, s0ev = 0;`);
    const major = (j: string) => [
      `const p = majorP[sb + ${j}], base = nextRowBase + majorTo[sb + ${j}] * cells;`,
      `s0br += p * ${sum(xs.map((v) => `w${v} * majorBR[base + c${v}]`))};`,
      `s0ev += p * ${sum(xs.map((v) => `w${v} * majorEval[base + c${v}]`))};`,
    ];
    const q0 = `q0br[${u0}] = majorR[slot] + ${discounted(unit, 's0br')}; q0ev[${u0}] = majorR[slot] + ${discounted(unit, 's0ev')};`;
    L.push(`if (w === 0) {`);
    L.push(supportLoop(support, (j) => major(j).join(' ')));
    L.push(q0);
    L.push(`} else {`);
    L.push(`let ${xs.map((y) => `abr${y} = 0, aev${y} = 0`).join(', ')};`);
    L.push(supportLoop(support, (j) => [
      ...major(j),
      `const ${xs.map((v) => `vb${v} = (base + c${v}) * ${nX}`).join(', ')};`,
      ...xs.flatMap((y) => [
        `abr${y} += p * ${sum(xs.map((v) => `w${v} * minorBR[vb${v} + ${y}]`))};`,
        `aev${y} += p * ${sum(xs.map((v) => `w${v} * minorEval[vb${v} + ${y}]`))};`,
      ]),
    ].join('\n')));
    L.push(q0);
    L.push(`const kb = slot * ${XU * nX}, rb = slot * ${XU};`);
    if (fixed) L.push(finiteCheck(nX));
    for (const xu of range(XU)) {
      const sbr = minorTerms(fixed, u0, xu, nX, nU, 'abr');
      const sev = minorTerms(fixed, u0, xu, nX, nU, 'aev');
      L.push(`qbr${xu} += w * (minorR[rb + ${xu}] + ${discounted(unit, sum(sbr))});`);
      L.push(`qev${xu} += w * (minorR[rb + ${xu}] + ${discounted(unit, sum(sev))});`);
    }
    L.push(`}`);
    L.push(`}`);
  }
  for (const xu of range(XU)) L.push(`qbr[${xu}] = qbr${xu}; qev[${xu}] = qev${xu};`);
  L.push(`readOutRow(${nX}, ${nU}, ${nU0}, tables, q, r, tr, curRowBase, storeQ);`);
  // some A_u0(x') not finite: the zero terms left out would have mattered (backward-unrolled.ts)
  if (fixed) L.push(`if (finite - finite !== 0) redoRow(r);`);
  L.push(`}`);
  L.push(`};`);
  return L.join('\n');
}
