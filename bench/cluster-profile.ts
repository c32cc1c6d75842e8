// Inputs of the scaling model (bench/cluster-model.ts) measured on the problem itself, in the bench's
// process: the cost of the flow and of each step per block of cells (the cost profile), and, for a shard
// cut, each node's halo plan per t (the rows it reads from each peer, the rows whose step reads one: the
// late part, merged as the node merges them) and what computing that plan costs. Relative costs only: the
// bench scales them to a 1-node cluster run's own step and flow times (docs/cluster.md, "Scaling model").

import { Problem } from '../shared/problem.ts';
import { builtinGames } from '../shared/games/index.ts';
import { buildGame } from '../shared/validate.ts';
import type { SolverTables, TableOptions } from '../shared/tables.ts';
import type { ProblemSpec } from '../coordinator/executor.ts';
import { schemeKernels } from '../shared/kernels/scheme.ts';
import { ruleNeedsQ, updateRange, type UpdateRule } from '../shared/kernels/update.ts';
import { packValueRow, valueRowWidth } from '../shared/kernels/exploitability.ts';
import { haloPlanAt } from '../shared/cluster-partition.ts';
import { shardOfCell } from '../shared/cluster-messages.ts';
import { closeGaps, LATE_GAP } from '../worker/shard-tables.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';
import type { NodeWork, Scale } from './cluster-model.ts';
import { threadCpu } from '../runtime/thread-cpu.ts';

/**
 * Seconds of this thread's CPU (schedstat: other processes' load does not count), or of wall time where
 * unreadable. It advances at scheduler ticks (4 ms here): only for spans of tens of ms, as a node's plan;
 * the profile's short spans stay on the wall clock (their medians, and only their shape, are used).
 */
function clock(): number {
  const c = threadCpu();
  return c ? c.cpuNs / 1e9 : performance.now() / 1000;
}

/** An inline executor that keeps its tables after the run. */
class KeptInline extends InlineExecutor {
  kept?: SolverTables;
  protected override async openTables(spec: ProblemSpec, problem: Problem, options: TableOptions): Promise<SolverTables> {
    return (this.kept = await super.openTables(spec, problem, options));
  }
}

/** The problem and its tables after `iterations` FP iterations inline (the cluster's tables have the same bits). */
export async function tablesAfter(game: string, bins: number, iterations: number): Promise<{ problem: Problem; tables: SolverTables }> {
  const problem = new Problem(buildGame(builtinGames[game], {}), bins);
  const ex = new KeptInline();
  await solve({ game, params: {}, bins }, problem, ex, { algorithm: 'fp', iterations });
  const tables = ex.kept!;
  return { problem, tables };
}

export interface CostProfile {
  /** Cell bounds of the blocks: block b is cells [cellsAt[b], cellsAt[b + 1]) with every x0. */
  cellsAt: number[];
  /** Seconds of the flow (every t) per block. */
  flow: number[];
  /** Seconds of step t (backward + update) per block: step[b][t]. */
  step: number[][];
  /** Seconds to pack (or write) one value row of the halo. */
  haloRow: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Cost per block of cells, the median of `rounds` rounds (each round times every block once, so a burst of
 * another process's load hits a few samples, not one block). Runs the kernels on `tables` and changes them
 * (policies, values, next cells): take the halo plans first.
 */
export function costProfile(problem: Problem, tables: SolverTables, blocks: number, rounds: number): CostProfile {
  const { rows, cells } = problem;
  const { T, nX0 } = problem.game;
  const kernels = schemeKernels(problem);
  const cellsAt = Array.from({ length: blocks + 1 }, (_, b) => Math.round((b * cells) / blocks));
  const flowS: number[][] = cellsAt.slice(1).map(() => []);
  const stepS: number[][][] = cellsAt.slice(1).map(() => Array.from({ length: T }, () => []));
  const rule: UpdateRule = { kind: 'average', iteration: 2 }; // FP's update
  const storeQ = ruleNeedsQ(rule);
  for (let round = 0; round < rounds; round++) {
    for (let b = 0; b < blocks; b++) {
      const [ca, cb] = [cellsAt[b], cellsAt[b + 1]];
      let t0 = performance.now();
      for (let t = 0; t < T; t++) for (let x0 = 0; x0 < nX0; x0++) kernels.flow(tables, t * rows + x0 * cells + ca, t * rows + x0 * cells + cb);
      flowS[b].push((performance.now() - t0) / 1000);
      for (let t = T - 1; t >= 0; t--) {
        t0 = performance.now();
        for (let x0 = 0; x0 < nX0; x0++) {
          kernels.backward(tables, t, x0 * cells + ca, x0 * cells + cb, { storeQ });
          updateRange(problem, tables, t, x0 * cells + ca, x0 * cells + cb, rule);
        }
        stepS[b][t].push((performance.now() - t0) / 1000);
      }
    }
  }
  // one value row packed, as a node's gather does per row sent (its scatter per row received is the same
  // copy): the fastest of 5 rounds of 8 x 4096 rows, the first round warming the code up
  const w = valueRowWidth(problem.game.nX);
  const out = new Float64Array(w * 4096);
  let haloRow = Infinity;
  for (let round = 0; round < 5; round++) {
    const tp = performance.now();
    for (let rep = 0; rep < 8; rep++) for (let i = 0; i < 4096; i++) packValueRow(tables, problem.game.nX, (i * 7919) % rows, out, i * w);
    haloRow = Math.min(haloRow, (performance.now() - tp) / 1000 / (8 * 4096));
  }
  return { cellsAt, flow: flowS.map(median), step: stepS.map((s) => s.map(median)), haloRow };
}

/** The profile's totals: seconds of the flow and of the T steps over all blocks. */
export function profileTotals(p: CostProfile): { flow: number; step: number } {
  let step = 0;
  for (const s of p.step) for (const x of s) step += x;
  return { flow: p.flow.reduce((a, b) => a + b, 0), step };
}

export interface HaloPlans {
  cellBounds: number[];
  /** rowsFrom[k][t][j]: rows of V(t+1) node k reads from node j for step t. */
  rowsFrom: number[][][];
  /** lateRows[k][t][b]: node k's rows in block b whose step t reads a halo row (the late ranges, gaps merged). */
  lateRows: number[][][];
  /** CPU seconds (this thread's; wall where unreadable) to compute node k's halo plan (every t), in the bench's process. */
  planSeconds: number[];
}

/** Each node's halo plan for a cut (cellBounds, cell-major as the scheduler cuts), as the nodes compute it. */
export function haloPlans(problem: Problem, tables: SolverTables, cellBounds: number[], profile: Pick<CostProfile, 'cellsAt'>): HaloPlans {
  const { rows, cells } = problem;
  const { T, nX0 } = problem.game;
  const N = cellBounds.length - 1;
  const owner = new Int32Array(rows);
  for (let r = 0; r < rows; r++) owner[r] = shardOfCell(cellBounds, r % cells);
  const mark = new Uint8Array(rows);
  const [next, vertices] = problem.projection === 'interpolate' ? [tables.nextVertex, problem.game.nX] : [tables.nextCell, 1];
  const blockOf = new Int32Array(cells);
  for (let b = 0; b + 1 < profile.cellsAt.length; b++) blockOf.fill(b, profile.cellsAt[b], profile.cellsAt[b + 1]);
  const rowsFrom: number[][][] = [];
  const lateRows: number[][][] = [];
  const planSeconds: number[] = [];
  for (let k = 0; k < N; k++) {
    const own: number[] = [];
    for (let x0 = 0; x0 < nX0; x0++) for (let c = cellBounds[k]; c < cellBounds[k + 1]; c++) own.push(x0 * cells + c);
    const ownRows = Int32Array.from(own);
    const from: number[][] = [];
    const late: number[][] = [];
    let seconds = 0;
    for (let t = 0; t < T; t++) {
      const perPeer = new Array<number>(N).fill(0);
      const perBlock = new Array<number>(profile.cellsAt.length - 1).fill(0);
      // step T-1 reads V(T) = 0, which nobody sends (the nodes plan t = 0..T-2 only)
      if (t < T - 1 && N > 1) {
        const t0 = clock();
        const plan = haloPlanAt(problem, next, t, ownRows, owner, k, mark, vertices, [cellBounds[k], cellBounds[k + 1]]);
        const merged = closeGaps(plan.late, LATE_GAP, cells);
        seconds += clock() - t0;
        for (const [j, list] of plan.from) perPeer[j] = list.length;
        for (let i = 0; i < merged.length; i += 2) for (let r = merged[i]; r < merged[i + 1]; r++) perBlock[blockOf[r % cells]]++;
      }
      from.push(perPeer);
      late.push(perBlock);
    }
    rowsFrom.push(from);
    lateRows.push(late);
    planSeconds.push(seconds);
  }
  return { cellBounds, rowsFrom, lateRows, planSeconds };
}

/** Node k's work for the model: the profile over its cells, its late part and halo per t (bench/cluster-model.ts). */
export function nodeWork(problem: Problem, profile: CostProfile, plans: HaloPlans, scale: Scale, bytesPerRow: number): NodeWork[] {
  const { T, nX0 } = problem.game;
  const N = plans.cellBounds.length - 1;
  const { cellsAt } = profile;
  const blocks = cellsAt.length - 1;
  // share[k][b]: the fraction of block b's cells that node k owns
  const share = plans.cellBounds.slice(0, N).map((ca, k) => {
    const cb = plans.cellBounds[k + 1];
    return cellsAt.slice(0, blocks).map((a, b) => {
      const z = cellsAt[b + 1];
      return z > a ? Math.max(0, Math.min(cb, z) - Math.max(ca, a)) / (z - a) : 0;
    });
  });
  return share.map((sh, k) => {
    let flow = 0;
    for (let b = 0; b < blocks; b++) flow += sh[b] * profile.flow[b];
    const step: number[] = [];
    const late: number[] = [];
    const haloCost: number[] = [];
    const haloIn: number[][] = [];
    for (let t = 0; t < T; t++) {
      let s = 0;
      let l = 0;
      for (let b = 0; b < blocks; b++) {
        s += sh[b] * profile.step[b][t];
        const blockRows = (cellsAt[b + 1] - cellsAt[b]) * nX0;
        if (blockRows > 0) l += (plans.lateRows[k][t][b] / blockRows) * profile.step[b][t];
      }
      step.push(s * scale.step);
      late.push(l * scale.step);
      // step t writes the rows received for it and packs the rows of V(t) the peers read at t - 1
      let rowsIn = 0;
      for (const n of plans.rowsFrom[k][t]) rowsIn += n;
      let rowsOut = 0;
      if (t >= 1) for (let j = 0; j < N; j++) if (j !== k) rowsOut += plans.rowsFrom[j][t - 1][k];
      haloCost.push((rowsIn + rowsOut) * profile.haloRow * scale.step);
      haloIn.push(plans.rowsFrom[k][t].map((n) => n * bytesPerRow));
    }
    // the plan is CPU time already (the profile's wall times are scaled to the node's)
    return { flow: flow * scale.flow + plans.planSeconds[k], step, late, haloCost, haloIn };
  });
}
