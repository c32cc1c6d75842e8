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
// Property tests compare with the brute-force scan, ties included.

export class MidpointGrid {
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
    const nX = this.nX;
    const p = this.points;
    const base = c * nX;
    let s = 0;
    for (let i = 0; i < nX; i++) s += Math.abs(mu[off + i] - p[base + i]);
    return s;
  }

  /** proj(mu): the nearest cell in L1, ties to the lowest index; see the header for why the box suffices. */
  project(mu: ArrayLike<number>, off = 0): number {
    const d = this.d;
    const M = this.M;
    const base = this.scratch;
    let clamped = false;
    for (let i = 0; i < d; i++) {
      base[i] = Math.floor(mu[off + i] * M - 0.5);
      if (base[i] < 0) clamped = true;
    }
    if (!clamped) {
      const best = this.scanBox(mu, off, base, 0, 2);
      if (best >= 0) return best;
    }
    return this.closure(mu, off, this.scanBox(mu, off, base, -2, 4));
  }

  /**
   * Slow path near faces: from a start cell, walks the moves +-e_i and e_i - e_j (the distance is an
   * M-natural-convex function of k, so its near-minimal level set is connected under these moves), descending
   * while a neighbour is clearly better, then collecting every cell within NEAR_TIE of the best; returns the
   * smallest float distance, then the lowest index, among them.
   */
  private closure(mu: ArrayLike<number>, off: number, start: number): number {
    const d = this.d;
    const NEAR_TIE = 1e-9;
    const kOf = (c: number, out: Int32Array) => {
      for (let i = 0; i < d; i++) out[i] = Math.round(this.points[c * this.nX + i] * this.M - 0.5);
    };
    let center = start;
    let centerDist = this.distance(mu, off, center);
    const k = new Int32Array(d);
    const nb = new Int32Array(d);
    const neighbours = (c: number, visit: (n: number) => void) => {
      kOf(c, k);
      for (let i = 0; i < d; i++) {
        for (let j = -1; j < d; j++) {
          if (j === i) continue;
          for (const sign of [1, -1]) {
            nb.set(k);
            nb[i] += sign;
            if (j >= 0) nb[j] -= sign;
            const n = this.cellIndex(nb);
            if (n >= 0) visit(n);
          }
        }
      }
    };
    // descend to a minimiser
    for (;;) {
      let moved = false;
      neighbours(center, (n) => {
        const dist = this.distance(mu, off, n);
        if (dist < centerDist - NEAR_TIE) {
          center = n;
          centerDist = dist;
          moved = true;
        }
      });
      if (!moved) break;
    }
    // collect the near-minimal level set
    const seen = new Set<number>([center]);
    const queue = [center];
    let bestCell = center;
    let bestDist = centerDist;
    while (queue.length > 0) {
      const c = queue.pop() as number;
      neighbours(c, (n) => {
        if (seen.has(n)) return;
        seen.add(n);
        const dist = this.distance(mu, off, n);
        if (dist <= centerDist + NEAR_TIE) {
          queue.push(n);
          if (dist < bestDist || (dist === bestDist && n < bestCell)) {
            bestDist = dist;
            bestCell = n;
          }
        }
      });
    }
    return bestCell;
  }

  /**
   * Scans corners base_i + lo .. base_i + lo + width - 1 (clamped to [0, M)); returns the best cell, or -1
   * when some corner inside [0, M)^d is not a cell (the outer face is near: the caller widens the box).
   */
  private scanBox(mu: ArrayLike<number>, off: number, base: Int32Array, lo: number, width: number): number {
    const d = this.d;
    const M = this.M;
    const k = this.corner;
    let combos = 1;
    for (let i = 0; i < d; i++) combos *= width;
    let bestCell = -1;
    let bestDist = Infinity;
    let missing = false;
    for (let m = 0; m < combos; m++) {
      let rest = m;
      let inRange = true;
      for (let i = 0; i < d; i++) {
        const ki = base[i] + lo + (rest % width);
        rest = Math.floor(rest / width);
        k[i] = ki < 0 ? 0 : ki;
        if (ki >= M) inRange = false;
      }
      if (!inRange) continue;
      const c = this.cellIndex(k);
      if (c < 0) {
        missing = true;
        continue;
      }
      const dist = this.distance(mu, off, c);
      if (dist < bestDist || (dist === bestDist && c < bestCell)) {
        bestDist = dist;
        bestCell = c;
      }
    }
    return missing && width === 2 ? -1 : bestCell;
  }

  /** The brute-force scan over all cells: O(cells). For tests and validation only. */
  projectByScan(mu: ArrayLike<number>, off = 0): number {
    let bestCell = 0;
    let bestDist = Infinity;
    for (let c = 0; c < this.cells; c++) {
      const dist = this.distance(mu, off, c);
      if (dist < bestDist) {
        bestDist = dist;
        bestCell = c;
      }
    }
    return bestCell;
  }

  /** A view of cell c's point (length nX). */
  point(c: number): Float64Array {
    return this.points.subarray(c * this.nX, (c + 1) * this.nX);
  }
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
