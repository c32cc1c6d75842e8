// Greedy action selection shared by the sweeps. A best response is one-hot on an action maximising Q; the
// two players break ties differently (docs/ties.md):
//
// - Major player: the first maximum, strictly, as the reference's `np.argmax`: action a wins only when
//   Q(a) > Q(b) for every b < a. The major Q is computed in the reference's order of operations, so it is
//   bitwise equal to the reference's, and exact ties (Advertisement M = 20, t = 98, x0 = 1, cell 1: actions
//   0 and 1 both -17/10 in exact arithmetic) are decided by the same last bit the reference sees.
// - Minor player: values within TIE_TOLERANCE of the maximum count as tied and the lowest such action wins.
//   The reference sums the minor Q with numpy's einsum (pairwise over blocks), so the last bit of its Q is
//   not reproducible by a sequential sum; exact ties (Cyber's two minor actions, symmetric states) then show
//   up as differences of a few ulps whose sign depends on summation order, and the tolerance decides them
//   deliberately. TIE_TOLERANCE is far below any difference a game's parameters produce on purpose.
export const TIE_TOLERANCE = 1e-12;

/** Minor player: lowest index whose value is within the tie tolerance of the maximum of q[off..off+n). */
export function greedyAction(q: ArrayLike<number>, off: number, n: number, max: number): number {
  const floor = max - TIE_TOLERANCE * Math.max(1, Math.abs(max));
  for (let a = 0; a < n; a++) if (q[off + a] >= floor) return a;
  return 0;
}

/** Major player: the first index of the maximum of q[off..off+n), no tolerance (numpy's argmax). */
export function firstMaximum(q: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let a = 1; a < n; a++) if (q[off + a] > q[off + best]) best = a;
  return best;
}
