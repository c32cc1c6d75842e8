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
