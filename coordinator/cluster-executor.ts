// The cluster executor: the sweeps of every solver iteration sharded over `m3fg worker` nodes connected by
// NATS. Bitwise identical to the inline executor for any number of nodes: a node runs the same kernels on
// the same bits, and every result is written back into the coordinator's tables (the truth), where the
// coordinator applies the policy update itself (updateRange, the same function the node applies to its copy).
// What travels and what nodes cache: shared/cluster-protocol.ts.
//
// Rows are cut into K contiguous chunks at open(); chunk k belongs to the k mod n-th live node (sorted ids),
// so the node that updated a slice is the one that flows it next (no policy data moves once warm).
//   flow():        one task per (chunk, block of slices); the next cells come back.
//   step(t, rule): one task per chunk: the value rows of t + 1 its next cells reference go out; the value
//                  rows of t that the step at t - 1 will reference (all of them at t <= 1), the greedy actions
//                  and (softmax / OMD) the Q rows come back; then the coordinator updates the chunk's slice t.
//                  step() resolves when every chunk of t has: the barrier between slices.
//   backward():    like a step without the update; all written value rows come back (value iteration).
//   update():      on the coordinator, over all rows (cheap); the nodes' copies of slice t become stale.
// Caller contract (the solver keeps it): policies are written directly only between open() and the first
// flow(); a step(t) is followed by step(t - 1) or by reads of value slots 0 and 1 only.
//
// Failures. A task's attempt ends with its result, an error reply, its deadline (taskTimeoutMs), or its node
// falling silent (no heartbeat for heartbeatTimeoutMs: a killed node is noticed in seconds). The next attempt
// is offered through the queue group (a claim; the first node to answer gets the task with all its data).
// Replies that match no outstanding attempt (late, duplicate, forged: id and random nonce must match) are
// ignored; one that matches but does not fit its task (shared/cluster-protocol.ts checkResult) fails the attempt.

import { randomBytes, randomUUID } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import { OptionError } from '../shared/errors.ts';
import type { Problem } from '../shared/problem.ts';
import { allocateTables, type SolverTables, type TableOptions } from '../shared/tables.ts';
import type { StepOptions } from '../shared/kernels/backward.ts';
import { ruleNeedsQ, updateRange, type UpdateRule } from '../shared/kernels/update.ts';
import {
  applyFlowResult,
  applyRowOutputs,
  bodyWritesSlices,
  checkResult,
  CLUSTER_PROTOCOL_VERSION,
  describeBody,
  gatherValues,
  referencedRows,
  sliceData,
  subjects,
  type Claim,
  type ClusterRun,
  type Heartbeat,
  type ReplyMessage,
  type SliceRef,
  type TaskBody,
  type TaskMessage,
  type TaskResult,
  type ValueRows,
} from '../shared/cluster-protocol.ts';
import { connectNats, Wire, type NatsOptions } from '../worker/nats-transport.ts';
import { problemFingerprint } from '../worker/sweep-protocol.ts';
import type { ProblemSpec } from './executor.ts';
import { TableExecutor } from './table-executor.ts';
import { settleAll } from './local-executor.ts';

export interface ClusterExecutorOptions {
  nats: NatsOptions;
  logger?: Logger;
  /** Row chunks (default: 2 per node thread at open(), at most one per row). */
  chunks?: number;
  chunksPerThread?: number;
  /** open() waits for this many nodes (default 1). */
  minNodes?: number;
  /** How long to wait for nodes (at open(), or when none is left), ms (default 60 s). */
  waitForNodesMs?: number;
  /** A node silent this long is gone: its attempts are sent elsewhere (default 3 s; nodes beat every 0.5 s). */
  heartbeatTimeoutMs?: number;
  /** Deadline of one attempt, ms (default 10 min: a live node is caught by the heartbeat, not by this). */
  taskTimeoutMs?: number;
  /** Attempts per task before the call fails (default 5; "send the data" answers do not count). */
  maxAttempts?: number;
  /** Tasks in flight per node thread (p-limit; default 2). */
  inFlightPerThread?: number;
  /** Most slice bytes in one flow task (default 16 MiB). */
  flowTaskBytes?: number;
  /** Every step returns all its value rows, not just those the next step reads (default false). */
  fullValues?: boolean;
}

/** A task that failed every attempt, or no node to run it. */
export class ClusterError extends Error {
  override name = 'ClusterError';
}

type CallKind = 'flow' | 'step' | 'backward';

export interface ClusterStats {
  /** Per kind of call: calls, tasks, bytes sent to nodes, bytes received (whole messages, before framing). */
  traffic: Record<CallKind, { calls: number; tasks: number; bytesOut: number; bytesIn: number; wallMs: number; coordinatorMs: number }>;
  retries: number;
  /** "Send the data" answers (a node lacked a slice generation). */
  misses: number;
  /** Replies that matched no outstanding attempt (late, duplicate, forged). */
  ignoredReplies: number;
  /** Replies that matched an attempt but not its task's shape. */
  malformedReplies: number;
  /** Nodes that took at least one task, and nodes currently live. */
  nodesUsed: number;
  nodesLive: number;
}

interface NodeInfo {
  readonly id: string;
  threads: number;
  state: 'ready' | 'leaving';
  lastSeen: number;
  limit: LimitFunction;
  /** Slice generations this node holds: index t * K + k. */
  held: Map<number, number>;
}

interface Attempt {
  readonly nonce: string;
  readonly node: string;
  readonly task: TaskMessage;
  readonly resolve: (r: TaskResult) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly kind: CallKind;
}

class MissError extends Error {}

export class ClusterExecutor extends TableExecutor {
  readonly name = 'cluster';
  private readonly opts: Required<Omit<ClusterExecutorOptions, 'logger' | 'chunks'>> & Pick<ClusterExecutorOptions, 'chunks'>;
  private readonly logger?: Logger;
  private readonly subj: ReturnType<typeof subjects>;
  private readonly id = randomBytes(8).toString('hex');
  private nc?: NatsConnection;
  private wire?: Wire;
  private subs: Subscription[] = [];
  private monitor?: NodeJS.Timeout;
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly nodesUsed = new Set<string>();
  private readonly attempts = new Map<string, Attempt>();
  private readonly claims = new Map<string, (node: string) => void>();
  private nodeWaiters: Array<() => void> = [];
  private problem?: Problem;
  private tables?: SolverTables;
  private run?: ClusterRun;
  private bounds: number[] = [];
  private gen = new Int32Array(0);
  private mark = new Uint8Array(0);
  private taskSeq = 0;
  private listeningSince = 0;
  private readonly counters = { retries: 0, misses: 0, ignoredReplies: 0, malformedReplies: 0 };
  private readonly traffic = Object.fromEntries(
    (['flow', 'step', 'backward'] as const).map((k) => [k, { calls: 0, tasks: 0, bytesOut: 0, bytesIn: 0, wallMs: 0, coordinatorMs: 0 }]),
  ) as ClusterStats['traffic'];

  constructor(options: ClusterExecutorOptions) {
    super();
    this.opts = {
      nats: options.nats,
      chunks: options.chunks,
      chunksPerThread: options.chunksPerThread ?? 2,
      minNodes: options.minNodes ?? 1,
      waitForNodesMs: options.waitForNodesMs ?? 60_000,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 3_000,
      taskTimeoutMs: options.taskTimeoutMs ?? 600_000,
      maxAttempts: options.maxAttempts ?? 5,
      inFlightPerThread: options.inFlightPerThread ?? 2,
      flowTaskBytes: options.flowTaskBytes ?? 16 * 2 ** 20,
      fullValues: options.fullValues ?? false,
    };
    for (const key of ['chunksPerThread', 'minNodes', 'maxAttempts', 'inFlightPerThread'] as const) {
      const v = this.opts[key];
      if (!Number.isSafeInteger(v) || v < 1) throw new OptionError(`cluster executor: ${key} must be an integer >= 1, got ${String(v)}`);
    }
    if (options.chunks !== undefined && !(Number.isSafeInteger(options.chunks) && options.chunks >= 1)) {
      throw new OptionError(`cluster executor: chunks must be an integer >= 1, got ${String(options.chunks)}`);
    }
    this.subj = subjects(options.nats.prefix ?? 'm3fg');
    this.logger = options.logger?.child({ component: 'cluster-executor', coordinator: this.id });
  }

  protected async openTables(spec: ProblemSpec, problem: Problem, options: TableOptions): Promise<SolverTables> {
    await this.connect();
    const rows = problem.rows;
    this.problem = problem;
    this.tables = allocateTables(problem, undefined, options);
    this.run = {
      id: randomUUID(),
      spec: { game: spec.game, params: { ...spec.params }, bins: spec.bins },
      gridKind: problem.grid.kind,
      fingerprint: problemFingerprint(problem),
      tableOptions: { ...options },
    };
    await this.waitForNodes(this.opts.minNodes);
    // every node beats twice a second: after a second of listening, all running nodes are known
    const settle = this.listeningSince + 1_000 - Date.now();
    if (settle > 0) await new Promise((done) => setTimeout(done, settle));
    const threads = [...this.liveNodes()].reduce((s, n) => s + n.threads, 0);
    const K = Math.max(1, Math.min(rows, this.opts.chunks ?? threads * this.opts.chunksPerThread));
    this.bounds = Array.from({ length: K + 1 }, (_, i) => Math.floor((i * rows) / K));
    this.gen = new Int32Array((options.slices ?? problem.game.T) * K);
    this.mark = new Uint8Array(rows);
    for (const n of this.nodes.values()) n.held.clear();
    this.logger?.info({ runId: this.run.id, nodes: this.liveNodes().length, threads, chunks: K, rows }, 'cluster run opened');
    return this.tables;
  }

  async flow(): Promise<void> {
    const { problem, tables } = this.ready();
    const { nX, nU, nU0 } = problem.game;
    const K = this.bounds.length - 1;
    const slices = this.gen.length / K;
    const perRow = (nX * nU + nU0) * 8 + nU0 * 4 + (tables.minorY.length > 0 ? (nX * nU + nU0) * 8 : 0);
    const tasks: Array<Promise<void>> = [];
    const t0 = this.begin('flow');
    for (let k = 0; k < K; k++) {
      const a = this.bounds[k];
      const b = this.bounds[k + 1];
      const block = Math.max(1, Math.min(slices, Math.floor(this.opts.flowTaskBytes / Math.max(1, (b - a) * perRow))));
      for (let tFrom = 0; tFrom < slices; tFrom += block) {
        const tTo = Math.min(slices, tFrom + block);
        const ts = Array.from({ length: tTo - tFrom }, (_, i) => tFrom + i);
        tasks.push(
          this.runTask('flow', k, ts, { kind: 'flow', tFrom, tTo }, (res) => applyFlowResult(problem, tables, tFrom, tTo, a, b, res.nextCell!)),
        );
      }
    }
    await this.end('flow', t0, tasks);
  }

  async step(t: number, rule: UpdateRule): Promise<void> {
    const { problem, tables } = this.ready();
    // the rows of slot t that step(t - 1) will read; all of them at t <= 1 (the read-out's slots)
    const wanted = this.opts.fullValues || t <= 1 ? null : referencedRows(problem, tables.nextCell, t - 1, 0, problem.rows, this.mark);
    const storeQ = ruleNeedsQ(rule);
    await this.rowSweep(
      'step',
      t,
      (t & 1) ^ 1,
      (a, b, values) => ({ kind: 'step', t, rule, storeQ, values, returnRows: wanted ? wanted.subarray(lowerBound(wanted, a), lowerBound(wanted, b)) : null }),
      (a, b, res) => {
        applyRowOutputs(problem, tables, a, res);
        updateRange(problem, tables, t, a, b, rule);
      },
    );
  }

  async backward(t: number, options: StepOptions): Promise<void> {
    const { problem, tables } = this.ready();
    await this.rowSweep(
      'backward',
      t,
      (options.slot ?? t & 1) ^ 1,
      (_a, _b, values) => ({ kind: 'backward', t, options: { ...options }, values }),
      (a, _b, res) => applyRowOutputs(problem, tables, a, res),
    );
  }

  /** One task per chunk at time t, each carrying the value rows of `readSlot` its rows reference. */
  private async rowSweep(
    kind: 'step' | 'backward',
    t: number,
    readSlot: number,
    body: (a: number, b: number, values: ValueRows) => TaskBody,
    apply: (a: number, b: number, res: TaskResult) => void,
  ): Promise<void> {
    const { problem, tables } = this.ready();
    const tasks: Array<Promise<void>> = [];
    const t0 = this.begin(kind);
    for (let k = 0; k < this.bounds.length - 1; k++) {
      const a = this.bounds[k];
      const b = this.bounds[k + 1];
      const values = gatherValues(problem, tables, readSlot, referencedRows(problem, tables.nextCell, t, a, b, this.mark));
      tasks.push(this.runTask(kind, k, [t], body(a, b, values), (res) => apply(a, b, res)));
    }
    await this.end(kind, t0, tasks);
  }

  async update(t: number, rule: UpdateRule): Promise<void> {
    const { problem, tables } = this.ready();
    updateRange(problem, tables, t, 0, problem.rows, rule);
    const K = this.bounds.length - 1;
    for (let k = 0; k < K; k++) this.gen[t * K + k]++; // the nodes' copies of slice t are stale now
  }

  protected async closeTables(): Promise<void> {
    clearInterval(this.monitor);
    this.monitor = undefined;
    for (const a of this.attempts.values()) {
      clearTimeout(a.timer);
      a.reject(new ClusterError('cluster executor: closed'));
    }
    this.attempts.clear();
    const nc = this.nc;
    this.nc = undefined;
    this.wire = undefined;
    this.subs = [];
    this.tables = undefined;
    if (nc) await nc.drain().catch(() => nc.close());
  }

  stats(): ClusterStats {
    return {
      traffic: structuredClone(this.traffic),
      ...this.counters,
      nodesUsed: this.nodesUsed.size,
      nodesLive: this.liveNodes().length,
    };
  }

  // ---- tasks ----

  private begin(kind: CallKind): number {
    this.traffic[kind].calls++;
    return performance.now();
  }

  /** Waits for a call's tasks; books its wall time and the coordinator's own time before the wait. */
  private async end(kind: CallKind, t0: number, tasks: Array<Promise<void>>): Promise<void> {
    this.traffic[kind].coordinatorMs += performance.now() - t0;
    try {
      await settleAll(tasks);
    } finally {
      this.traffic[kind].wallMs += performance.now() - t0;
    }
  }

  /** Runs fn on the coordinator's thread and books its time. */
  private busy<T>(kind: CallKind, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.traffic[kind].coordinatorMs += performance.now() - t0;
    }
  }

  /**
   * One task: chunk k's slices `ts` and a body, to the chunk's owner, then to whoever claims it; `apply`
   * writes the checked result into the tables (then the slices move on a generation where the body writes).
   */
  private async runTask(kind: CallKind, k: number, ts: number[], body: TaskBody, apply: (res: TaskResult) => void): Promise<void> {
    const { problem, tables, run } = this.ready();
    const K = this.bounds.length - 1;
    const a = this.bounds[k];
    const b = this.bounds[k + 1];
    let node: string | undefined = this.owner(k);
    let failures = 0;
    let misses = 0;
    let last: unknown;
    while (failures < this.opts.maxAttempts) {
      node ??= await this.claim();
      const info = this.nodes.get(node)!;
      const slices: SliceRef[] = ts.map((t) => {
        const gen = this.gen[t * K + k];
        return info.held.get(t * K + k) === gen ? { t, gen } : { t, gen, data: sliceData(problem, tables, t, a, b) };
      });
      const task: TaskMessage = {
        type: 'task',
        v: CLUSTER_PROTOCOL_VERSION,
        id: `${this.id}.${(this.taskSeq = (this.taskSeq + 1) >>> 0)}`,
        nonce: randomBytes(16).toString('hex'),
        run,
        rowFrom: a,
        rowTo: b,
        slices,
        body,
      };
      try {
        const res = await info.limit(() => this.attempt(kind, node!, task));
        if (this.tables !== tables) throw new ClusterError('cluster executor: closed');
        this.busy(kind, () => apply(res));
        const writes = bodyWritesSlices(body);
        for (const t of ts) {
          if (writes) this.gen[t * K + k]++;
          info.held.set(t * K + k, this.gen[t * K + k]);
        }
        this.nodesUsed.add(node);
        return;
      } catch (err) {
        if (err instanceof ClusterError) throw err;
        for (const t of ts) info.held.delete(t * K + k);
        if (err instanceof MissError && ++misses <= this.opts.maxAttempts) {
          this.counters.misses++;
          continue; // same node, now with the data
        }
        last = err;
        failures++;
        if (failures < this.opts.maxAttempts) {
          this.counters.retries++;
          this.logger?.warn({ task: describeBody(body, a, b), node, attempt: failures, err: (err as Error)?.message }, 'task failed; offering it to the queue group');
        }
        node = undefined;
        await new Promise((done) => setTimeout(done, 100 * failures)); // let a flapping connection settle
      }
    }
    throw new ClusterError(
      `cluster executor: ${describeBody(body, a, b)} failed ${failures} attempt(s): ${(last as Error)?.message ?? String(last)}`,
      { cause: last },
    );
  }

  /** Sends one attempt to a node; settles with its checked result, its failure, its deadline or the node's loss. */
  private attempt(kind: CallKind, node: string, task: TaskMessage): Promise<TaskResult> {
    const wire = this.wire;
    if (!wire) return Promise.reject(new ClusterError('cluster executor: closed'));
    const info = this.nodes.get(node);
    if (!info || this.isGone(info)) return Promise.reject(new Error(`node ${node} is gone`));
    return new Promise<TaskResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.attempts.delete(task.id);
        reject(new Error(`node ${node}: no answer within ${this.opts.taskTimeoutMs} ms`));
      }, this.opts.taskTimeoutMs);
      this.attempts.set(task.id, { nonce: task.nonce, node, task, resolve, reject, timer, kind });
      const traffic = this.traffic[kind];
      traffic.tasks++;
      traffic.bytesOut += this.busy(kind, () => wire.send(this.subj.node(node), task, this.subj.reply(this.id)));
    });
  }

  private onReply(reply: ReplyMessage, _msg: Msg, bytes: number): void {
    if (reply?.type === 'claimed') {
      const take = typeof reply.claimId === 'string' ? this.claims.get(reply.claimId) : undefined;
      if (take && typeof reply.node === 'string' && /^[A-Za-z0-9_-]+$/.test(reply.node)) {
        this.claims.delete(reply.claimId);
        take(reply.node);
      } else this.counters.ignoredReplies++;
      return;
    }
    const a = reply && typeof reply.id === 'string' ? this.attempts.get(reply.id) : undefined;
    if (!a || reply.nonce !== a.nonce || reply.node !== a.node || (reply.type !== 'result' && reply.type !== 'failure')) {
      this.counters.ignoredReplies++;
      return;
    }
    this.attempts.delete(reply.id);
    clearTimeout(a.timer);
    this.traffic[a.kind].bytesIn += bytes;
    if (reply.type === 'failure') {
      a.reject(reply.miss ? new MissError(reply.error) : new Error(`node ${a.node}: ${reply.error}`));
      return;
    }
    const bad = checkResult(this.problem!, a.task, reply);
    if (bad) {
      this.counters.malformedReplies++;
      a.reject(new Error(`node ${a.node}: malformed result (${bad})`));
      return;
    }
    a.resolve(reply);
  }

  // ---- nodes ----

  private async connect(): Promise<void> {
    if (this.nc) return;
    const nc = await connectNats({ ...this.opts.nats, name: `m3fg-coordinator-${this.id}` });
    const wire = new Wire(nc, (err) => this.logger?.warn({ err: err.message }, 'frame rejected'));
    this.nc = nc;
    this.wire = wire;
    this.subs.push(wire.subscribe<ReplyMessage>(this.subj.reply(this.id), (r, m, bytes) => this.onReply(r, m, bytes)));
    this.subs.push(wire.subscribe<Heartbeat>(this.subj.heartbeat, (hb) => this.onHeartbeat(hb)));
    await nc.flush();
    this.listeningSince = Date.now();
    this.monitor = setInterval(() => this.checkNodes(), 250);
    void (async () => {
      for await (const st of nc.status()) {
        if (st.type === 'disconnect' || st.type === 'reconnect') this.logger?.warn({ event: st.type }, `NATS ${st.type}`);
      }
    })();
  }

  private onHeartbeat(hb: Heartbeat): void {
    if (hb?.type !== 'hb' || typeof hb.node !== 'string' || !/^[A-Za-z0-9_-]+$/.test(hb.node)) return;
    const threads = Number.isSafeInteger(hb.threads) && hb.threads >= 1 ? Math.min(hb.threads, 1024) : 1;
    let info = this.nodes.get(hb.node);
    if (!info) {
      info = { id: hb.node, threads, state: hb.state, lastSeen: Date.now(), limit: pLimit(threads * this.opts.inFlightPerThread), held: new Map() };
      this.nodes.set(hb.node, info);
      this.logger?.info({ node: hb.node, threads }, 'node joined');
    }
    const wasGone = this.isGone(info);
    info.lastSeen = Date.now();
    if (info.state !== hb.state) this.logger?.info({ node: hb.node }, hb.state === 'leaving' ? 'node leaving' : 'node ready');
    info.state = hb.state === 'leaving' ? 'leaving' : 'ready';
    if (wasGone && info.state === 'ready') this.logger?.info({ node: hb.node }, 'node back');
    if (info.state === 'ready') {
      const waiters = this.nodeWaiters;
      this.nodeWaiters = [];
      for (const w of waiters) w();
    }
  }

  private isGone(info: NodeInfo): boolean {
    return Date.now() - info.lastSeen > this.opts.heartbeatTimeoutMs;
  }

  /** Fails the attempts of nodes that fell silent (a leaving node keeps its attempts until it is silent too). */
  private checkNodes(): void {
    for (const a of [...this.attempts.values()]) {
      const info = this.nodes.get(a.node);
      if (info && !this.isGone(info)) continue;
      this.attempts.delete(a.task.id);
      clearTimeout(a.timer);
      a.reject(new Error(`node ${a.node} fell silent (no heartbeat for ${this.opts.heartbeatTimeoutMs} ms)`));
    }
  }

  private liveNodes(): NodeInfo[] {
    return [...this.nodes.values()].filter((n) => n.state === 'ready' && !this.isGone(n)).sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  }

  private owner(k: number): string | undefined {
    const live = this.liveNodes();
    return live.length > 0 ? live[k % live.length].id : undefined;
  }

  private async waitForNodes(count: number): Promise<void> {
    const deadline = Date.now() + this.opts.waitForNodesMs;
    while (this.liveNodes().length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw this.noNodes(count);
      await new Promise<void>((done) => {
        const timer = setTimeout(done, Math.min(left, 500));
        this.nodeWaiters.push(() => {
          clearTimeout(timer);
          done();
        });
      });
    }
  }

  private noNodes(count: number): ClusterError {
    return new ClusterError(
      `cluster executor: ${this.liveNodes().length} of ${count} worker node(s) on ${this.opts.nats.url} within ${this.opts.waitForNodesMs / 1000} s ` +
        `(start one with: m3fg worker --nats ${this.opts.nats.url})`,
    );
  }

  /** Offers a task through the queue group until a node claims it; the node's id. */
  private async claim(): Promise<string> {
    const deadline = Date.now() + this.opts.waitForNodesMs;
    for (;;) {
      const wire = this.wire;
      if (!wire) throw new ClusterError('cluster executor: closed');
      const claimId = randomBytes(12).toString('hex');
      const node = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.claims.delete(claimId);
          resolve(undefined);
        }, 1_000);
        this.claims.set(claimId, (n) => {
          clearTimeout(timer);
          resolve(n);
        });
        wire.send(this.subj.work, { type: 'claim', claimId } satisfies Claim, this.subj.reply(this.id));
      });
      if (node) {
        // an answer to a claim is a sign of life (heartbeats may not have resumed yet after a reconnect)
        const known = this.nodes.get(node);
        if (known) known.lastSeen = Date.now();
        else this.onHeartbeat({ type: 'hb', node, threads: 1, state: 'ready' });
        return node;
      }
      if (Date.now() > deadline) throw this.noNodes(1);
    }
  }

  private ready(): { problem: Problem; tables: SolverTables; run: ClusterRun } {
    if (!this.problem || !this.tables || !this.run) throw new Error('cluster executor: open() first');
    return { problem: this.problem, tables: this.tables, run: this.run };
  }
}

/** First index i with sorted[i] >= x. */
function lowerBound(sorted: Int32Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
