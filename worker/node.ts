// A cluster node (`m3fg worker --nats URL`): takes shard tasks from the coordinator over NATS and runs them
// on its own Piscina pool with the same kernels (and the same worker, ./sweep-worker.ts) as the local
// executor. Protocol and what a node caches: shared/cluster-protocol.ts.
//
//   <prefix>.node.<id>  direct tasks (the coordinator's first choice: the node that holds a chunk's slices)
//   <prefix>.work       claims, in the queue group <prefix>-workers: a task without an owner (a retry) goes
//                       to whichever node answers its claim first
//   <prefix>.hb         this node's heartbeat every heartbeatMs; 'leaving' while it drains
//
// stop() (SIGTERM) drains: no new claims, tasks already received finish and are answered, then it leaves.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Piscina } from 'piscina';
import { createThreadPool } from './thread-pool.ts';
import { isGamePath, resolveGameFamily } from '../shared/game-source.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import type { SolverTables } from '../shared/tables.ts';
import {
  applySliceData,
  bodyWritesSlices,
  CLUSTER_PROTOCOL_VERSION,
  describeBody,
  gatherFlowResult,
  gatherValues,
  rowOutputs,
  scatterValues,
  subjects,
  valueRange,
  type Claim,
  type ClusterRun,
  type Heartbeat,
  type TaskFailure,
  type TaskMessage,
  type TaskResult,
} from '../shared/cluster-protocol.ts';
import { connectNats, Wire, type NatsOptions } from './nats-transport.ts';
import { createSharedRun, problemFingerprint, type SweepResult, type SweepRun, type SweepTask } from './sweep-protocol.ts';

export interface NodeOptions {
  nats: NatsOptions;
  /** Threads of the node's pool (tasks run there, never on the thread that talks to NATS). */
  threads: number;
  /** Node id; default host-pid-random. */
  name?: string;
  heartbeatMs?: number;
  /** Runs kept (Problem and tables) at once; the oldest is dropped beyond it (default 2). */
  maxRuns?: number;
  logger?: Logger;
}

interface RunState {
  readonly problem: Problem;
  readonly tables: SolverTables;
  readonly sweepRun: SweepRun;
  /** Slice generations held: key t * rows + rowFrom -> [rowTo, gen]. */
  readonly held: Map<number, [number, number]>;
}

class Miss extends Error {}

export class ClusterNode {
  readonly id: string;
  private nc?: NatsConnection;
  private wire?: Wire;
  private pool?: Piscina<SweepTask, SweepResult>;
  private subs: Subscription[] = [];
  private timer?: NodeJS.Timeout;
  private leaving = false;
  private inFlight = 0;
  private idle?: () => void;
  private seq = 0;
  private readonly runs = new Map<string, Promise<RunState>>();
  private readonly logger?: Logger;
  readonly counters = { tasks: 0, failures: 0, misses: 0, claims: 0 };

  constructor(private readonly options: NodeOptions) {
    this.id = options.name ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    if (!/^[A-Za-z0-9_-]+$/.test(this.id)) throw new Error(`node name '${this.id}': use letters, digits, _ and - only`);
    this.logger = options.logger?.child({ component: 'node', node: this.id });
  }

  async start(): Promise<void> {
    const s = subjects(this.options.nats.prefix ?? 'm3fg');
    this.nc = await connectNats({ ...this.options.nats, name: `m3fg-node-${this.id}` });
    const wire = (this.wire = new Wire(this.nc, (err) => this.logger?.warn({ err: err.message }, 'frame rejected')));
    this.pool = createThreadPool<SweepTask, SweepResult>('sweep-worker', this.options.threads);
    this.pool.on('error', (err: Error) => this.logger?.warn({ err: err?.message }, 'worker thread error outside a task'));
    this.subs.push(wire.subscribe<TaskMessage>(s.node(this.id), (task, msg) => void this.onTask(task, msg)));
    this.subs.push(wire.subscribe<Claim>(s.work, (claim, msg) => this.onClaim(claim, msg), s.queue));
    const beat = () => {
      const hb: Heartbeat = { type: 'hb', node: this.id, threads: this.options.threads, state: this.leaving ? 'leaving' : 'ready' };
      wire.send(s.heartbeat, hb);
    };
    beat();
    this.timer = setInterval(beat, this.options.heartbeatMs ?? 500);
    await this.nc.flush();
    void this.watchStatus(this.nc);
    this.logger?.info({ nats: this.options.nats.url, threads: this.options.threads, prefix: this.options.nats.prefix ?? 'm3fg' }, 'node ready');
  }

  /** Drains: announce leaving, take no claims, finish and answer the tasks received, disconnect. */
  async stop(): Promise<void> {
    if (this.leaving || !this.nc) return;
    this.leaving = true;
    const s = subjects(this.options.nats.prefix ?? 'm3fg');
    this.wire?.send(s.heartbeat, { type: 'hb', node: this.id, threads: this.options.threads, state: 'leaving' } satisfies Heartbeat);
    for (const sub of this.subs) await sub.drain().catch(() => {});
    if (this.inFlight > 0) await new Promise<void>((done) => (this.idle = done));
    clearInterval(this.timer);
    await this.nc.drain().catch(() => {});
    await this.pool?.destroy();
    this.logger?.info(this.counters, 'node stopped');
  }

  /** Resolves when the connection closes for good (after stop(), or a fatal error). */
  async closed(): Promise<void> {
    await this.nc?.closed();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const st of nc.status()) {
      if (st.type === 'disconnect' || st.type === 'reconnect') this.logger?.warn({ event: st.type }, `NATS ${st.type}`);
    }
  }

  private onClaim(claim: Claim, msg: Msg): void {
    if (this.leaving || !msg.reply || claim?.type !== 'claim') return;
    this.counters.claims++;
    this.wire?.send(msg.reply, { type: 'claimed', claimId: claim.claimId, node: this.id });
  }

  private async onTask(task: TaskMessage, msg: Msg): Promise<void> {
    const reply = msg.reply;
    const wire = this.wire;
    if (!reply || !wire || task?.type !== 'task') return;
    this.inFlight++;
    const t0 = performance.now();
    try {
      if (task.v !== CLUSTER_PROTOCOL_VERSION) throw new Error(`protocol version ${task.v}, this node speaks ${CLUSTER_PROTOCOL_VERSION}`);
      const state = await this.runState(task.run);
      const result = await this.perform(state, task);
      this.counters.tasks++;
      wire.send(reply, { ...result, ms: performance.now() - t0 } satisfies TaskResult);
    } catch (err) {
      const miss = err instanceof Miss;
      if (miss) this.counters.misses++;
      else this.counters.failures++;
      const error = (err as Error)?.message ?? String(err);
      if (!miss) this.logger?.warn({ task: describeBody(task.body, task.rowFrom, task.rowTo), err: error }, 'task failed');
      wire.send(reply, { type: 'failure', id: task.id, nonce: task.nonce, node: this.id, error, miss } satisfies TaskFailure);
    } finally {
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  private async perform(state: RunState, task: TaskMessage): Promise<Omit<TaskResult, 'ms'>> {
    const { problem, tables, sweepRun, held } = state;
    const { rowFrom: a, rowTo: b, body } = task;
    if (!(Number.isSafeInteger(a) && Number.isSafeInteger(b) && a >= 0 && a < b && b <= problem.rows)) throw new Error(`rows [${a}, ${b}) outside the problem`);
    const rows = problem.rows;
    for (const s of task.slices) {
      const key = s.t * rows + a;
      if (s.data) {
        held.delete(key);
        applySliceData(problem, tables, s.t, a, b, s.data);
        held.set(key, [b, s.gen]);
      } else {
        const h = held.get(key);
        if (!h || h[0] !== b || h[1] !== s.gen) throw new Miss(`slice t=${s.t} rows [${a}, ${b}) generation ${s.gen} not held`);
      }
    }
    const writes = bodyWritesSlices(body);
    if (writes) for (const s of task.slices) held.delete(s.t * rows + a); // half-written on failure: forget them
    const base = { type: 'result' as const, id: task.id, nonce: task.nonce, node: this.id };
    const pool = this.pool!;
    let out: Omit<TaskResult, 'ms'>;
    switch (body.kind) {
      case 'flow':
        await pool.run({ kind: 'flowRows', run: sweepRun, attempt: 1, tFrom: body.tFrom, tTo: body.tTo, rowFrom: a, rowTo: b });
        out = { ...base, nextCell: gatherFlowResult(problem, tables, body.tFrom, body.tTo, a, b) };
        break;
      case 'step':
        scatterValues(problem, tables, body.values);
        await pool.run({ kind: 'step', run: sweepRun, attempt: 1, t: body.t, rowFrom: a, rowTo: b, rule: body.rule, seq: this.nextSeq() });
        out = {
          ...base,
          values: body.returnRows ? gatherValues(problem, tables, body.t & 1, body.returnRows) : valueRange(problem, tables, body.t & 1, a, b),
          ...rowOutputs(problem, tables, a, b, body.storeQ),
        };
        break;
      case 'backward': {
        scatterValues(problem, tables, body.values);
        await pool.run({ kind: 'backward', run: sweepRun, attempt: 1, t: body.t, rowFrom: a, rowTo: b, options: body.options });
        const slot = body.options.slot ?? body.t & 1;
        out = { ...base, values: valueRange(problem, tables, slot, a, b), ...rowOutputs(problem, tables, a, b, body.options.storeQ ?? false) };
        break;
      }
    }
    if (writes) for (const s of task.slices) held.set(s.t * rows + a, [b, s.gen + 1]);
    return out;
  }

  private nextSeq(): number {
    this.seq = (this.seq % 0x7fffffff) + 1;
    return this.seq;
  }

  /** The run's Problem and tables, built once per run id (fingerprint-checked); the oldest run is dropped. */
  private runState(run: ClusterRun): Promise<RunState> {
    let state = this.runs.get(run.id);
    if (!state) {
      state = this.buildRun(run);
      this.runs.set(run.id, state);
      state.catch(() => this.runs.delete(run.id));
      while (this.runs.size > (this.options.maxRuns ?? 2)) this.runs.delete(this.runs.keys().next().value as string);
    }
    return state;
  }

  private async buildRun(run: ClusterRun): Promise<RunState> {
    const t0 = performance.now();
    const family = await resolveGameFamily(run.spec.game, (spec) => import(isGamePath(spec) ? pathToFileURL(resolve(spec)).href : spec));
    const problem = new Problem(buildGame(family, run.spec.params), run.spec.bins, run.gridKind);
    const fingerprint = problemFingerprint(problem);
    if (fingerprint !== run.fingerprint) {
      throw new Error(`run ${run.id}: the problem rebuilt here differs from the coordinator's (fingerprint ${fingerprint}, expected ${run.fingerprint}); same m3fg version and game module on every node?`);
    }
    const { run: sweepRun, tables } = createSharedRun(run.spec, problem, run.tableOptions);
    this.logger?.info({ runId: run.id, game: run.spec.game, bins: run.spec.bins, rows: problem.rows, ms: Math.round(performance.now() - t0) }, 'run attached');
    return { problem, tables, sweepRun, held: new Map() };
  }
}
