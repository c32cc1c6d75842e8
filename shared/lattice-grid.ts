// The integer simplex lattice {k / M : k in N^nX, sum_i k_i = M} and its L1 projection (a MeanFieldGrid of
// kind 'lattice'; the reference's midpoint grid is in grid.ts).
//
// Cells and points. The cells are the C(M + nX - 1, nX - 1) lattice points, numbered in lexicographic order of
// (k_0, ..., k_{nX-2}), first coordinate slowest; k_{nX-1} = M - sum of the others. Every coordinate of a point,
// the last one included, is the float division points[c * nX + i] = k_i / M, so each coordinate is the correctly
// rounded value of k_i / M (points on the faces and the vertices are exact: 0 and 1). The coordinates of a point
// therefore sum to 1 only up to rounding, unlike the midpoint grid, whose last coordinate is 1 - (float sum).
//
// Ranking. N(p, R) = C(R + p - 1, p - 1) is the number of ways to write R as p ordered non-negative parts. With R
// the budget left before coordinate i and p = nX - i parts still to fill, the points that agree with k before i
// and have a smaller k_i number N(p, R) - N(p, R - k_i) (those with k_i >= v are the compositions of R - v), so
//   cellIndex(k) = sum_{i < nX-1} N(nX - i, R_i) - N(nX - i, R_i - k_i),   R_0 = M, R_{i+1} = R_i - k_i,
// O(nX) with an exact integer table of N (every entry is at most the cell count, so int32 holds them). The
// inverse (cell -> k, coordinates()) takes the largest k_i whose prefix count still fits, by binary search.
// Sizes with more than LATTICE_MAX_CELLS = 50 million cells (< 2^31 - 1, so cell indices stay int32 in the
// solver's nextCell tables) are refused with a RangeError.
//
// Projection. proj(mu) = argmin_c sum_i |mu_i - p_c,i| (float sum in index order, as distance()), ties to the
// lowest cell index: the same rule as the midpoint grid's and as projectByScan. With q_i = M mu_i the scaled
// distance is G(k) = sum_i |q_i - k_i|, a separable convex function of the integer vector k under sum k = M.
// Write f_i(k_i) = |q_i - k_i| as f_i(0) plus its unit increments: -1 for each of the first floor(q_i) units,
// then 1 - 2 frac(q_i) for the next one, then +1 for every further one (for q_i < 0: +1 from the start, i.e.
// floor 0 and frac 0: a negative entry is not clamped, its distance to every k_i >= 0 is exact). The increments
// of each coordinate are non-decreasing, so a point k is a choice of M increments, prefix-closed per coordinate,
// and G(k) - const is their sum. Hence (exchange argument) the cheapest choice takes the M smallest increments
// overall: all the -1s (k_i = floor q_i, S = sum of the floors) and then the D = M - S cheapest middle increments
// 1 - 2 frac, i.e. +1 on the D coordinates with the largest fractional parts: any other choice can be improved
// by swapping a unit it takes for a cheaper one it leaves, which never increases G. That is the greedy rounding,
// O(nX log nX) for the sort.
//
// Near-ties. Compare any choice with the greedy one by pairing the increments it adds with those it drops: each
// pair costs (added) - (dropped) >= 0. A pair that drops a -1 costs at least 2 (1 - f_(D+1)); a pair that adds a
// +1 costs at least 2 f_(D) (f_(j) is the j-th largest fractional part); a pair of middle increments costs
// 2 (f_out - f_in). For mu on the simplex (up to rounding), sum frac = D exactly, which forces
// f_(D) >= 1/nX and f_(D+1) <= 1 - 1/nX: so every point within a small gap of the optimum lies in the box
// {floor q, floor q + 1} with exactly D ups, and differs from the greedy one only by swapping ups for downs
// whose fractional parts are within that gap of each other, i.e. only among coordinates whose fractional part
// is within TOL of the cut-off [f_(D+1), f_(D)]. project() enumerates those assignments (usually one; two for
// a midpoint between two lattice points; at most C(nX, D) for the barycentre), evaluates each candidate's float
// distance with distance() exactly as the scan does and keeps the smallest, then the lowest index. Every other
// cell is worse by at least 2 TOL / M in exact arithmetic, far above the float error of a distance
// (about nX * 1e-16 * sum of the terms), so it can neither win nor tie in the scan. TOL = 1e-9 + 1e-12 M nX
// also covers the rounding of q_i = M mu_i (relative 1e-16), which perturbs G by at most M nX 1e-16 anywhere.
//
// Inputs off the simplex. If the coordinates' mass error e = M (sum mu - 1 + negative mass) satisfies |e| < 1/2
// (true for rounding-level errors and tiny negative entries, so for every distribution the solver, the
// validated kernels and the N-player simulation form), then D is in [0, nX] and the conditions
// f_(D) > TOL, f_(D+1) < 1 - TOL above still hold (with 1/(2 nX) in place of 1/nX), so the fast path applies
// unchanged: nothing is renormalised or clamped, the L1 problem is solved exactly for the given mu. Inputs where
// they fail (far off the simplex, entries outside (-1/M, 1 + 1/M), NaN) fall back to projectByScan, which is
// the definition. Property tests compare project() with the scan on random points, lattice points, midpoints
// between lattice points (exact ties), faces and vertices.

import { l1Distance, nearestByScan, type MeanFieldGrid } from './grid.ts';

/** The largest lattice the grid builds (cells); below 2^31 - 1 so cell indices fit the int32 tables. */
export const LATTICE_MAX_CELLS = 50_000_000;

export class LatticeGrid implements MeanFieldGrid {
  readonly kind = 'lattice' as const;
  readonly nX: number;
  readonly M: number;
  readonly cells: number;
  /** points[c * nX + i] = k_i / M for the lattice point k of cell c (float division, the last one too). */
  readonly points: Float64Array;
  /** comp[(p - 3) * (M + 1) + R] = N(p, R) = C(R + p - 1, p - 1) for p = 3..nX (p = 1, 2 have closed forms). */
  private readonly comp: Int32Array;
  /** Fractional parts within TOL of the cut-off are near-ties (see the header). */
  private readonly tol: number;
  private readonly k: Int32Array;
  private readonly frac: Float64Array;
  private readonly order: Int32Array;
  private readonly comb: Int32Array;

  constructor(nX: number, M: number) {
    if (!Number.isInteger(nX) || nX < 2) throw new RangeError(`lattice grid: nX must be an integer >= 2, got ${nX}`);
    if (!Number.isInteger(M) || M < 1) throw new RangeError(`lattice grid: bins M must be a positive integer, got ${M}`);
    const cells = latticeCells(nX, M);
    if (cells > LATTICE_MAX_CELLS || cells * nX > 2 ** 31 - 1) {
      throw new RangeError(
        `lattice grid: nX = ${nX}, M = ${M} has C(M + nX - 1, nX - 1) ${cells > LATTICE_MAX_CELLS ? `> ${LATTICE_MAX_CELLS}` : `= ${cells}`} cells` +
          ` (at most ${LATTICE_MAX_CELLS} cells and 2^31 - 1 point coordinates); use fewer bins`,
      );
    }
    this.nX = nX;
    this.M = M;
    this.cells = cells;
    this.tol = 1e-9 + 1e-12 * M * nX;
    this.k = new Int32Array(nX);
    this.frac = new Float64Array(nX);
    this.order = new Int32Array(nX);
    this.comb = new Int32Array(nX);

    // N(p, R) = N(p, R - 1) + N(p - 1, R), N(p, 0) = 1, N(2, R) = R + 1; exact, every entry <= cells
    const W = M + 1;
    const comp = new Int32Array(Math.max(0, nX - 2) * W);
    for (let p = 3; p <= nX; p++) {
      const row = (p - 3) * W;
      const below = (p - 4) * W;
      comp[row] = 1;
      for (let R = 1; R <= M; R++) comp[row + R] = comp[row + R - 1] + (p === 3 ? R + 1 : comp[below + R]);
    }
    this.comp = comp;
    if (this.count(nX, M) !== cells) throw new Error(`lattice grid: internal error, count table disagrees with C(M + nX - 1, nX - 1)`);

    // points in lexicographic order of (k_0..k_{nX-2}): an odometer whose digits sum to at most M
    const pts = new Float64Array(cells * nX);
    const d = nX - 1;
    const k = new Int32Array(d);
    let sum = 0;
    for (let c = 0; c < cells; c++) {
      const o = c * nX;
      for (let i = 0; i < d; i++) pts[o + i] = k[i] / M;
      pts[o + d] = (M - sum) / M;
      let i = d - 1;
      while (i >= 0 && sum === M) {
        sum -= k[i];
        k[i] = 0;
        i--;
      }
      if (i >= 0) {
        k[i]++;
        sum++;
      }
    }
    this.points = pts;
  }

  /** N(p, R): the compositions of R into p ordered non-negative parts, C(R + p - 1, p - 1). */
  private count(p: number, R: number): number {
    if (p === 1) return 1;
    if (p === 2) return R + 1;
    return this.comp[(p - 3) * (this.M + 1) + R];
  }

  /**
   * The cell of lattice point k (k_{nX-1} = M - sum of the others is implied and not read), or -1 when
   * k_0..k_{nX-2} are not non-negative integers summing to at most M. O(nX).
   */
  cellIndex(k: ArrayLike<number>): number {
    const nX = this.nX;
    let R = this.M;
    let idx = 0;
    for (let i = 0; i < nX - 1; i++) {
      const ki = k[i];
      if (!(ki >= 0 && ki <= R) || Math.floor(ki) !== ki) return -1;
      const p = nX - i;
      idx += this.count(p, R) - this.count(p, R - ki);
      R -= ki;
    }
    return idx;
  }

  /** cellIndex for a k known to be a lattice point (the projection's candidates). */
  private rank(k: Int32Array): number {
    const nX = this.nX;
    const comp = this.comp;
    const W = this.M + 1;
    let R = this.M;
    let idx = 0;
    // p = nX - i parts from coordinate i on; rows p >= 3 come from the table, p = 2 is R + 1
    for (let i = 0; i < nX - 2; i++) {
      const row = (nX - i - 3) * W;
      idx += comp[row + R] - comp[row + R - k[i]];
      R -= k[i];
    }
    return idx + k[nX - 2];
  }

  /** The lattice point (k_0..k_{nX-1}, summing to M) of cell c: the inverse of cellIndex. */
  coordinates(c: number, out: Int32Array = new Int32Array(this.nX)): Int32Array {
    if (!Number.isInteger(c) || c < 0 || c >= this.cells) throw new RangeError(`lattice grid: no cell ${c} (cells 0..${this.cells - 1})`);
    const nX = this.nX;
    let R = this.M;
    let rest = c;
    for (let i = 0; i < nX - 1; i++) {
      const p = nX - i;
      const all = this.count(p, R);
      // the largest v with (points of this prefix with k_i < v) = all - N(p, R - v) <= rest
      let lo = 0;
      let hi = R;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (all - this.count(p, R - mid) <= rest) lo = mid;
        else hi = mid - 1;
      }
      out[i] = lo;
      rest -= all - this.count(p, R - lo);
      R -= lo;
    }
    out[nX - 1] = R;
    return out;
  }

  /** Float L1 distance from mu[off..off+nX) to cell c, summed in index order (as the scan). */
  distance(mu: ArrayLike<number>, off: number, c: number): number {
    return l1Distance(this.points, this.nX, mu, off, c);
  }

  /** proj(mu): the nearest lattice point in L1, ties by float distance then lowest index (see the header). */
  project(mu: ArrayLike<number>, off = 0): number {
    const nX = this.nX;
    const M = this.M;
    const tol = this.tol;
    const k = this.k;
    const f = this.frac;
    let S = 0;
    for (let i = 0; i < nX; i++) {
      const q = mu[off + i] * M;
      // also rejects NaN; beyond this range the float error of a distance is no longer small against TOL / M
      if (!(q > -1 && q < M + 1)) return this.projectByScan(mu, off);
      if (q > 0) {
        const b = Math.floor(q);
        k[i] = b;
        f[i] = q - b;
        S += b;
      } else {
        k[i] = 0;
        f[i] = 0;
      }
    }
    const D = M - S;
    if (D < 0 || D > nX) return this.projectByScan(mu, off);
    const order = this.order;
    sortByFracDesc(order, f, nX);
    if (D === 0) {
      // dropping a -1 for the best middle increment costs 2 (1 - f_(1))
      if (f[order[0]] >= 1 - tol) return this.projectByScan(mu, off);
      return this.rank(k);
    }
    const hi = f[order[D - 1]];
    const lo = D < nX ? f[order[D]] : -Infinity;
    // adding a +1 costs at least 2 f_(D), dropping a -1 at least 2 (1 - f_(D+1)): both must be clear of 0
    if (hi <= tol || lo >= 1 - tol) return this.projectByScan(mu, off);
    for (let j = 0; j < D; j++) k[order[j]]++;
    if (hi - lo > tol) return this.rank(k);

    // near-tie at the cut-off: ups order[from..D) and downs order[D..to) may trade places
    let from = D;
    while (from > 0 && f[order[from - 1]] <= lo + tol) from--;
    let to = D;
    while (to < nX && f[order[to]] >= hi - tol) to++;
    const m = to - from;
    const a = D - from;
    for (let j = from; j < D; j++) k[order[j]]--;
    const comb = this.comb;
    for (let j = 0; j < a; j++) comb[j] = j;
    let bestCell = -1;
    let bestDist = Infinity;
    for (;;) {
      for (let j = 0; j < a; j++) k[order[from + comb[j]]]++;
      const c = this.rank(k);
      const dist = this.distance(mu, off, c);
      if (dist < bestDist || (dist === bestDist && c < bestCell)) {
        bestDist = dist;
        bestCell = c;
      }
      for (let j = 0; j < a; j++) k[order[from + comb[j]]]--;
      // next a-subset of 0..m-1 in lexicographic order
      let j = a - 1;
      while (j >= 0 && comb[j] === m - a + j) j--;
      if (j < 0) break;
      comb[j]++;
      for (let i = j + 1; i < a; i++) comb[i] = comb[i - 1] + 1;
    }
    // every distance NaN cannot happen here (finite inputs), but keep the scan's answer shape
    return bestCell < 0 ? this.projectByScan(mu, off) : bestCell;
  }

  /** The brute-force scan over all cells: O(cells), strict < so the lowest index wins ties. Tests only. */
  projectByScan(mu: ArrayLike<number>, off = 0): number {
    return nearestByScan(this, mu, off);
  }

  /** A view of cell c's point (length nX). */
  point(c: number): Float64Array {
    return this.points.subarray(c * this.nX, (c + 1) * this.nX);
  }
}

/**
 * C(M + nX - 1, nX - 1), the number of lattice points, exactly; any value above LATTICE_MAX_CELLS is returned
 * as LATTICE_MAX_CELLS + 1 (the product stops there, so every intermediate stays an exact integer below 2^53).
 */
export function latticeCells(nX: number, M: number): number {
  // cells >= M + 1 and >= nX for M >= 1: refuse those first so the product below stays small
  if (M + 1 > LATTICE_MAX_CELLS || nX > LATTICE_MAX_CELLS) return LATTICE_MAX_CELLS + 1;
  let c = 1;
  for (let j = 1; j < nX; j++) {
    // c = C(M + j - 1, j - 1) <= LATTICE_MAX_CELLS and M + j <= 1e8, so c * (M + j) < 2^53; the division is exact
    c = (c * (M + j)) / j;
    if (c > LATTICE_MAX_CELLS) return LATTICE_MAX_CELLS + 1;
  }
  return c;
}

/**
 * order[0..n) := 0..n-1 by f descending, equal f by index descending (a fixed rule). Both users are blind to
 * the order among equal f, so the rule is a convention, not a behaviour:
 * - project() (above): what it reads of the order is the value-defined sets {f > lo + tol} (always up),
 *   the window {f in [hi - tol, lo + tol]} around the cut-off (hi, lo = the D-th and (D+1)-th largest f) and
 *   the count of window members among the first D; coordinates of equal f are both inside or both outside
 *   the window. It then enumerates every subset of the window of that size and keeps the least (distance,
 *   cell) pair, a total order: the same cell whatever the order of the ties (the scan comparisons of
 *   test/lattice-grid.test.ts include exact ties: midpoints, half-lattice points, the barycentre).
 * - LatticeInterpolator.place (kernels/interpolate.ts, "Validity and determinism"): a vertex of weight > 0
 *   raises a threshold set, weight-0 slots hold v_0's cell.
 */
export function sortByFracDesc(order: Int32Array, f: Float64Array, n: number): void {
  if (n > 16) {
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((x, y) => f[y] - f[x] || y - x);
    return;
  }
  // small n: insertion in descending index order, stable, so ties keep the higher index first
  for (let i = 0; i < n; i++) {
    const v = n - 1 - i;
    const fv = f[v];
    let j = i - 1;
    while (j >= 0 && f[order[j]] < fv) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = v;
  }
}
