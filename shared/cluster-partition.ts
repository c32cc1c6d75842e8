// The cluster's partition and halo plan, as pure functions (docs/cluster.md, "Shard map" and "Halo").
//
// Rows r = x0 * cells + c are laid out in an order (a permutation: order[position] = row), and the positions
// are cut into contiguous shards, one per node, sized by each node's weight (threads x measured speed). The
// owner of a row keeps, for every t, its policies, OMD accumulators, next cells and value slots.
//
// Step t over a row reads value slot t + 1 at the rows (x0', next(t, x0, u0, c)) for every u0 and every x0'
// in the support of P0(. | x0, u0, mu_c) (shared/kernels/backward.ts). The halo of a shard at t: the rows its
// own rows read that another shard owns. Each is sent by its owner to the reader once per (t, row, reader).

import type { Problem } from './problem.ts';

export type RowOrderKind = 'lexicographic' | 'cell-major' | 'morton' | 'morton-cell-major';

/** What the partition needs of a Problem (so tests can build small synthetic ones). */
export type HaloProblem = Pick<Problem, 'rows' | 'cells' | 'majorCount' | 'majorTo' | 'majorWidth'> & { game: Pick<Problem['game'], 'nU0' | 'nX0' | 'nX'> };

/**
 * order[position] = row. 'lexicographic' is r itself (x0-major); 'cell-major' puts the rows of one cell
 * (every x0) together; 'morton' orders the cells along a Z-order curve over their first nX - 1 quantised
 * coordinates (x0-major); 'morton-cell-major' is that curve with every x0 of a cell together.
 * `points[c * nX + i]` are the cells' coordinates in [0, 1]; `bins` quantises them (Z-order only).
 */
export function rowOrder(kind: RowOrderKind, nX0: number, cells: number, points?: Float64Array, nX = 0, bins = 0): Int32Array {
  const rows = nX0 * cells;
  const order = new Int32Array(rows);
  const cellOrder = kind === 'morton' || kind === 'morton-cell-major' ? mortonCells(cells, points!, nX, bins) : identity(cells);
  let p = 0;
  if (kind === 'lexicographic' || kind === 'morton') {
    for (let x0 = 0; x0 < nX0; x0++) for (let i = 0; i < cells; i++) order[p++] = x0 * cells + cellOrder[i];
  } else {
    for (let i = 0; i < cells; i++) for (let x0 = 0; x0 < nX0; x0++) order[p++] = x0 * cells + cellOrder[i];
  }
  return order;
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Cells sorted by the Z-order (bit-interleaved) key of their first nX - 1 quantised coordinates. */
function mortonCells(cells: number, points: Float64Array, nX: number, bins: number): Int32Array {
  const d = Math.max(1, nX - 1);
  const bits = Math.max(1, Math.ceil(Math.log2(bins + 1)));
  const keys = new Float64Array(cells);
  for (let c = 0; c < cells; c++) {
    let key = 0;
    for (let b = bits - 1; b >= 0; b--) {
      for (let i = 0; i < d; i++) {
        const k = Math.min(bins - 1, Math.floor(points[c * nX + i] * bins));
        key = key * 2 + ((k >> b) & 1);
      }
    }
    keys[c] = key;
  }
  const idx = identity(cells);
  return idx.sort((a, b) => keys[a] - keys[b] || a - b);
}

/**
 * Shard bounds over `n` positions for weights w (bounds[k]..bounds[k+1] is shard k): sizes proportional to
 * the weights, every cut on a multiple of `align` (the last bound is n). Deterministic; a shard may be empty
 * when n is small.
 */
export function cutShards(n: number, weights: readonly number[], align = 1): number[] {
  if (weights.length === 0) throw new RangeError('cutShards: no shards');
  for (const w of weights) if (!(w > 0 && Number.isFinite(w))) throw new RangeError(`cutShards: weight ${w} is not a positive number`);
  const total = weights.reduce((a, b) => a + b, 0);
  const bounds = [0];
  let acc = 0;
  for (let k = 0; k < weights.length - 1; k++) {
    acc += weights[k];
    const ideal = (acc / total) * n;
    const cut = Math.min(n, Math.max(bounds[k], Math.round(ideal / align) * align));
    bounds.push(cut);
  }
  bounds.push(n);
  return bounds;
}

/**
 * Shard bounds over costs.length blocks (bounds[k]..bounds[k+1] is shard k) that minimise the largest
 * cost per weight, max_k (sum of the costs of shard k) / weights[k], over all contiguous cuts: each node's
 * estimated work in proportion to its threads. Bisection on that bound; a bound is feasible when filling
 * the shards in order, each up to bound x its weight, places every block (filling greedily is optimal for
 * contiguous cuts in a fixed order). The cut returned is the greedy fill at the smallest feasible bound
 * found, so it is a function of the inputs only. Costs >= 0; a shard may be empty.
 */
export function cutByCost(costs: ArrayLike<number>, weights: readonly number[]): number[] {
  return cutByCostWithin(costs, weights)!;
}

/**
 * cutByCost among the cuts that give shard k at most caps[k] blocks (a node's memory, shared/cluster-capacity.ts):
 * the same bisection, each shard filled up to its cap as well; undefined when the caps together hold fewer blocks.
 * Without caps (or with caps that never bind the greedy fill) it is cutByCost.
 */
export function cutByCostWithin(costs: ArrayLike<number>, weights: readonly number[], caps?: readonly number[]): number[] | undefined {
  if (weights.length === 0) throw new RangeError('cutByCost: no shards');
  for (const w of weights) if (!(w > 0 && Number.isFinite(w))) throw new RangeError(`cutByCost: weight ${w} is not a positive number`);
  if (caps && (caps.length !== weights.length || caps.some((c) => !(Number.isSafeInteger(c) && c >= 0)))) throw new RangeError(`cutByCost: caps ${caps.join(', ')} are not ${weights.length} counts`);
  if (caps && caps.reduce((a, b) => a + b, 0) < costs.length) return undefined;
  let total = 0;
  for (let i = 0; i < costs.length; i++) {
    if (!(costs[i] >= 0 && Number.isFinite(costs[i]))) throw new RangeError(`cutByCost: cost ${costs[i]} of block ${i} is not a non-negative number`);
    total += costs[i];
  }
  // hi stays feasible (everything fits into the first shard, with room for rounding; with caps, any bound at
  // which no shard is stopped by its cost), lo infeasible (or 0)
  let hi = (total / Math.min(...weights)) * (1 + 1e-9) + Number.MIN_VALUE;
  while (!fill(costs, weights, hi, caps)) hi *= 2;
  let lo = 0;
  if (fill(costs, weights, lo, caps)) hi = lo; // every cost is 0
  for (let i = 0; i < 200 && lo < hi; i++) {
    const mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    if (fill(costs, weights, mid, caps)) hi = mid;
    else lo = mid;
  }
  return fill(costs, weights, hi, caps)!;
}

/** Fills shards in order, each up to `bound` x its weight (and its cap); the bounds, or undefined when blocks are left. */
function fill(costs: ArrayLike<number>, weights: readonly number[], bound: number, caps?: readonly number[]): number[] | undefined {
  const bounds = [0];
  let k = 0;
  let acc = 0;
  for (let i = 0; i < costs.length; i++) {
    while (acc + costs[i] > bound * weights[k] || (caps !== undefined && i - bounds[k] >= caps[k])) {
      if (++k === weights.length) return undefined;
      bounds.push(i);
      acc = 0;
    }
    acc += costs[i];
  }
  while (bounds.length < weights.length) bounds.push(costs.length);
  bounds.push(costs.length);
  return bounds;
}

/** owner[row] = shard of the row, for an order and its shard bounds. */
export function ownerOfRows(order: Int32Array, bounds: readonly number[]): Int32Array {
  const owner = new Int32Array(order.length);
  for (let k = 0; k + 1 < bounds.length; k++) for (let p = bounds[k]; p < bounds[k + 1]; p++) owner[order[p]] = k;
  return owner;
}

/**
 * The halo of shard `reader` at t: for every other shard, the rows it must send (sorted). Only owners
 * that send at least one row appear.
 */
export function haloAt(problem: HaloProblem, nextCell: Int32Array, t: number, own: ArrayLike<number>, owner: Int32Array, reader: number, mark: Uint8Array, vertices = 1): Map<number, Int32Array> {
  return haloPlanAt(problem, nextCell, t, own, owner, reader, mark, vertices).from;
}

/**
 * haloAt in one pass over the reader's rows (its own rows are skipped, not collected and sorted), plus
 * `late`: the reader's rows (in the order of `own`) whose step t reads at least one halo row, as ranges
 * [late[2i], late[2i + 1]). The other rows can be computed before the halo of t + 1 arrives.
 * `nextCell` is indexed like the solver tables: nextCell[((t * rows + r) * nU0 + u0) * vertices + j], with
 * `vertices` = 1 for the nearest projection's nextCell and nX for the interpolated scheme's nextVertex.
 * `mark` (length rows, all 0) is scratch and is left all 0.
 * `ownCells` = [ca, cb]: the caller's promise that the reader owns every row whose cell is in [ca, cb), for
 * every x0 (a cluster node's shard). A next cell there is then skipped without reading the owners of its
 * rows: most next cells stay in the shard, and the plan ran at ~12 ns per (row, u0) without this.
 */
export function haloPlanAt(problem: HaloProblem, nextCell: Int32Array, t: number, own: ArrayLike<number>, owner: Int32Array, reader: number, mark: Uint8Array, vertices = 1, ownCells?: readonly [number, number]): { from: Map<number, Int32Array>; late: Int32Array } {
  // typed scratch (no number[] pushes): at most every row is found once, at most one range per own row
  const found = scratch(0, problem.rows);
  const late = scratch(1, 2 * own.length);
  scanReads(problem, nextCell, t, own, owner, reader, mark, vertices, found, late, ownCells?.[0] ?? 0, ownCells?.[1] ?? 0);
  const [nFound, nLate] = [counts[0], counts[1]];
  // the long loop is a function of its own: V8 compiles it while it runs (on-stack replacement), and code
  // after such a loop in the same function has no type feedback yet: calls bailed out there, one by one
  return { from: nFound === 0 ? new Map() : groupByOwner(found.subarray(0, nFound), owner, mark), late: late.slice(0, nLate) };
}

/** haloPlanAt's counts of found rows and late range bounds (scanReads writes them). */
const counts = new Int32Array(2);

/** The halo rows step t over `own` reads (into `found`, marked) and the late ranges (into `late`); their counts into `counts`. Cells in [ca, cb) are the reader's (haloPlanAt's ownCells). */
function scanReads(problem: HaloProblem, nextCell: Int32Array, t: number, own: ArrayLike<number>, owner: Int32Array, reader: number, mark: Uint8Array, vertices: number, found: Int32Array, late: Int32Array, ca: number, cb: number): void {
  const { nU0 } = problem.game;
  const { rows, cells, majorCount, majorTo, majorWidth } = problem;
  // a row's entries (u0, v) are contiguous in nextCell: w of them from ((t * rows + r) * nU0) * vertices
  const w = nU0 * vertices;
  const sliceAt = t * rows * w;
  let nFound = 0;
  let nLate = 0;
  for (let i = 0; i < own.length; i++) {
    const r = own[i];
    const at = sliceAt + r * w;
    let reads = false;
    for (let k = 0; k < w; k++) {
      const c = nextCell[at + k];
      if (c >= ca && c < cb) continue; // the reader's own cell, whatever x0 (ca = cb: no such promise)
      const slot = r * nU0 + ((k / vertices) | 0);
      const cnt = majorCount[slot];
      for (let j = 0; j < cnt; j++) {
        const row = majorTo[slot * majorWidth + j] * cells + c;
        if (owner[row] === reader) continue;
        reads = true;
        if (mark[row]) continue;
        mark[row] = 1;
        found[nFound++] = row;
      }
    }
    if (!reads) continue;
    if (nLate > 0 && late[nLate - 1] === r) late[nLate - 1] = r + 1;
    else {
      late[nLate++] = r;
      late[nLate++] = r + 1;
    }
  }
  counts[0] = nFound;
  counts[1] = nLate;
}

/** The found rows sorted and grouped by owner (owners in increasing order); clears their marks. Sorts `found` in place. */
function groupByOwner(found: Int32Array, owner: Int32Array, mark: Uint8Array): Map<number, Int32Array> {
  found.sort();
  // counting pass over the owners present, then one typed array per owner filled in row order
  let maxOwner = 0;
  for (let i = 0; i < found.length; i++) {
    mark[found[i]] = 0;
    if (owner[found[i]] > maxOwner) maxOwner = owner[found[i]];
  }
  const counts = new Int32Array(maxOwner + 1);
  for (let i = 0; i < found.length; i++) counts[owner[found[i]]]++;
  const lists: Int32Array[] = [];
  for (let o = 0; o <= maxOwner; o++) lists.push(new Int32Array(counts[o]));
  counts.fill(0);
  for (let i = 0; i < found.length; i++) {
    const o = owner[found[i]];
    lists[o][counts[o]++] = found[i];
  }
  const from = new Map<number, Int32Array>();
  for (let o = 0; o <= maxOwner; o++) if (lists[o].length > 0) from.set(o, lists[o]);
  return from;
}

/** Scratch arrays of haloPlanAt, grown as needed (the function is synchronous, so one pair per thread suffices). */
const scratchArrays: Int32Array[] = [new Int32Array(0), new Int32Array(0)];
function scratch(i: number, n: number): Int32Array {
  if (scratchArrays[i].length < n) scratchArrays[i] = new Int32Array(Math.max(n, 2 * scratchArrays[i].length));
  return scratchArrays[i];
}

/** Counts of one sweep's halo for a partition: (t, row, reader) triples received, summed over t and shards. */
export function haloVolume(problem: HaloProblem, nextCell: Int32Array, slices: number, order: Int32Array, bounds: readonly number[]): { received: number; perShard: number[] } {
  const owner = ownerOfRows(order, bounds);
  const mark = new Uint8Array(problem.rows);
  const perShard: number[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const own = order.subarray(bounds[k], bounds[k + 1]);
    let n = 0;
    // step t reads slot t + 1, written by step t + 1: t = slices - 1 reads V(T) = 0, which nobody sends
    for (let t = 0; t < slices - 1; t++) for (const rows of haloAt(problem, nextCell, t, own, owner, k, mark).values()) n += rows.length;
    perShard.push(n);
  }
  return { received: perShard.reduce((a, b) => a + b, 0), perShard };
}
