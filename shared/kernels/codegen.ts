// Helpers for the generated (unrolled) kernels: source text for sums in the loops' exact order.

/** "((0 + a) + b) + c": the sequential sum from 0, as the loops compute it. */
export function chain(terms: string[]): string {
  let s = '0';
  for (const t of terms) s = `(${s} + ${t})`;
  return s;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * "(a + b) + c": the loop's sum "((0 + a) + b) + c" without its first addition. Exact where the sum reaches
 * the results only through products, additions, and last an accumulation into a sum started at +0 (a Q or an
 * A sum): the two forms differ at most in the sign of a zero result (0 + -0 is +0, -0 + -0 is -0), products
 * and additions keep that a difference in a zero's sign or lose it, and a sum started at +0 is never -0
 * (x + y is -0 only when both are), so acc + 0 and acc + -0 give the same acc.
 */
export function sum(terms: string[]): string {
  return terms.length === 0 ? '0' : terms.slice(1).reduce((s, t) => `(${s} + ${t})`, terms[0]);
}

/** discount * s, or s alone in the variant for a discount of 1 (1 * s is s, bit for bit). */
export function discounted(unit: boolean, s: string): string {
  return unit ? s : `discount * ${s}`;
}

/**
 * The loop over the P0 support of a slot (count `cnt`), or, where every support has `support` entries, its
 * iterations written out with j a constant: the same operations in the same order.
 */
export function supportLoop(support: number | undefined, body: (j: string) => string): string {
  return support ? range(support).map((j) => `{ ${body(String(j))} }`).join('\n') : `for (let j = 0; j < cnt; j++) { ${body('j')} }`;
}

/**
 * The terms P(x' | x, u) * A(x') of the minor Q sum of (u0, xu = x * nU + u) for x' = 0 .. nX-1, on the
 * arrays `a` + x' (abr0, ...): read from minorP[kb + ..], or with `fixed` (row-structure.ts) the block's
 * numbers as constants (String(p) reads back to the same double), the exact zeros left out and 1 * A as A.
 */
export function minorTerms(fixed: Float64Array | undefined, u0: number, xu: number, nX: number, nU: number, a: string): string[] {
  const xs = range(nX);
  if (!fixed) return xs.map((y) => `minorP[kb + ${xu * nX + y}] * ${a}${y}`);
  const at = (y: number) => fixed[(u0 * nX * nU + xu) * nX + y];
  return xs.filter((y) => at(y) !== 0).map((y) => (at(y) === 1 ? `${a}${y}` : `(${String(at(y))}) * ${a}${y}`));
}

/** With `fixed`: the sum of a row's A values, not finite when one is (then the row is redone: see callers). */
export function finiteCheck(nX: number): string {
  return `finite += ${range(nX).map((y) => `abr${y} + aev${y}`).join(' + ')};`;
}
