// A node's shard of the solver tables and the kernels run on it (the jobs of shared/cluster-node-core.ts).
// The node owns the cells [ca, cb) with every x0: for each (t, x0) one contiguous run of rows
// [x0 * cells + ca, x0 * cells + cb). The tables keep the solver's global layout (shared/tables.ts), so the
// kernels run unchanged on each run of rows; they are allocated at full size but only the shard's rows
// (and the halo rows of the value slots) are ever written, and the pages of an ArrayBuffer that are never
// written are never resident: a node's memory follows its shard, not the problem.

import type { Problem } from '../shared/problem.ts';
import { allocateTables, type InitialPolicy, type SolverTables } from '../shared/tables.ts';
import { schemeKernels, type SchemeKernels } from '../shared/kernels/scheme.ts';
import { startVertices } from '../shared/kernels/start-interpolated.ts';
import { packValueRow, valueRowsAt } from '../shared/kernels/exploitability.ts';
import { LatticeInterpolator } from '../shared/kernels/interpolate.ts';
import { ruleNeedsQ, updateRange, type UpdateRule } from '../shared/kernels/update.ts';
import { haloPlanAt } from '../shared/cluster-partition.ts';
import { blockChanges, CHANGE_BLOCK_CELLS } from '../shared/value-change.ts';
import { ownedRanges, shardOfCell, valueRowWidth, type BestTable, type PolicyTable, type ShardRun, type ValueFn } from '../shared/cluster-messages.ts';
import type { Job, JobResult, StepPart } from '../shared/cluster-node-core.ts';
import { newNodeTrace, type NodeTrace } from '../shared/cluster-node-trace.ts';
import { wireArray } from '../shared/cluster-wire.ts';
import type { Piscina } from 'piscina';
import { threadCpuMs } from '../runtime/thread-cpu.ts';
import { createSharedRun, type SweepResult, type SweepRun, type SweepTask } from '../shared/sweep-protocol.ts';

/** The node's thread pool: the shard's rows are cut into chunks that run there (worker/sweep-worker.ts). */
export interface ShardPool {
  readonly pool: Piscina<SweepTask, SweepResult>;
  readonly threads: number;
}

type Chunked = { kind: 'flowRows'; tFrom: number; tTo: number; ranges: Int32Array } | { kind: 'step'; t: number; rule: UpdateRule; ranges: Int32Array } | { kind: 'backward'; discount: number; slot: number } | { kind: 'update'; rule: UpdateRule };

type HaloPlan = { from: Iterable<[number, Int32Array]>; late: Int32Array };

interface Saved {
  values: Float64Array[];
  q: Float64Array[];
  greedy?: Int32Array[];
}

export class ShardTables {
  readonly tables: SolverTables;
  readonly ca: number;
  readonly cb: number;
  private readonly slices: number;
  private readonly kernels: SchemeKernels;
  private readonly ownRows: Int32Array;
  private readonly owner: Int32Array;
  private readonly mark: Uint8Array;
  /** Per t, after a finite-horizon flow: the shard's rows whose step reads a halo row, as ranges [a, b). */
  private late: Int32Array[] = [];
  /** Per t: the shard's rows that read no halo row (the complement of `late`), filled as steps ask. */
  private earlyRanges: Int32Array[] = [];
  /** The shard's runs of rows as ranges [a, b), one per x0. */
  private readonly allRanges: Int32Array;
  /**
   * Work measured in this iteration per block of CHANGE_BLOCK_CELLS cells (global block index; thread-ms: the
   * flow spread over the shard's cells, each step's kernel time over the rows it computed). Finite-horizon
   * iterations only (undefined otherwise); reported with 'done' to steer a re-cut, never read by a kernel.
   */
  private blockCosts?: Float64Array;
  /** The head ranges of split steps, by their send lists (the tail job gets the head's list). */
  private readonly heads = new WeakMap<object, Int32Array>();
  private readonly saved = new Map<ValueFn, Saved>();
  /** With a pool: the tables on SharedArrayBuffers, as the sweep threads attach them. */
  private readonly sweepRun?: SweepRun;
  private seq = 0;
  /**
   * The next iteration's flow run ahead (flowAhead): the halo plans of the slices it has finished, and its
   * work (as the flow's: the pool's thread time, else the wall time). Used by the next flow that says where
   * the run ahead stopped; any other flow drops it.
   */
  private ahead: { plans: Map<number, HaloPlan>; work: number } = { plans: new Map(), work: 0 };
  /** The best iterate's slots (save / promote), full-size like the tables; only the shard's rows are used. */
  private keepSlots?: { saved: { minorPolicy: Float64Array; majorPolicy: Float64Array }; best: { minorPolicy: Float64Array; majorPolicy: Float64Array } };

  constructor(
    readonly problem: Problem,
    readonly run: ShardRun,
    readonly shard: number,
    private readonly threads?: ShardPool,
    /** Where the steps' time goes (shared/cluster-node-trace.ts). */
    private readonly trace: NodeTrace = newNodeTrace(),
    /** Rows per pool thread (or per one-thread node) in a chunk of the flow run ahead. */
    private readonly aheadRows = AHEAD_ROWS,
  ) {
    this.ca = run.cellBounds[shard];
    this.cb = run.cellBounds[shard + 1];
    if (threads) {
      const shared = createSharedRun(run.spec, problem, run.tableOptions);
      this.tables = shared.tables;
      // the threads' Problem keeps the shard's rows only, as this one (worker/shard-node.ts)
      this.sweepRun = { ...shared.run, cells: [this.ca, this.cb] };
    } else {
      this.tables = allocateTables(problem, undefined, run.tableOptions);
    }
    this.slices = run.tableOptions.slices ?? problem.game.T;
    this.kernels = schemeKernels(problem);
    const { cells, rows } = problem;
    const own: number[] = [];
    for (const [a, b] of this.runs()) for (let r = a; r < b; r++) own.push(r);
    this.ownRows = Int32Array.from(own);
    this.allRanges = Int32Array.from([...this.runs()].flat());
    this.owner = new Int32Array(rows);
    for (let r = 0; r < rows; r++) this.owner[r] = shardOfCell(run.cellBounds, r % cells);
    this.mark = new Uint8Array(rows);
  }

  /** The rows of a part of step t, as ranges [a, b) in increasing order (computed once per t after each flow). */
  private partRanges(t: number, part: StepPart): Int32Array {
    const all = this.allRanges;
    const late = this.late[t];
    if (part === 'all') return all;
    // no plan for t (none is expected): everything waits for the halo, which is always right
    if (!late) return part === 'late' ? all : new Int32Array(0);
    if (part === 'late') return late;
    return (this.earlyRanges[t] ??= subtractRanges(all, late));
  }

  /**
   * The rows of a split step's head: the rows the readers ask for, as increasing ranges, with gaps under
   * LATE_GAP rows closed (fewer kernel calls; the rows between are computed early too, which is harmless).
   */
  private headRanges(send: ReadonlyArray<{ rows: Int32Array }>): Int32Array {
    let n = 0;
    for (const s of send) n += s.rows.length;
    const rows = new Int32Array(n);
    n = 0;
    for (const s of send) {
      rows.set(s.rows, n);
      n += s.rows.length;
    }
    rows.sort();
    // at most one range per row, written in place of a typed array (no number[] growth: this runs every step)
    const ranges = new Int32Array(2 * rows.length);
    let m = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (m > 0 && ranges[m - 1] >= r) {
        if (ranges[m - 1] === r) ranges[m - 1] = r + 1;
      } else {
        ranges[m++] = r;
        ranges[m++] = r + 1;
      }
    }
    return closeGaps(ranges.subarray(0, m), LATE_GAP, this.problem.cells);
  }

  /** The shard's runs of rows, [a, b) per x0. */
  *runs(): Generator<[number, number]> {
    if (this.cb <= this.ca) return;
    for (let x0 = 0; x0 < this.problem.game.nX0; x0++) yield [x0 * this.problem.cells + this.ca, x0 * this.problem.cells + this.cb];
  }

  /** Runs a job; `pause` is awaited between slices of long jobs, so the node's timers (heartbeats) still run. */
  async perform(job: Job, pause: () => Promise<void> = async () => {}): Promise<JobResult> {
    switch (job.kind) {
      case 'build':
        return { kind: 'other' };
      case 'init':
        await this.init(job.message.init, pause);
        return { kind: 'other' };
      case 'load':
        this.load(job.message.table, job.message.starts, job.message.lengths, job.message.data);
        return { kind: 'other' };
      case 'read':
        return { kind: 'read', data: this.read(job.message.table, job.message.from, job.message.to) };
      case 'keep':
        this.keep(job.message.op);
        return { kind: 'other' };
      case 'flow':
        return { kind: 'flow', needs: await this.flow(job.vi, pause, job.ahead) };
      case 'flowAhead':
        return { kind: 'flowAhead', last: await this.flowAhead(job.slice, job.chunk) };
      case 'step':
        return { kind: 'step', out: await this.step(job.t, job.part, job.split, job.rule, job.halo, job.send) };
      case 'viReset':
        for (const v of [this.tables.majorBR, this.tables.majorEval, this.tables.minorBR, this.tables.minorEval]) v.fill(0, v.length / 2);
        this.saved.clear();
        return { kind: 'other' };
      case 'viSweep':
        return await this.viSweep(job);
      case 'viFreeze':
        this.freeze(job.fns, job.slot);
        return { kind: 'other' };
      case 'viFinish':
        await this.finish(job.rule);
        return { kind: 'other' };
      case 'startValues':
        return { kind: 'startValues', start: this.startRows(), ...(this.blockCosts ? { costs: this.blockCosts } : {}) };
      case 'snapshot':
      case 'restore':
        throw new Error(`${job.kind}: carried out by the node shell (worker/shard-snapshot.ts)`);
    }
  }

  width(table: PolicyTable | BestTable): number {
    const { nX, nU, nU0 } = this.problem.game;
    return table === 'minorPolicy' || table === 'minorY' || table === 'bestMinorPolicy' ? nX * nU : nU0;
  }

  /** A table by name: the solver tables, or the best slot's policies. */
  table(name: PolicyTable | BestTable): Float64Array {
    if (name === 'bestMinorPolicy') return this.slots().best.minorPolicy;
    if (name === 'bestMajorPolicy') return this.slots().best.majorPolicy;
    return this.tables[name];
  }

  private slots(): NonNullable<ShardTables['keepSlots']> {
    const copy = () => ({ minorPolicy: new Float64Array(this.tables.minorPolicy.length), majorPolicy: new Float64Array(this.tables.majorPolicy.length) });
    this.keepSlots ??= { saved: copy(), best: copy() };
    return this.keepSlots;
  }

  /** save: the shard's rows of the policies into the saved slot; promote: swap saved and best. */
  private keep(op: 'save' | 'promote'): void {
    const s = this.slots();
    if (op === 'promote') {
      [s.saved, s.best] = [s.best, s.saved];
      return;
    }
    const { nX, nU, nU0 } = this.problem.game;
    const rows = this.problem.rows;
    for (let t = 0; t < this.slices; t++) {
      for (const [a, b] of this.runs()) {
        const [ma, mb] = [(t * rows + a) * nX * nU, (t * rows + b) * nX * nU];
        s.saved.minorPolicy.set(this.tables.minorPolicy.subarray(ma, mb), ma);
        s.saved.majorPolicy.set(this.tables.majorPolicy.subarray((t * rows + a) * nU0, (t * rows + b) * nU0), (t * rows + a) * nU0);
      }
    }
  }

  /** The initial policy on the shard's rows; slice by slice, pausing (a big shard takes seconds to fill). */
  private async init(init: InitialPolicy, pause: () => Promise<void>): Promise<void> {
    const { nX, nU, nU0 } = this.problem.game;
    const rows = this.problem.rows;
    const breathe = breather(pause);
    for (let t = 0; t < this.slices; t++) {
      for (const [a, b] of this.runs()) {
        fillRange(this.tables.minorPolicy, (t * rows + a) * nX * nU, (t * rows + b) * nX * nU, nU, init);
        fillRange(this.tables.majorPolicy, (t * rows + a) * nU0, (t * rows + b) * nU0, nU0, init);
      }
      await breathe();
    }
  }

  private load(table: PolicyTable | BestTable, starts: Float64Array, lengths: Float64Array, data: Float64Array): void {
    const target = this.table(table);
    const w = this.width(table);
    let o = 0;
    for (let i = 0; i < starts.length; i++) {
      const s = starts[i];
      const n = lengths[i];
      // only the shard's own rows may be written
      const owned = ownedRanges(s, s + n, w, this.problem.cells, this.ca, this.cb);
      if (owned.length !== 2 || owned[0] !== s || owned[1] !== s + n || s + n > target.length) throw new Error(`load: ${table} [${s}, ${s + n}) is not this shard's`);
      target.set(data.subarray(o, o + n), s);
      o += n;
    }
    if (o !== data.length) throw new Error(`load: ${data.length} values for ranges of ${o}`);
  }

  private read(table: PolicyTable | BestTable, from: number, to: number): Float64Array {
    const source = this.table(table);
    const ranges = ownedRanges(from, Math.min(to, source.length), this.width(table), this.problem.cells, this.ca, this.cb);
    let n = 0;
    for (let i = 0; i < ranges.length; i += 2) n += ranges[i + 1] - ranges[i];
    const out = new Float64Array(n);
    let o = 0;
    for (let i = 0; i < ranges.length; i += 2) {
      out.set(source.subarray(ranges[i], ranges[i + 1]), o);
      o += ranges[i + 1] - ranges[i];
    }
    return out;
  }

  /**
   * Next cells of the shard for every slice; then what this shard reads from each other shard per t.
   * `ahead`: flowAhead has run this flow down to that slice and chunk; the rest is done here.
   */
  private async flow(vi: boolean, pause: () => Promise<void>, ahead?: { slice: number; chunk: number }): Promise<Map<string, Int32Array[]>> {
    const { problem, tables } = this;
    const breathe = breather(pause);
    const kept = ahead ? this.ahead : { plans: new Map<number, HaloPlan>(), work: 0 };
    this.ahead = { plans: new Map(), work: 0 };
    let work = kept.work;
    // slices [0, below) are flowed whole here; with `ahead`, slice ahead.slice from its next chunk first
    let below = this.slices;
    if (ahead) {
      below = Math.max(0, ahead.slice);
      if (ahead.slice >= 0) work += await this.flowRanges(ahead.slice, ahead.slice + 1, this.ownRowRanges(ahead.chunk * this.aheadChunkRows(), this.ownRows.length), breathe);
    }
    work += await this.flowRanges(0, below, this.allRanges, breathe);
    this.blockCosts = vi ? undefined : new Float64Array(Math.ceil(problem.cells / CHANGE_BLOCK_CELLS));
    // the flow's work, spread evenly over the shard's cells
    if (this.blockCosts && this.cb > this.ca) {
      for (let c = this.ca; c < this.cb; c++) this.blockCosts[Math.floor(c / CHANGE_BLOCK_CELLS)] += work / (this.cb - this.ca);
    }
    // step t reads V(t + 1): t = 0..T-2 (V(T) = 0 is nobody's); value iteration reads its own slice 0
    const reads = vi ? 1 : this.slices - 1;
    const needs = new Map<string, Int32Array[]>();
    for (const peer of this.run.nodes) if (peer !== this.run.nodes[this.shard]) needs.set(peer, Array.from({ length: reads }, () => new Int32Array(0)));
    this.late = [];
    this.earlyRanges = [];
    if (this.run.nodes.length === 1) return needs;
    const use = (t: number, plan: HaloPlan) => {
      for (const [k, list] of plan.from) needs.get(this.run.nodes[k])![t] = list;
      if (!vi) this.late[t] = closeGaps(plan.late, LATE_GAP, problem.cells);
    };
    // the plans of the slices run ahead are kept; the others are made here
    const planned = Math.min(reads, ahead ? ahead.slice + 1 : reads);
    for (let t = planned; t < reads; t++) use(t, kept.plans.get(t) ?? this.planAt(t));
    if (this.sweepRun) {
      // on the pool, a range of t per task (each t's plan reads only the next cells of t)
      const { pool, threads } = this.threads!;
      const pieces = Math.min(planned, 2 * threads);
      const tasks: Array<Promise<SweepResult>> = [];
      for (let i = 0; i < pieces; i++) {
        const [tFrom, tTo] = [Math.floor((planned * i) / pieces), Math.floor((planned * (i + 1)) / pieces)];
        tasks.push(pool.run({ kind: 'haloPlan', run: this.sweepRun, attempt: 1, tFrom, tTo, cellBounds: this.run.cellBounds, shard: this.shard }));
      }
      const results = await Promise.all(tasks);
      for (let i = 0; i < pieces; i++) results[i].plans!.forEach((plan, j) => use(Math.floor((planned * i) / pieces) + j, plan));
      return needs;
    }
    for (let t = 0; t < planned; t++) {
      use(t, this.planAt(t));
      await breathe();
    }
    return needs;
  }

  /** The halo plan of slice t, on this thread (shared/cluster-partition.ts haloPlanAt). */
  private planAt(t: number): HaloPlan {
    const { problem, tables } = this;
    // the interpolated scheme reads every vertex of the next mean field: nX entries per (t, row, u0)
    const [next, vertices] = problem.projection === 'interpolate' ? [tables.nextVertex, problem.game.nX] : [tables.nextCell, 1];
    const c0 = threadCpuMs();
    const plan = haloPlanAt(problem, next, t, this.ownRows, this.owner, this.shard, this.mark, vertices, [this.ca, this.cb]);
    this.trace.planCpuMs += threadCpuMs() - c0;
    return plan;
  }

  /** The flow kernel over slices [tFrom, tTo) at the rows of `ranges`; returns its work (the pool's thread time, else the wall time, ms). */
  private async flowRanges(tFrom: number, tTo: number, ranges: Int32Array, breathe: () => Promise<void>): Promise<number> {
    if (tTo <= tFrom || ranges.length === 0) return 0;
    if (this.sweepRun) return (await this.chunked({ kind: 'flowRows', tFrom, tTo, ranges })) * this.threads!.threads;
    const f0 = performance.now();
    const rows = this.problem.rows;
    for (let t = tFrom; t < tTo; t++) {
      const c0 = threadCpuMs();
      for (let i = 0; i < ranges.length; i += 2) this.kernels.flow(this.tables, t * rows + ranges[i], t * rows + ranges[i + 1]);
      this.trace.flowCpuMs += threadCpuMs() - c0;
      await breathe();
    }
    return performance.now() - f0;
  }

  /**
   * One chunk of the next iteration's flow, run ahead (shared/cluster-node-core.ts Job 'flowAhead'): slice
   * `slice` at the shard's rows of chunk `chunk`; after the slice's last chunk, its halo plan (kept for the
   * flow). Returns whether the chunk was the slice's last.
   */
  private async flowAhead(slice: number, chunk: number): Promise<boolean> {
    const size = this.aheadChunkRows();
    const last = (chunk + 1) * size >= this.ownRows.length;
    this.ahead.work += await this.flowRanges(slice, slice + 1, this.ownRowRanges(chunk * size, (chunk + 1) * size), async () => {});
    if (last && this.run.nodes.length > 1 && slice < this.slices - 1) this.ahead.plans.set(slice, this.planAt(slice));
    return last;
  }

  /** Rows of a flow-ahead chunk: aheadRows per pool thread (or for a one-thread node). */
  private aheadChunkRows(): number {
    return Math.max(1, this.aheadRows) * (this.threads?.threads ?? 1);
  }

  /** The shard's rows [from, to) in its own order (its runs of rows one after another), as row ranges. */
  private ownRowRanges(from: number, to: number): Int32Array {
    const out: number[] = [];
    let seen = 0;
    const all = this.allRanges;
    for (let i = 0; i < all.length; i += 2) {
      const [a, b] = [all[i], all[i + 1]];
      const [lo, hi] = [Math.max(from, seen), Math.min(to, seen + b - a)];
      if (lo < hi) out.push(a + lo - seen, a + hi - seen);
      seen += b - a;
    }
    return Int32Array.from(out);
  }

  /**
   * A part of step t (shared/cluster-node-core.ts Job 'step'). Each row's backward step and update read only
   * V(t + 1) and the row's own slice t, so the parts, in any order, write the bits of one whole step.
   */
  private async step(t: number, part: StepPart, split: 'head' | 'tail' | undefined, rule: UpdateRule, halo: Array<{ rows: Int32Array; values: Float64Array }>, send: Array<{ peer: string; rows: Int32Array }>): Promise<Array<{ peer: string; values: Float64Array }>> {
    const { problem, tables } = this;
    const read = (t + 1) & 1;
    const tr = this.trace;
    const t0 = performance.now();
    // the value after the last epoch is 0 (t = T - 1 is always 'all'; its tail reads the slot cleared by its head)
    if (t === this.slices - 1 && split !== 'tail') this.clearSlot(read);
    for (const h of halo) this.scatter(read, h.rows, h.values);
    let ranges = this.partRanges(t, part);
    if (split) {
      // the head and the tail of a step carry the same send lists: the tail reuses the head's ranges
      const head = this.heads.get(send) ?? this.headRanges(send);
      if (split === 'head') this.heads.set(send, head);
      ranges = split === 'head' ? intersectRanges(ranges, head) : subtractRanges(ranges, head);
    }
    if (part === 'early') tr.earlySteps++;
    let n = 0;
    for (let i = 0; i < ranges.length; i += 2) n += ranges[i + 1] - ranges[i];
    tr.stepRows += n;
    tr.kernelCalls += ranges.length / 2;
    if (part === 'late') tr.lateRows += n;
    if (part === 'early') tr.earlyRows += n;
    if (split === 'head') {
      tr.headRows += n;
      tr.headSteps++;
    }
    const t1 = performance.now();
    if (this.sweepRun) {
      tr.threadMs += await this.chunked({ kind: 'step', t, rule, ranges }, (c, ms) => this.addCosts(c, ms));
    } else {
      const options = { storeQ: ruleNeedsQ(rule) };
      const c0 = threadCpuMs();
      for (let i = 0; i < ranges.length; i += 2) {
        const r0 = performance.now();
        this.kernels.backward(tables, t, ranges[i], ranges[i + 1], options);
        updateRange(problem, tables, t, ranges[i], ranges[i + 1], rule);
        this.addRangeCost(ranges[i], ranges[i + 1], (performance.now() - r0) / (ranges[i + 1] - ranges[i]));
      }
      tr.threadMs += performance.now() - t1;
      tr.kernelCpuMs += threadCpuMs() - c0;
    }
    const t2 = performance.now();
    const out = split === 'tail' ? [] : send.map((s) => ({ peer: s.peer, values: this.gather(t & 1, s.rows) }));
    tr.scatterMs += t1 - t0;
    tr.kernelMs += t2 - t1;
    tr.gatherMs += performance.now() - t2;
    return out;
  }

  /** Adds `ms` of work, spread evenly, to the blocks of the rows of ranges [r[2i], r[2i + 1]) (finite-horizon iterations only). */
  private addCosts(ranges: Int32Array, ms: number): void {
    let n = 0;
    for (let i = 0; i < ranges.length; i += 2) n += ranges[i + 1] - ranges[i];
    if (!this.blockCosts || n === 0) return;
    for (let i = 0; i < ranges.length; i += 2) this.addRangeCost(ranges[i], ranges[i + 1], ms / n);
  }

  /** Adds `perRow` ms for each row of [a, b) to its block, a block at a time (up to the block's, the cell run's or the range's end). */
  private addRangeCost(a: number, b: number, perRow: number): void {
    const costs = this.blockCosts;
    if (!costs) return;
    const cells = this.problem.cells;
    for (let r = a; r < b; ) {
      const c = r % cells;
      const block = Math.floor(c / CHANGE_BLOCK_CELLS);
      const len = Math.min(b - r, (block + 1) * CHANGE_BLOCK_CELLS - c, cells - c);
      costs[block] += len * perRow;
      r += len;
    }
  }

  private async viSweep(job: Extract<Job, { kind: 'viSweep' }>): Promise<JobResult> {
    const { problem, tables } = this;
    const cur = job.sweep & 1;
    for (const h of job.halo) this.scatter(cur ^ 1, h.rows, h.values);
    if (this.sweepRun) await this.chunked({ kind: 'backward', discount: job.discount, slot: cur });
    else for (const [a, b] of this.runs()) this.kernels.backward(tables, 0, a, b, { discount: job.discount, slot: cur, storeQ: true });
    const blocks = job.open.map((fn) => {
      const { values, width } = this.part(fn);
      const n = problem.rows * width;
      return blockChanges(values, (cur ^ 1) * n, values, cur * n, width, problem.game.nX0, problem.cells, this.ca, this.cb);
    });
    return { kind: 'viSweep', out: job.send.map((s) => ({ peer: s.peer, values: this.gather(cur, s.rows) })), blocks };
  }

  private part(fn: ValueFn): { values: Float64Array; width: number; q: Float64Array; greedy?: Int32Array } {
    const t = this.tables;
    const nX = this.problem.game.nX;
    switch (fn) {
      case 'majorBR':
        return { values: t.majorBR, width: 1, q: t.majorQbr, greedy: t.majorGreedy };
      case 'majorEval':
        return { values: t.majorEval, width: 1, q: t.majorQev };
      case 'minorBR':
        return { values: t.minorBR, width: nX, q: t.minorQbr, greedy: t.minorGreedy };
      case 'minorEval':
        return { values: t.minorEval, width: nX, q: t.minorQev };
    }
  }

  /** Saves the shard's rows of the iterate just written (values of `slot`, Q rows, greedy actions). */
  private freeze(fns: readonly ValueFn[], slot: number): void {
    const rows = this.problem.rows;
    for (const fn of fns) {
      const { values, width, q, greedy } = this.part(fn);
      const qw = q.length / rows;
      const s: Saved = { values: [], q: [], greedy: greedy ? [] : undefined };
      for (const [a, b] of this.runs()) {
        s.values.push(values.slice((slot * rows + a) * width, (slot * rows + b) * width));
        s.q.push(q.slice(a * qw, b * qw));
        s.greedy?.push(greedy!.slice(a * width, b * width));
      }
      this.saved.set(fn, s);
    }
  }

  /** Puts the saved iterates into slot 0, the Q rows and greedy actions, then updates slice 0. */
  private async finish(rule: UpdateRule): Promise<void> {
    const rows = this.problem.rows;
    for (const [fn, s] of this.saved) {
      const { values, width, q, greedy } = this.part(fn);
      const qw = q.length / rows;
      let i = 0;
      for (const [a] of this.runs()) {
        values.set(s.values[i], a * width);
        q.set(s.q[i], a * qw);
        if (greedy && s.greedy) greedy.set(s.greedy[i], a * width);
        i++;
      }
    }
    if (this.sweepRun) await this.chunked({ kind: 'update', rule });
    else for (const [a, b] of this.runs()) updateRange(this.problem, this.tables, 0, a, b, rule);
  }

  /**
   * One kernel over the shard's rows on the pool (a step: over its part's ranges), cut into chunks of about
   * equal rows, two per thread, all in flight at once. Chunks write disjoint rows, so the bits do not depend
   * on the cut. Returns the threads' compute time per thread (statistics); `onChunk` gets each chunk's
   * ranges and its thread's compute time (ms).
   */
  private async chunked(work: Chunked, onChunk?: (ranges: Int32Array, ms: number) => void): Promise<number> {
    const run = this.sweepRun!;
    const { pool, threads } = this.threads!;
    const seq = (this.seq = (this.seq % 0x7fffffff) + 1);
    const ranges = work.kind === 'step' || work.kind === 'flowRows' ? work.ranges : this.allRanges;
    const tasks: Array<Promise<SweepResult>> = [];
    const chunks = chunkRanges(ranges, 2 * threads, work.kind === 'step');
    // a step's chunk may gather several short ranges; the other kernels take one range per task
    for (const c of chunks) {
      const base = { run, attempt: 1, rowFrom: c[0], rowTo: c[c.length - 1] };
      const task: SweepTask =
        work.kind === 'flowRows'
          ? { ...base, kind: 'flowRows', tFrom: work.tFrom, tTo: work.tTo }
          : work.kind === 'step'
            ? { ...base, kind: 'step', t: work.t, rule: work.rule, seq, ...(c.length > 2 ? { ranges: c } : {}) }
            : work.kind === 'backward'
              ? { ...base, kind: 'backward', t: 0, options: { discount: work.discount, slot: work.slot, storeQ: true } }
              : { ...base, kind: 'update', t: 0, rule: work.rule, seq };
      tasks.push(pool.run(task));
    }
    const settled = await Promise.allSettled(tasks);
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    let ms = 0;
    settled.forEach((x, i) => {
      if (x.status !== 'fulfilled') return;
      ms += x.value.ms;
      onChunk?.(chunks[i], x.value.ms);
    });
    return ms / threads;
  }

  private clearSlot(slot: number): void {
    const { rows, game } = this.problem;
    const t = this.tables;
    t.majorBR.fill(0, slot * rows, (slot + 1) * rows);
    t.majorEval.fill(0, slot * rows, (slot + 1) * rows);
    t.minorBR.fill(0, slot * rows * game.nX, (slot + 1) * rows * game.nX);
    t.minorEval.fill(0, slot * rows * game.nX, (slot + 1) * rows * game.nX);
  }

  /** Value rows of `slot`, packed per row as [majorBR, majorEval, minorBR[nX], minorEval[nX]]. */
  gather(slot: number, list: ArrayLike<number>): Float64Array {
    const { rows, game } = this.problem;
    const nX = game.nX;
    const w = valueRowWidth(nX);
    const t = this.tables;
    // sent as is: the frame is written in front of it (shared/cluster-wire.ts wireArray)
    const out = wireArray(list.length * w);
    for (let i = 0; i < list.length; i++) packValueRow(t, nX, slot * rows + list[i], out, i * w);
    return out;
  }

  private scatter(slot: number, list: Int32Array, values: Float64Array): void {
    const { rows, game } = this.problem;
    const nX = game.nX;
    const w = valueRowWidth(nX);
    if (!(values instanceof Float64Array) || values.length !== list.length * w) throw new Error(`halo: ${values?.length} values for ${list.length} rows`);
    const t = this.tables;
    for (let i = 0; i < list.length; i++) {
      const r = slot * rows + list[i];
      t.majorBR[r] = values[i * w];
      t.majorEval[r] = values[i * w + 1];
      for (let x = 0; x < nX; x++) {
        t.minorBR[r * nX + x] = values[i * w + 2 + x];
        t.minorEval[r * nX + x] = values[i * w + 2 + nX + x];
      }
    }
  }

  /**
   * V(0) at (x0, c0) for every x0, when this shard owns the cell c0. Interpolated: for each vertex cell of mu0
   * (weight > 0) this shard owns, in increasing cell order, the block [cell, its packed rows] (startBlocks).
   */
  private startRows(): Float64Array | undefined {
    if (this.problem.projection === 'interpolate') {
      const { cells, weights } = startVertices(this.problem, new LatticeInterpolator(this.problem.grid));
      const mine = [...new Set(Array.from(cells).filter((c, j) => weights[j] > 0 && c >= this.ca && c < this.cb))].sort((a, b) => a - b);
      if (mine.length === 0) return undefined;
      return Float64Array.from(mine.flatMap((c) => [c, ...valueRowsAt(this.problem, this.tables, c)]));
    }
    const c0 = this.problem.initialCell;
    if (c0 < this.ca || c0 >= this.cb) return undefined;
    return this.gather(0, Array.from({ length: this.problem.game.nX0 }, (_, x0) => x0 * this.problem.cells + c0));
  }
}

/**
 * Late ranges closer than this many rows are merged (the rows between wait for the halo too): on Cyber M = 60
 * a shard's late rows fall into ~400 ranges per step, and a kernel call per range made the split step ~15%
 * slower than a whole one; with gaps under 64 rows closed, 6 to 13 ranges remain and a third or more of the
 * rows still run early (the early part only has to outlast the halo's arrival).
 */
export const LATE_GAP = 64;

/**
 * Rows per pool thread (or per one-thread node) in a chunk of the flow run ahead: ~1 ms of flow on Cyber
 * (~0.4 us per row), so a step whose halo arrives while a chunk runs starts at most that much later.
 */
export const AHEAD_ROWS = 2048;

/** Merges ranges [r[2i], r[2i + 1]) whose gap is under `gap` rows and lies within one x0 (rows of one cell run). */
export function closeGaps(r: Int32Array, gap: number, cells: number): Int32Array {
  const out = new Int32Array(r.length);
  let m = 0;
  for (let i = 0; i < r.length; i += 2) {
    const end = m > 0 ? out[m - 1] : -1;
    if (end >= 0 && r[i] - end < gap && Math.floor((end - 1) / cells) === Math.floor(r[i] / cells)) out[m - 1] = r[i + 1];
    else {
      out[m++] = r[i];
      out[m++] = r[i + 1];
    }
  }
  return out.slice(0, m);
}

/** Rows of increasing ranges `a` that are not in increasing ranges `b`, as increasing ranges. */
export function subtractRanges(a: Int32Array, b: Int32Array): Int32Array {
  // each range of b splits at most one range of a in two: a.length + b.length bounds the output
  const out = new Int32Array(a.length + b.length);
  let m = 0;
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let x = a[i];
    const y = a[i + 1];
    while (j < b.length && b[j + 1] <= x) j += 2;
    for (let k = j; k < b.length && b[k] < y; k += 2) {
      if (b[k] > x) {
        out[m++] = x;
        out[m++] = b[k];
      }
      x = Math.max(x, b[k + 1]);
    }
    if (x < y) {
      out[m++] = x;
      out[m++] = y;
    }
  }
  return out.slice(0, m);
}

/** Rows in both increasing ranges `a` and `b`, as increasing ranges. */
export function intersectRanges(a: Int32Array, b: Int32Array): Int32Array {
  // every output range ends where a range of a or of b ends
  const out = new Int32Array(a.length + b.length);
  let m = 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = Math.max(a[i], b[j]);
    const y = Math.min(a[i + 1], b[j + 1]);
    if (x < y) {
      out[m++] = x;
      out[m++] = y;
    }
    if (a[i + 1] < b[j + 1]) i += 2;
    else j += 2;
  }
  return out.slice(0, m);
}

/**
 * Cuts increasing row ranges [r[2i], r[2i + 1]) into about `pieces` chunks of equal rows; each chunk is its
 * ranges as [a, b) pairs. `gather`: a chunk may hold several ranges (else each range is cut on its own, as
 * a task takes one range).
 */
export function chunkRanges(r: Int32Array, pieces: number, gather: boolean): Int32Array[] {
  let total = 0;
  for (let i = 0; i < r.length; i += 2) total += r[i + 1] - r[i];
  const target = Math.max(1, Math.ceil(total / Math.max(1, pieces)));
  const out: Int32Array[] = [];
  let cur: number[] = [];
  let rows = 0;
  const close = () => {
    if (cur.length > 0) out.push(Int32Array.from(cur));
    cur = [];
    rows = 0;
  };
  for (let i = 0; i < r.length; i += 2) {
    let a = r[i];
    const b = r[i + 1];
    while (a < b) {
      const take = Math.min(b - a, target - rows);
      cur.push(a, a + take);
      rows += take;
      a += take;
      if (rows >= target) close();
    }
    if (!gather) close();
  }
  close();
  return out;
}

/** Awaits `pause` at most every 20 ms: a long loop on the node's main thread still lets its timers (heartbeats) run. */
function breather(pause: () => Promise<void>): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < 20) return;
    await pause();
    since = performance.now();
  };
}

/** An initial policy over [from, to) of a policy table with n actions per row (as shared/tables.ts initPolicies). */
function fillRange(policy: Float64Array, from: number, to: number, n: number, init: InitialPolicy): void {
  if (init === 'uniform') {
    policy.fill(1 / n, from, to);
    return;
  }
  policy.fill(0, from, to);
  const a = init === 'first' ? 0 : n - 1;
  for (let i = from + a; i < to; i += n) policy[i] = 1;
}
