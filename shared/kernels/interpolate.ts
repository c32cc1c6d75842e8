// Barycentric interpolation on the integer simplex lattice (Freudenthal/Kuhn triangulation), the
// `interpolate` alternative to the nearest projection. The lattice and its cell numbering are lattice-grid.ts's:
// points k / M, k in N^nX, sum_i k_i = M, cells in lexicographic order of (k_0..k_{nX-2}).
//
// Prefix coordinates. With q = M mu and d = nX - 1, let s_m = q_0 + ... + q_{m-1} (m = 1..d), s_0 = 0,
// s_nX = M, so k_i = s_{i+1} - s_i. The map k -> s is linear and unimodular: lattice points are exactly the
// integer s of the staircase 0 <= s_1 <= ... <= s_d <= M. Every facet of the staircase (s_1 = 0, s_m = s_{m+1},
// s_d = M) is a hyperplane of the Freudenthal triangulation of R^d (all s_m in Z and all s_m - s_l in Z), so
// the staircase is a union of its simplices and they triangulate the scaled simplex with the lattice points
// as vertices.
//
// The simplex containing s and the barycentric weights. a = floor(s), f = s - a, and an order sigma of the
// prefix coordinates by decreasing f (equal f in decreasing m; the order among equal f changes no output):
//   v_0 = a,   v_j = v_{j-1} + e_sigma(j)                                     (j = 1..d)
//   w_0 = 1 - f_sigma(1),   w_j = f_sigma(j) - f_sigma(j+1),   w_d = f_sigma(d)
// Every w_j >= 0 (also in floats: differences of ordered floats), sum_j w_j = 1 and sum_j w_j v_j = s
// (telescoping), so in the original coordinates sum_j w_j p(c_j) = mu, to rounding. O(nX log nX): the sort.
//
// Validity and determinism. A vertex with w_j > 0 raises exactly the coordinates with f_m >= f_sigma(j) > 0, a
// threshold set whatever the order among equal f. It is a lattice point: if a_m = a_{m+1} then
// s_m <= s_{m+1} gives f_m <= f_{m+1}, so raising s_m raises s_{m+1} too (k_m stays >= 0); if a_d = M then
// f_d = 0 and s_d is not raised (k_d >= 0); a_1 >= 0. Vertices of weight 0 (after equal or zero fractional
// parts) may be off the lattice, so every slot of weight exactly 0 holds the cell of v_0: no cell outside the
// simplex, no cell whose value is not needed (a cluster's halo), and an output that does not depend on how
// equal fractional parts are ordered. w_0 > 0 always (f < 1).
//
// Cell indices, O(1) per vertex. From lattice-grid.ts's ranking with R_i = M - s_i, and N(p, R) = C(R+p-1, p-1)
// (N(p, -1) = 0), the sum telescopes into a separable one:
//   cellIndex(s) = cells - 1 - sum_{m=1..d} N(nX - m + 1, M - 1 - s_m),
// so raising s_m by one adds N(nX - m, M - 1 - s_m) (Pascal's rule).
//
// Rounding. s_m is a float sum, so an exact lattice point can arrive as n - 1e-15. Fractional parts within
// SNAP = 64 nX M eps of 0 or 1 are snapped to the integer (a bias of at most 64 nX eps in mu, the size of the
// rounding itself): a point of the lattice gets exactly one weight 1, and a face keeps its zero weights. s is
// clamped to [0, M] (the flow's mu' is non-negative but may sum to 1 + eps). The last coordinate of mu is not
// read: it is 1 - the others, as for every point of the simplex.

import type { MeanFieldGrid } from '../grid.ts';
import { sortByFracDesc } from '../lattice-grid.ts';

/** Writes, for mu[off..off+nX), nX (cell, weight) pairs at cells/weights[out..out+nX). */
export interface VertexPlacement {
  readonly nX: number;
  place(mu: ArrayLike<number>, off: number, cells: Int32Array, weights: Float64Array, out: number): void;
}

export class LatticeInterpolator implements VertexPlacement {
  readonly nX: number;
  readonly M: number;
  readonly cells: number;
  /** Fractional parts within snap of 0 or 1 are snapped to the integer (see the header). */
  readonly snap: number;
  /** N(p, R) at (p - 1) * (M + 1) + R + 1 for p = 1..nX, R = -1..M - 1 (read by flow-interpolated-unrolled.ts). */
  readonly comp: Int32Array;
  private readonly floor: Int32Array;
  private readonly frac: Float64Array;
  private readonly order: Int32Array;

  constructor(grid: MeanFieldGrid) {
    if (grid.kind !== 'lattice') {
      throw new RangeError(`interpolation: the projection 'interpolate' needs the lattice grid, got the ${grid.kind} grid`);
    }
    const { nX, M, cells } = grid;
    this.nX = nX;
    this.M = M;
    this.cells = cells;
    this.snap = 64 * nX * M * Number.EPSILON;
    const W = M + 1;
    // N(1, R) = 1, N(p, R) = N(p, R - 1) + N(p - 1, R); every entry <= cells < 2^31
    const comp = new Int32Array(nX * W);
    for (let p = 1; p <= nX; p++) {
      for (let R = 0; R < M; R++) comp[(p - 1) * W + R + 1] = p === 1 ? 1 : comp[(p - 1) * W + R] + comp[(p - 2) * W + R + 1];
    }
    this.comp = comp;
    const d = nX - 1;
    this.floor = new Int32Array(d);
    this.frac = new Float64Array(d);
    this.order = new Int32Array(d);
  }

  /** The nX vertex cells and barycentric weights of mu[off..off+nX) (see the header), at out..out+nX. */
  place(mu: ArrayLike<number>, off: number, cells: Int32Array, weights: Float64Array, out: number): void {
    const { nX, M, snap, comp, floor: a, frac: f, order } = this;
    const d = nX - 1;
    const W = M + 1;
    let cum = 0;
    let idx = this.cells - 1;
    for (let m = 0; m < d; m++) {
      // prefix coordinate m + 1 of the header lives at index m
      cum += mu[off + m];
      let s = cum * M;
      if (!(s > -1 && s < M + 1)) throw new RangeError(`interpolation: mu = [${Array.from({ length: nX }, (_, i) => mu[off + i]).join(', ')}] is not a distribution`);
      if (s < 0) s = 0;
      else if (s > M) s = M;
      let b = Math.floor(s);
      let r = s - b;
      if (r <= snap) r = 0;
      else if (r >= 1 - snap) {
        b++;
        r = 0;
      }
      a[m] = b;
      f[m] = r;
      idx -= comp[(nX - m - 1) * W + M - b]; // N(nX - (m+1) + 1, M - 1 - b)
    }
    sortByFracDesc(order, f, d);
    const idx0 = idx;
    cells[out] = idx0;
    let hi = 1;
    for (let j = 1; j <= d; j++) {
      const m = order[j - 1];
      const fj = f[m];
      weights[out + j - 1] = hi - fj;
      if (hi === fj && j > 1) cells[out + j - 1] = idx0; // weight 0 (equal fractional parts): repeat v_0
      hi = fj;
      if (fj === 0) {
        // this and every later vertex has weight 0 (and may be off the lattice): repeat v_0
        for (let i = j; i <= d; i++) {
          cells[out + i] = idx0;
          weights[out + i] = 0;
        }
        return;
      }
      idx += comp[(nX - m - 2) * W + M - a[m]]; // N(nX - (m+1), M - 1 - a)
      cells[out + j] = idx;
    }
    weights[out + d] = hi;
  }
}

/** The nearest projection written in the same layout: (proj(mu), 1) and nX - 1 slots (proj(mu), 0). */
export class NearestPlacement implements VertexPlacement {
  readonly nX: number;
  private readonly grid: MeanFieldGrid;
  constructor(grid: MeanFieldGrid) {
    this.grid = grid;
    this.nX = grid.nX;
  }
  place(mu: ArrayLike<number>, off: number, cells: Int32Array, weights: Float64Array, out: number): void {
    const c = this.grid.project(mu, off);
    for (let j = 0; j < this.nX; j++) {
      cells[out + j] = c;
      weights[out + j] = j === 0 ? 1 : 0;
    }
  }
}
