// A discretised problem: a game on a midpoint grid, with its kernels and rewards tabulated at every grid
// point. The tables depend on (game, parameters, M) only, so every executor (thread or node) can rebuild
// them from the same spec and get the same bits.
//
// Rows: r = x0 * cells + c, one per (major state, cell). Per row and major action u0:
//   minorP[((((r * nU0 + u0) * nX + x) * nU + u) * nX + x')] = P(x' | x, u, x0, u0, mu_c)
//   minorR[(((r * nU0 + u0) * nX + x) * nU + u)]             = r(x, u, x0, u0, mu_c)
//   majorR[r * nU0 + u0]                                     = r0(x0, u0, mu_c)
//   P0(. | x0, u0, mu_c) as its support: majorCount[r * nU0 + u0] entries at
//   majorTo/majorP[(r * nU0 + u0) * majorWidth + j], in increasing x0' (zero entries dropped).

import { describeState, distributionProblem, type GameDefinition } from './model.ts';
import { MidpointGrid, type GridKind, type MeanFieldGrid } from './grid.ts';
import { LatticeGrid } from './lattice-grid.ts';
import { callKernel, rowError } from './validate.ts';
import type { Projection } from './policy-cell.ts';
import { FingerprintLanes, wordsOf } from './problem-fingerprint.ts';

export interface ProblemOptions {
  /**
   * Keep only the rows of the cells [from, to), for every x0 (a cluster node's shard; [0, 0] keeps none).
   * The others are still built, checked and fingerprinted, then dropped. The tables keep the full layout;
   * the pages of rows never written are never resident, so the memory follows the kept rows.
   */
  readonly cells?: readonly [number, number];
}

export class Problem {
  readonly game: GameDefinition;
  readonly grid: MeanFieldGrid;
  readonly cells: number;
  readonly rows: number;
  readonly minorP: Float64Array;
  readonly minorR: Float64Array;
  readonly majorR: Float64Array;
  readonly majorWidth: number;
  readonly majorCount: Int32Array;
  readonly majorTo: Int32Array;
  readonly majorP: Float64Array;
  /** proj(mu0): the cell the start values are read at (nearest; interpolate reads the vertices of mu0). */
  readonly initialCell: number;
  /**
   * How the next mean field meets the grid: the nearest cell (the paper's), or the vertices of the lattice
   * simplex around it with barycentric weights (docs/discretisation.md; lattice grid only). The tables above
   * do not depend on it; the executors' next-cell tables and kernels do.
   */
  readonly projection: Projection;

  /** The cells whose rows the tables keep (ProblemOptions.cells; all of them by default). */
  readonly keptCells: readonly [number, number];

  /** The hash of everything above (shared/problem-fingerprint.ts), the same whichever rows are kept. */
  readonly fingerprint: string;

  constructor(
    game: GameDefinition,
    bins: number,
    gridKind: GridKind = 'midpoint',
    projection: Projection = 'nearest',
    options: ProblemOptions = {},
  ) {
    this.game = game;
    const { nX, nU, nX0, nU0 } = game;
    if (projection !== 'nearest' && projection !== 'interpolate') throw new RangeError(`projection: unknown projection '${String(projection)}'`);
    if (projection === 'interpolate' && gridKind !== 'lattice') {
      throw new RangeError(`projection: 'interpolate' needs the lattice grid, got the ${gridKind} grid`);
    }
    this.projection = projection;
    const grid = makeGrid(gridKind, nX, bins);
    this.grid = grid;
    const C = grid.cells;
    this.cells = C;
    const rows = nX0 * C;
    this.rows = rows;
    this.initialCell = grid.project(game.mu0);

    const minorBlock = nX * nU * nX;
    this.minorP = new Float64Array(rows * nU0 * minorBlock);
    this.minorR = new Float64Array(rows * nU0 * nX * nU);
    this.majorR = new Float64Array(rows * nU0);
    this.majorCount = new Int32Array(rows * nU0);

    // Major kernel rows come from the game as dense nX0 vectors; the table keeps their supports with a fixed
    // stride, the widest support (first pass, which also validates them).
    const dense = new Float64Array(nX0);
    const majorRow = (c: number, x0: number, u0: number, mu: Float64Array): number => {
      dense.fill(NaN);
      callKernel(game, 'majorKernel', { x0, u0 }, mu, () => game.majorKernel(x0, u0, mu, dense, 0));
      const bad = distributionProblem(dense, 0, nX0);
      if (bad) throw rowError(game, 'majorKernel', { x0, u0 }, mu, `${bad} (grid cell ${c})`);
      let n = 0;
      for (let y = 0; y < nX0; y++) if (dense[y] !== 0) n++;
      return n;
    };
    let width = 1;
    for (let c = 0; c < C; c++) {
      const mu = grid.point(c);
      for (let x0 = 0; x0 < nX0; x0++) for (let u0 = 0; u0 < nU0; u0++) width = Math.max(width, majorRow(c, x0, u0, mu));
    }
    this.majorWidth = width;
    this.majorTo = new Int32Array(rows * nU0 * width);
    this.majorP = new Float64Array(rows * nU0 * width);

    // Rows in layout order (so that each table's fingerprint lane is fed in order); a row outside the kept
    // cells is built into a one-row scratch, checked and fingerprinted, then overwritten by the next one.
    const [keepFrom, keepTo] = options.cells ?? [0, C];
    this.keptCells = [keepFrom, keepTo];
    const kept = { minorP: this.minorP, minorR: this.minorR, majorR: this.majorR, majorCount: this.majorCount, majorTo: this.majorTo, majorP: this.majorP };
    const scratch = {
      minorP: new Float64Array(nU0 * minorBlock),
      minorR: new Float64Array(nU0 * nX * nU),
      majorR: new Float64Array(nU0),
      majorCount: new Int32Array(nU0),
      majorTo: new Int32Array(nU0 * width),
      majorP: new Float64Array(nU0 * width),
    };
    const order = ['minorP', 'minorR', 'majorR', 'majorCount', 'majorTo', 'majorP'] as const;
    const perSlot = [minorBlock, nX * nU, 1, 1, width, width];
    const words = (d: typeof kept) => order.map((k) => wordsOf(d[k]));
    const keptWords = words(kept);
    const scratchWords = words(scratch);
    const lanes = new FingerprintLanes(1 + order.length);
    lanes.feed(0, wordsOf(grid.points));
    for (let x0 = 0; x0 < nX0; x0++) {
      for (let c = 0; c < C; c++) {
        const mu = grid.point(c);
        const r = x0 * C + c;
        const keep = c >= keepFrom && c < keepTo;
        const d = keep ? kept : scratch;
        const s0 = keep ? r * nU0 : 0;
        for (let u0 = 0; u0 < nU0; u0++) {
          const slot = s0 + u0;
          d.majorCount[slot] = majorRow(c, x0, u0, mu);
          let j = slot * width;
          for (let y = 0; y < nX0; y++) {
            if (dense[y] !== 0) {
              d.majorTo[j] = y;
              d.majorP[j++] = dense[y];
            }
          }
          if (!keep) {
            d.majorTo.fill(0, j, (slot + 1) * width);
            d.majorP.fill(0, j, (slot + 1) * width);
          }
          const r0 = callKernel(game, 'majorReward', { x0, u0 }, mu, () => game.majorReward(x0, u0, mu));
          if (!Number.isFinite(r0)) throw rowError(game, 'majorReward', { x0, u0 }, mu, `returned ${r0} (grid cell ${c})`);
          d.majorR[slot] = r0;
          for (let x = 0; x < nX; x++) {
            for (let u = 0; u < nU; u++) {
              const off = ((slot * nX + x) * nU + u) * nX;
              d.minorP.fill(NaN, off, off + nX);
              callKernel(game, 'minorKernel', { x, u, x0, u0 }, mu, () => game.minorKernel(x, u, x0, u0, mu, d.minorP, off));
              const badRow = distributionProblem(d.minorP, off, nX);
              if (badRow) throw rowError(game, 'minorKernel', { x, u, x0, u0 }, mu, `${badRow} (grid cell ${c})`);
              const rr = callKernel(game, 'minorReward', { x, u, x0, u0 }, mu, () => game.minorReward(x, u, x0, u0, mu));
              if (!Number.isFinite(rr)) throw rowError(game, 'minorReward', { x, u, x0, u0 }, mu, `returned ${rr} (grid cell ${c})`);
              d.minorR[(slot * nX + x) * nU + u] = rr;
            }
          }
        }
        const w = keep ? keptWords : scratchWords;
        for (let k = 0; k < order.length; k++) {
          const per = perSlot[k] * (w[k].length / d[order[k]].length);
          lanes.feed(1 + k, w[k], s0 * per, (s0 + nU0) * per);
        }
      }
    }
    // the projection changes the tables' layout and kernels, not the model: nearest hashes without a marker
    this.fingerprint = lanes.digest([nX, nU, nX0, nU0, game.T, C, rows, width, this.initialCell, ...(projection === 'interpolate' ? [0x1e7e] : [])]);
  }

  /** Where a state sits, for messages: "(x0=.., cell=.., mu=[..])". */
  describeRow(r: number): string {
    const c = r % this.cells;
    return describeState({ x0: Math.floor(r / this.cells), cell: c }, this.grid.point(c));
  }
}

/** The grid of a kind. The lattice grid lives in lattice-grid.ts. */
export function makeGrid(kind: GridKind, nX: number, bins: number): MeanFieldGrid {
  if (kind === 'midpoint') return new MidpointGrid(nX, bins);
  if (kind === 'lattice') return new LatticeGrid(nX, bins);
  throw new RangeError(`grid: unknown grid kind '${kind}'`);
}
