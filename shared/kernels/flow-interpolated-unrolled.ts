// The interpolated flow of flow-interpolated.ts with LatticeInterpolator.place (interpolate.ts) inlined,
// generated for one game's sizes (nX, nU, nU0): the loops over x, x', u, u0 and the prefix coordinates are
// unrolled, as flow-unrolled.ts does for the nearest scheme. Same floating-point operations in the same order:
//   mu'(y) = (0 + m_0 Pbar_0y) + ...,  Pbar_xy = (0 + pi_x0 P_x0y) + ...   (flow-unrolled.ts's sums)
//   s_m = ((0 + mu'_0) + ... + mu'_m) * M, clamp, floor, snap; the cell of v_0 from the same integer table.
// The one difference is the sort of the fractional parts: a compare-exchange network here, insertion sort
// there. They differ only in the order among equal fractional parts, which changes no output (interpolate.ts,
// "Validity and determinism": a vertex of weight > 0 raises a threshold set; weight-0 slots hold v_0's cell;
// cell indices are exact integer sums), so the tables are bitwise equal; a test checks it on every game.
// A mean field that is not a distribution goes to place() itself, which throws its own error.

import type { Problem } from '../problem.ts';
import { range } from './codegen.ts';
import type { InterpolatedNext } from './flow-interpolated.ts';
import type { LatticeInterpolator } from './interpolate.ts';
import { flowMuNextLines, flowRowLocals } from './flow-unrolled.ts';

export type UnrolledInterpolatedFlow = (
  problem: Problem,
  minorPolicy: Float64Array,
  next: InterpolatedNext,
  placement: LatticeInterpolator,
  from: number,
  to: number,
) => void;

const cache = new Map<string, UnrolledInterpolatedFlow>();

/** The generated flow for these sizes, or undefined where the nearest scheme has no unrolled flow either. */
export function unrolledInterpolatedFlow(nX: number, nU: number, nU0: number): UnrolledInterpolatedFlow | undefined {
  if (nX * nU * nX > 128 || nU0 > 8) return undefined;
  const key = `${nX}/${nU}/${nU0}`;
  let fn = cache.get(key);
  if (!fn) {
    fn = new Function(generate(nX, nU, nU0))() as UnrolledInterpolatedFlow;
    cache.set(key, fn);
  }
  return fn;
}

/** Compare-exchange pairs sorting d entries (odd-even transposition: d rounds), descending by f. */
function network(d: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let round = 0; round < d; round++) for (let i = round & 1; i + 1 < d; i += 2) pairs.push([i, i + 1]);
  return pairs;
}

function generate(nX: number, nU: number, nU0: number): string {
  const L: string[] = [];
  const d = nX - 1;
  const ms = range(d);
  L.push(`return function interpolatedFlowUnrolled(problem, minorPolicy, next, placement, from, to) {`);
  L.push(`const rows = problem.rows, cells = problem.cells, minorP = problem.minorP, points = problem.grid.points;`);
  L.push(`const nextVertex = next.nextVertex, nextWeight = next.nextWeight;`);
  L.push(`const M = placement.M, W = M + 1, snap = placement.snap, comp = placement.comp, last = placement.cells - 1;`);
  L.push(`const muNext = new Float64Array(${nX});`);
  L.push(`let r = from % rows, c = r % cells;`);
  L.push(`for (let i = from; i < to; i++) {`);
  L.push(...flowRowLocals(nX, nU));
  for (const u0 of range(nU0)) {
    L.push(`place: { const kb = (r * ${nU0} + ${u0}) * ${nX * nU * nX}, out = (i * ${nU0} + ${u0}) * ${nX};`);
    L.push(...flowMuNextLines(nX, nU, (y) => `const mu${y}`));
    // prefix coordinates (interpolate.ts: the loop over m of place())
    L.push(`let cum = 0, idx = last, s, b, f;`);
    for (const m of ms) {
      L.push(`cum += mu${m}; s = cum * M;`);
      L.push(`if (!(s > -1 && s < M + 1)) { ${range(nX).map((y) => `muNext[${y}] = mu${y};`).join(' ')} placement.place(muNext, 0, nextVertex, nextWeight, out); break place; }`);
      L.push(`if (s < 0) s = 0; else if (s > M) s = M;`);
      L.push(`b = Math.floor(s); f = s - b;`);
      L.push(`if (f <= snap) f = 0; else if (f >= 1 - snap) { b++; f = 0; }`);
      L.push(`idx -= comp[${nX - m - 1} * W + M - b];`);
      // the cell step of raising s_m; read only when f > 0, i.e. b < M
      L.push(`let f${m} = f, g${m} = f > 0 ? comp[${nX - m - 2} * W + M - b] : 0;`);
    }
    for (const [p, q] of network(d)) {
      L.push(`if (f${p} < f${q}) { const tf = f${p}, tg = g${p}; f${p} = f${q}; g${p} = g${q}; f${q} = tf; g${q} = tg; }`);
    }
    // vertices v_0..v_d and weights (interpolate.ts: the loop over j of place())
    L.push(`const idx0 = idx; let hi = 1;`);
    L.push(`nextVertex[out] = idx0;`);
    for (const m of ms) {
      const j = m + 1;
      L.push(`nextWeight[out + ${j - 1}] = hi - f${m};`);
      if (j > 1) L.push(`if (hi === f${m}) nextVertex[out + ${j - 1}] = idx0;`);
      L.push(`hi = f${m};`);
      const rest = range(d + 1 - j).map((k) => `nextVertex[out + ${j + k}] = idx0; nextWeight[out + ${j + k}] = 0;`);
      L.push(`if (hi === 0) { ${rest.join(' ')} break place; }`);
      L.push(`idx += g${m}; nextVertex[out + ${j}] = idx;`);
    }
    L.push(`nextWeight[out + ${d}] = hi; }`);
  }
  L.push(`if (++c === cells) c = 0;`);
  L.push(`if (++r === rows) { r = 0; c = 0; }`);
  L.push(`}`);
  L.push(`};`);
  return L.join('\n');
}
