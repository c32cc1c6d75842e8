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

  constructor(game: GameDefinition, bins: number, gridKind: GridKind = 'midpoint', projection: Projection = 'nearest') {
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

    for (let c = 0; c < C; c++) {
      const mu = grid.point(c);
      for (let x0 = 0; x0 < nX0; x0++) {
        const r = x0 * C + c;
        for (let u0 = 0; u0 < nU0; u0++) {
          const slot = r * nU0 + u0;
          this.majorCount[slot] = majorRow(c, x0, u0, mu);
          let j = slot * width;
          for (let y = 0; y < nX0; y++) {
            if (dense[y] !== 0) {
              this.majorTo[j] = y;
              this.majorP[j++] = dense[y];
            }
          }
          const r0 = callKernel(game, 'majorReward', { x0, u0 }, mu, () => game.majorReward(x0, u0, mu));
          if (!Number.isFinite(r0)) throw rowError(game, 'majorReward', { x0, u0 }, mu, `returned ${r0} (grid cell ${c})`);
          this.majorR[slot] = r0;
          for (let x = 0; x < nX; x++) {
            for (let u = 0; u < nU; u++) {
              const off = ((slot * nX + x) * nU + u) * nX;
              this.minorP.fill(NaN, off, off + nX);
              callKernel(game, 'minorKernel', { x, u, x0, u0 }, mu, () => game.minorKernel(x, u, x0, u0, mu, this.minorP, off));
              const badRow = distributionProblem(this.minorP, off, nX);
              if (badRow) throw rowError(game, 'minorKernel', { x, u, x0, u0 }, mu, `${badRow} (grid cell ${c})`);
              const rr = callKernel(game, 'minorReward', { x, u, x0, u0 }, mu, () => game.minorReward(x, u, x0, u0, mu));
              if (!Number.isFinite(rr)) throw rowError(game, 'minorReward', { x, u, x0, u0 }, mu, `returned ${rr} (grid cell ${c})`);
              this.minorR[(slot * nX + x) * nU + u] = rr;
            }
          }
        }
      }
    }
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
