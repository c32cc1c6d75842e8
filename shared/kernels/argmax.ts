// Greedy action selection shared by the sweeps.
//
// A best response is one-hot on an action maximising Q, ties to the lowest index. Exact ties in exact
// arithmetic (Cyber's two minor actions with the default parameters, symmetric states) show up in floating
// point as differences of a few ulps whose sign depends on summation order. We decide them deliberately:
// an action counts as maximal when Q(a) >= max Q - TIE_TOLERANCE * max(1, |max Q|), and the lowest such
// action wins. TIE_TOLERANCE is far below any difference a game's parameters produce on purpose.
export const TIE_TOLERANCE = 1e-12;

/** Lowest index whose value is within the tie tolerance of the maximum of q[off..off+n). */
export function greedyAction(q: ArrayLike<number>, off: number, n: number, max: number): number {
  const floor = max - TIE_TOLERANCE * Math.max(1, Math.abs(max));
  for (let a = 0; a < n; a++) if (q[off + a] >= floor) return a;
  return 0;
}
