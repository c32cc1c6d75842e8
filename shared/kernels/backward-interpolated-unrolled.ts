// The interpolated backward step of backward-interpolated.ts, generated with the loops over the vertices,
// x, u, x' and u0 unrolled for one game's sizes (nX, nU, nU0). Same floating-point operations in the same
// order as the generic loop (every sum starts at 0 and adds its terms upwards), so its results are bitwise
// equal; a test checks that. The loop over the support of P0 stays a loop unless every support has the same
// size (`support`). Two variants: any discount, and a discount of 1 without the multiplications by it; sums
// that end in an accumulation start at their first term (codegen.ts sum()). The Q rows are handed to
// readout.ts's readOutRow through the scratch, so the greedy rule lives in one place.

import type { Problem } from '../problem.ts';
import type { SolverTables } from '../tables.ts';
import { discounted, range, sum, supportLoop } from './codegen.ts';
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
) => void;

const cache = new Map<string, UnrolledInterpolatedStep>();

/** The generated step for these sizes; `support`: the size of every row's P0 support (row-structure.ts). */
export function unrolledInterpolatedBackward(nX: number, nU: number, nU0: number, support?: number): UnrolledInterpolatedStep | undefined {
  if (nX * nU * nX > 128 || nU0 > 8) return undefined;
  const key = `${nX}/${nU}/${nU0}/${support ?? ''}`;
  let fn = cache.get(key);
  if (!fn) {
    const [unit, any] = [true, false].map((u) => new Function('readOutRow', generate(nX, nU, nU0, support, u))(readOutRow) as UnrolledInterpolatedStep);
    fn = (problem, tables, next, t, rowFrom, rowTo, discount, slot, storeQ, q) =>
      (discount === 1 ? unit : any)(problem, tables, next, t, rowFrom, rowTo, discount, slot, storeQ, q);
    cache.set(key, fn);
  }
  return fn;
}

function generate(nX: number, nU: number, nU0: number, support: number | undefined, unit: boolean): string {
  const L: string[] = [];
  const xs = range(nX);
  const XU = nX * nU;
  L.push(`return function interpolatedBackwardUnrolled(problem, tables, next, t, rowFrom, rowTo, discount, valueSlot, storeQ, q) {`);
  L.push(`const rows = problem.rows, cells = problem.cells, minorP = problem.minorP, minorR = problem.minorR;`);
  L.push(`const majorR = problem.majorR, majorCount = problem.majorCount, majorTo = problem.majorTo, majorP = problem.majorP, W = problem.majorWidth;`);
  L.push(`const majorPolicy = tables.majorPolicy, nextVertex = next.nextVertex, nextWeight = next.nextWeight;`);
  L.push(`const minorBR = tables.minorBR, minorEval = tables.minorEval, majorBR = tables.majorBR, majorEval = tables.majorEval;`);
  L.push(`const q0br = q.q0br, q0ev = q.q0ev, qbr = q.qbr, qev = q.qev;`);
  L.push(`const cur = valueSlot, nextRowBase = (cur ^ 1) * rows, curRowBase = cur * rows;`);
  L.push(`for (let r = rowFrom; r < rowTo; r++) {`);
  L.push(`const tr = t * rows + r, pi0 = tr * ${nU0};`);
  for (const xu of range(XU)) L.push(`let qbr${xu} = 0, qev${xu} = 0;`);
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
    for (const xu of range(XU)) {
      const sbr = xs.map((y) => `minorP[kb + ${xu * nX + y}] * abr${y}`);
      const sev = xs.map((y) => `minorP[kb + ${xu * nX + y}] * aev${y}`);
      L.push(`qbr${xu} += w * (minorR[rb + ${xu}] + ${discounted(unit, sum(sbr))});`);
      L.push(`qev${xu} += w * (minorR[rb + ${xu}] + ${discounted(unit, sum(sev))});`);
    }
    L.push(`}`);
    L.push(`}`);
  }
  for (const xu of range(XU)) L.push(`qbr[${xu}] = qbr${xu}; qev[${xu}] = qev${xu};`);
  L.push(`readOutRow(${nX}, ${nU}, ${nU0}, tables, q, r, tr, curRowBase, storeQ);`);
  L.push(`}`);
  L.push(`};`);
  return L.join('\n');
}
