// The midpoint grid (the delta-partition of games.md) and its L1 projection.
//
// Points: the first d = nX - 1 coordinates take the values lin[k] = linspace(1/(2M), 1 - 1/(2M), M)[k]; a
// combination k = (k_0..k_{d-1}) is kept when the float sum lin[k_0] + ... + lin[k_{d-1}] (left to right) is
// <= 1, and the last coordinate is 1 - that sum. Cells are numbered in lexicographic order of k.
//
// proj(mu) = argmin_c sum_i |mu_i - p_c,i| (float sum in index order), ties to the lowest cell index.
//
// Fast projection. With q_i = M mu_i - 1/2 and e_i = k_i - q_i (i < d), the scaled distance is
//   M * dist = sum_i |e_i| + |sum_i e_i|,
// because the last coordinate's error is minus the sum of the others. Rounding k_i away from
// {floor q_i, floor q_i + 1} never helps: one step further out adds 1 to sum|e| and removes at most 1 from
// |sum e|, and at the best box point |sum e| < 1 - 1/(d+1) (exchange argument), so points outside the box are
// worse by a margin far above rounding. So the 2^d corners of the box around q hold every exact and every
// floating-point near minimiser; we evaluate their float distances exactly as the scan does and keep the
// smallest, then the lowest index. Two cases break that argument and widen the box to
// {floor q_i - 2 .. floor q_i + 1}: a coordinate below the first grid value (q_i < 0, so k_i = 0 is forced
// and its error C = -q_i > 0 is fixed: other coordinates may then gain by, or tie at, one more step down,
// since C < d/2 <= 2), and the outer face, where some corners are not cells (the float test dropped them).
// For nX = 4 (Cyber) those windows are scanned inline as well (project3Near); the walk from a corner
// (closure) remains for a floor corner that is not a cell. Property tests compare with the brute-force scan,
// ties included.

/** A finite partition of the simplex over nX states: cell points and the L1 projection onto them. */
export interface MeanFieldGrid {
  readonly kind: GridKind;
  readonly nX: number;
  readonly M: number;
  readonly cells: number;
  /** points[c * nX + i] = coordinate i of cell c. */
  readonly points: Float64Array;
  /** proj(mu): the L1-nearest cell; ties by the float distance (index order), then the lowest index. */
  project(mu: ArrayLike<number>, off?: number): number;
  /** The same by scanning every cell (tests). */
  projectByScan(mu: ArrayLike<number>, off?: number): number;
  distance(mu: ArrayLike<number>, off: number, c: number): number;
  point(c: number): Float64Array;
}

export type GridKind = 'midpoint' | 'lattice';

export class MidpointGrid implements MeanFieldGrid {
  readonly kind = 'midpoint' as const;
  readonly nX: number;
  readonly M: number;
  readonly cells: number;
  /** points[c * nX + i] = coordinate i of cell c. */
  readonly points: Float64Array;
  /** The M values each of the first nX - 1 coordinates takes. */
  readonly lin: Float64Array;
  /** Index of cell (prefix, k_{d-1} = 0) for each prefix (k_0..k_{d-2}) in base M, and how many follow. */
  private readonly rowStart: Int32Array;
  private readonly rowLen: Int32Array;
  private readonly d: number;
  private readonly scratch: Int32Array;
  private readonly corner: Int32Array;
  private readonly nbCells: Int32Array;
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  private readonly seen: number[] = [];
  private readonly stack: number[] = [];

  constructor(nX: number, M: number) {
    if (!Number.isInteger(nX) || nX < 2) throw new RangeError(`grid: nX must be an integer >= 2, got ${nX}`);
    if (!Number.isInteger(M) || M < 1) throw new RangeError(`grid: bins M must be a positive integer, got ${M}`);
    this.nX = nX;
    this.M = M;
    const d = nX - 1;
    this.d = d;
    this.lin = linspace(1 / M / 2, 1 - 1 / M / 2, M);
    const prefixes = M ** (d - 1);
    if (prefixes > 2 ** 28) throw new RangeError(`grid: nX = ${nX}, M = ${M} is too large`);
    this.rowStart = new Int32Array(prefixes);
    this.rowLen = new Int32Array(prefixes);
    this.scratch = new Int32Array(d);
    this.corner = new Int32Array(d);
    this.nbCells = new Int32Array(2 * d * d);
    this.lo = new Int32Array(d);
    this.hi = new Int32Array(d);

    // First pass: count kept cells per prefix (float sums are monotone in each coordinate, so the kept
    // last indices of a prefix are 0..len-1).
    const lin = this.lin;
    const k = new Int32Array(d);
    let cells = 0;
    for (let pre = 0; pre < prefixes; pre++) {
      let rest = pre;
      for (let i = d - 2; i >= 0; i--) {
        k[i] = rest % M;
        rest = Math.floor(rest / M);
      }
      let s = 0;
      for (let i = 0; i < d - 1; i++) s += lin[k[i]];
      let len = 0;
      if (s <= 1) {
        while (len < M && s + lin[len] <= 1) len++;
      }
      this.rowStart[pre] = cells;
      this.rowLen[pre] = len;
      cells += len;
    }
    if (cells === 0) throw new RangeError(`grid: no cell of the midpoint grid with M = ${M} lies in the simplex for nX = ${nX}; use more bins`);
    this.cells = cells;
    const pts = new Float64Array(cells * nX);
    let c = 0;
    for (let pre = 0; pre < prefixes; pre++) {
      let rest = pre;
      for (let i = d - 2; i >= 0; i--) {
        k[i] = rest % M;
        rest = Math.floor(rest / M);
      }
      for (let last = 0; last < this.rowLen[pre]; last++, c++) {
        k[d - 1] = last;
        let s = 0;
        for (let i = 0; i < d; i++) {
          pts[c * nX + i] = lin[k[i]];
          s += lin[k[i]];
        }
        pts[c * nX + d] = 1 - s;
      }
    }
    this.points = pts;
  }

  /** The cell with first-coordinate indices k, or -1 when that combination is not a cell. */
  cellIndex(k: ArrayLike<number>): number {
    const d = this.d;
    const M = this.M;
    let pre = 0;
    for (let i = 0; i < d - 1; i++) {
      const ki = k[i];
      if (ki < 0 || ki >= M) return -1;
      pre = pre * M + ki;
    }
    const last = k[d - 1];
    if (last < 0 || last >= this.rowLen[pre]) return -1;
    return this.rowStart[pre] + last;
  }

  /** Float L1 distance from mu[off..off+nX) to cell c, summed in index order (as the reference scan). */
  distance(mu: ArrayLike<number>, off: number, c: number): number {
    return l1Distance(this.points, this.nX, mu, off, c);
  }

  /** proj(mu): the nearest cell in L1, ties to the lowest index; see the header for why the box suffices. */
  project(mu: ArrayLike<number>, off = 0): number {
    switch (this.d) {
      case 1:
        return this.project1(mu, off);
      case 2:
        return this.project2(mu, off);
      case 3:
        return this.project3(mu, off);
      default:
        return this.projectGeneric(mu, off);
    }
  }

  // nX = 2: the corners b, b + 1 of the first coordinate (cells are the indices themselves).
  private project1(mu: ArrayLike<number>, off: number): number {
    const b = Math.floor(mu[off] * this.M - 0.5);
    const n = this.rowLen[0];
    // on a line, below the first value or beyond the last one the end cell is strictly nearest
    if (b < 0) return 0;
    if (b + 1 >= n) return n - 1;
    const d0 = this.distance(mu, off, b);
    const d1 = this.distance(mu, off, b + 1);
    return d1 < d0 ? b + 1 : b;
  }

  // nX = 3: four corners (b0 + i, b1 + j), visited in increasing cell order, so a strict < keeps the lowest
  // index on ties. The distance is inlined: ((0 + |m0 - p0|) + |m1 - p1|) + |m2 - p2|, as distance() sums.
  private project2(mu: ArrayLike<number>, off: number): number {
    const M = this.M;
    const m0 = mu[off];
    const m1 = mu[off + 1];
    const m2 = mu[off + 2];
    const b0 = Math.floor(m0 * M - 0.5);
    const b1 = Math.floor(m1 * M - 0.5);
    if (b0 < 0 || b1 < 0 || b0 + 1 >= M || b1 + 1 >= M) return this.projectGeneric(mu, off);
    if (b1 + 1 >= this.rowLen[b0] || b1 + 1 >= this.rowLen[b0 + 1]) return this.projectGeneric(mu, off);
    const P = this.points;
    let best = -1;
    let bestDist = Infinity;
    for (let i = 0; i < 2; i++) {
      const first = this.rowStart[b0 + i] + b1;
      for (let c = first; c < first + 2; c++) {
        const o = c * 3;
        const dist = 0 + Math.abs(m0 - P[o]) + Math.abs(m1 - P[o + 1]) + Math.abs(m2 - P[o + 2]);
        if (dist < bestDist) {
          best = c;
          bestDist = dist;
        }
      }
    }
    return best;
  }

  // nX = 4: eight corners (b0 + i, b1 + j, b2 + k), in increasing cell order; distance inlined as above.
  private project3(mu: ArrayLike<number>, off: number): number {
    const M = this.M;
    const m0 = mu[off];
    const m1 = mu[off + 1];
    const m2 = mu[off + 2];
    const m3 = mu[off + 3];
    const b0 = Math.floor(m0 * M - 0.5);
    const b1 = Math.floor(m1 * M - 0.5);
    const b2 = Math.floor(m2 * M - 0.5);
    if (b0 < 0 || b1 < 0 || b2 < 0 || b0 + 1 >= M || b1 + 1 >= M || b2 + 1 >= M) return this.project3Near(mu, off, b0, b1, b2);
    const rowLen = this.rowLen;
    const rowStart = this.rowStart;
    const P = this.points;
    const p00 = b0 * M + b1;
    const last = b2 + 1;
    if (last >= rowLen[p00] || last >= rowLen[p00 + 1] || last >= rowLen[p00 + M] || last >= rowLen[p00 + M + 1]) {
      return this.project3Near(mu, off, b0, b1, b2);
    }
    let best = -1;
    let bestDist = Infinity;
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        const first = rowStart[p00 + i * M + j] + b2;
        for (let c = first; c < first + 2; c++) {
          const o = c * 4;
          const dist = 0 + Math.abs(m0 - P[o]) + Math.abs(m1 - P[o + 1]) + Math.abs(m2 - P[o + 2]) + Math.abs(m3 - P[o + 3]);
          if (dist < bestDist) {
            best = c;
            bestDist = dist;
          }
        }
      }
    }
    return best;
  }

  /**
   * nX = 4 near a face (Cyber's mean fields, often: a coordinate below the first grid value, or box corners
   * beyond the outer face): the windows of projectGeneric, scanned inline (window3) in the same order with
   * the same float distances, so the same cell; the closure only where projectGeneric takes it.
   */
  private project3Near(mu: ArrayLike<number>, off: number, b0: number, b1: number, b2: number): number {
    const M = this.M;
    if (b0 >= M || b1 >= M || b2 >= M) return this.projectGeneric(mu, off); // a coordinate above 1
    if (b0 >= 0 && b1 >= 0 && b2 >= 0) {
      // the box {floor, floor + 1} when the all-floor corner is a cell
      if (b2 < this.rowLen[b0 * M + b1]) return this.window3(mu, off, b0, Math.min(M - 1, b0 + 1), b1, Math.min(M - 1, b1 + 1), b2, Math.min(M - 1, b2 + 1));
    } else {
      const best = this.window3(
        mu,
        off,
        b0 < 0 ? 0 : Math.max(0, b0 - 1),
        b0 < 0 ? 1 : Math.min(M - 1, b0 + 1),
        b1 < 0 ? 0 : Math.max(0, b1 - 1),
        b1 < 0 ? 1 : Math.min(M - 1, b1 + 1),
        b2 < 0 ? 0 : Math.max(0, b2 - 1),
        b2 < 0 ? 1 : Math.min(M - 1, b2 + 1),
      );
      if (best >= 0) return best;
    }
    return this.projectGeneric(mu, off);
  }

  /**
   * scanWindow for nX = 4 (lo_i <= k_i <= hi_i < M), distance inlined as in project3; -1 when no cell.
   * project3 keeps its own 8-corner loop: it is the hot path, and calling this instead measured slower there.
   */
  private window3(mu: ArrayLike<number>, off: number, lo0: number, hi0: number, lo1: number, hi1: number, lo2: number, hi2: number): number {
    const M = this.M;
    const rowLen = this.rowLen;
    const rowStart = this.rowStart;
    const P = this.points;
    const m0 = mu[off];
    const m1 = mu[off + 1];
    const m2 = mu[off + 2];
    const m3 = mu[off + 3];
    let best = -1;
    let bestDist = Infinity;
    for (let k0 = lo0; k0 <= hi0; k0++) {
      for (let k1 = lo1; k1 <= hi1; k1++) {
        const pre = k0 * M + k1;
        const end = Math.min(hi2, rowLen[pre] - 1);
        for (let c = rowStart[pre] + lo2, e = rowStart[pre] + end; c <= e; c++) {
          const o = c * 4;
          const dist = 0 + Math.abs(m0 - P[o]) + Math.abs(m1 - P[o + 1]) + Math.abs(m2 - P[o + 2]) + Math.abs(m3 - P[o + 3]);
          if (dist < bestDist) {
            best = c;
            bestDist = dist;
          }
        }
      }
    }
    return best;
  }

  private projectGeneric(mu: ArrayLike<number>, off: number): number {
    const d = this.d;
    const M = this.M;
    const base = this.scratch;
    const lo = this.lo;
    const hi = this.hi;
    let clamped = false;
    for (let i = 0; i < d; i++) {
      const b = Math.floor(mu[off + i] * M - 0.5);
      base[i] = b;
      if (b < 0) clamped = true;
    }
    if (!clamped) {
      // the box {floor, floor + 1}; corners beyond the outer face are not cells and cannot win
      // (a smaller sum is always available inside the box) as long as the all-floor corner is a cell
      if (this.cellIndex(base) >= 0) {
        for (let i = 0; i < d; i++) {
          lo[i] = base[i];
          hi[i] = Math.min(M - 1, base[i] + 1);
        }
        return this.scanWindow(mu, off);
      }
    } else if (d <= 3) {
      // coordinates below the first grid value are held at k = 0 with a fixed error C <= d/2 < 2; the
      // others may then win or tie one step lower, and a held one one step higher (property-tested)
      for (let i = 0; i < d; i++) {
        lo[i] = base[i] < 0 ? 0 : Math.max(0, base[i] - 1);
        hi[i] = base[i] < 0 ? 1 : Math.min(M - 1, base[i] + 1);
      }
      const best = this.scanWindow(mu, off);
      if (best >= 0) return best;
    }
    // start at the clamped floor point, pulled inside the outer face, then walk
    const k = this.corner;
    for (let i = 0; i < d; i++) k[i] = Math.min(M - 1, Math.max(0, base[i]));
    let start = this.cellIndex(k);
    while (start < 0) {
      let big = 0;
      for (let i = 1; i < d; i++) if (k[i] > k[big]) big = i;
      k[big]--;
      start = this.cellIndex(k);
    }
    return this.closure(mu, off, start);
  }

  /**
   * Best cell in the window lo[i] <= k_i <= hi[i], visited in lexicographic order of k (= increasing cell
   * index, so a strict < keeps the lowest index on ties); -1 when the window holds no cell.
   */
  private scanWindow(mu: ArrayLike<number>, off: number): number {
    const d = this.d;
    const k = this.corner;
    const lo = this.lo;
    const hi = this.hi;
    for (let i = 0; i < d; i++) k[i] = lo[i];
    let best = -1;
    let bestDist = Infinity;
    for (;;) {
      const c = this.cellIndex(k);
      if (c >= 0) {
        const dist = this.distance(mu, off, c);
        if (dist < bestDist) {
          best = c;
          bestDist = dist;
        }
      }
      let i = d - 1;
      while (i >= 0 && k[i] === hi[i]) {
        k[i] = lo[i];
        i--;
      }
      if (i < 0) return best;
      k[i]++;
    }
  }

  /**
   * Slow path near faces. The exact distance is an M-natural-convex function of k (a separable convex sum
   * plus a convex function of sum k, on the M-natural-convex set of cells), so a local minimum under the
   * moves +-e_i and e_i - e_j is global, and its near-minimal level set is connected under the same moves.
   * Descend while some neighbour is strictly nearer, then collect every cell within NEAR_TIE of that
   * minimum and return the smallest float distance, then the lowest index, among them.
   */
  private closure(mu: ArrayLike<number>, off: number, start: number): number {
    const NEAR_TIE = 1e-9;
    let center = start;
    let centerDist = this.distance(mu, off, center);
    for (;;) {
      const n = this.neighbours(center);
      let next = -1;
      let nextDist = centerDist;
      for (let j = 0; j < n; j++) {
        const c = this.nbCells[j];
        const dist = this.distance(mu, off, c);
        if (dist < nextDist) {
          next = c;
          nextDist = dist;
        }
      }
      if (next < 0) break;
      center = next;
      centerDist = nextDist;
    }
    const seen = this.seen;
    const stack = this.stack;
    seen.length = 0;
    stack.length = 0;
    seen.push(center);
    stack.push(center);
    let bestCell = center;
    let bestDist = centerDist;
    while (stack.length > 0) {
      const n = this.neighbours(stack.pop() as number);
      for (let j = 0; j < n; j++) {
        const c = this.nbCells[j];
        if (seen.includes(c)) continue;
        seen.push(c);
        const dist = this.distance(mu, off, c);
        if (dist > centerDist + NEAR_TIE) continue;
        stack.push(c);
        if (dist < bestDist || (dist === bestDist && c < bestCell)) {
          bestDist = dist;
          bestCell = c;
        }
      }
    }
    return bestCell;
  }

  /** Fills nbCells with the cells one move (+-e_i or e_i - e_j) away from cell c; returns how many. */
  private neighbours(c: number): number {
    const d = this.d;
    const k = this.corner;
    const nb = this.scratch;
    for (let i = 0; i < d; i++) k[i] = Math.round(this.points[c * this.nX + i] * this.M - 0.5);
    let n = 0;
    for (let i = 0; i < d; i++) {
      for (let j = -1; j < d; j++) {
        if (j === i) continue;
        for (let sign = -1; sign <= 1; sign += 2) {
          for (let q = 0; q < d; q++) nb[q] = k[q];
          nb[i] += sign;
          if (j >= 0) nb[j] -= sign;
          const cell = this.cellIndex(nb);
          if (cell >= 0) this.nbCells[n++] = cell;
        }
      }
    }
    return n;
  }

  /** The brute-force scan over all cells: O(cells). For tests and validation only. */
  projectByScan(mu: ArrayLike<number>, off = 0): number {
    return nearestByScan(this, mu, off);
  }

  /** A view of cell c's point (length nX). */
  point(c: number): Float64Array {
    return this.points.subarray(c * this.nX, (c + 1) * this.nX);
  }
}

/** sum_i |mu_i - p_c,i| over i = 0..nX-1 in index order (the reference scan's float distance). */
export function l1Distance(points: Float64Array, nX: number, mu: ArrayLike<number>, off: number, c: number): number {
  const base = c * nX;
  let s = 0;
  for (let i = 0; i < nX; i++) s += Math.abs(mu[off + i] - points[base + i]);
  return s;
}

/** The definition of proj: scan every cell, strict < so the lowest index wins ties. O(cells); tests only. */
export function nearestByScan(grid: MeanFieldGrid, mu: ArrayLike<number>, off = 0): number {
  let bestCell = 0;
  let bestDist = Infinity;
  for (let c = 0; c < grid.cells; c++) {
    const dist = grid.distance(mu, off, c);
    if (dist < bestDist) {
      bestDist = dist;
      bestCell = c;
    }
  }
  return bestCell;
}

/** numpy.linspace(start, stop, n): value k is start + k * step, step = (stop - start) / (n - 1), last = stop. */
export function linspace(start: number, stop: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (n - 1);
  for (let k = 0; k < n; k++) out[k] = start + k * step;
  out[n - 1] = stop;
  return out;
}
