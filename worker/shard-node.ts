// The shell of a cluster node: feeds received messages and finished jobs to the pure node state
// (shared/cluster-node-core.ts) and carries out its instructions: send, run a job on the shard's tables
// (worker/shard-tables.ts), log what was dropped. It owns the heartbeat timer and the logger; every log line
// carries the node and run ids.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { isGamePath, resolveGameFamily } from '../shared/game-source.ts';
import { COORDINATOR, type ClusterMessage, type ToNode, type ToPeer } from '../shared/cluster-messages.ts';
import { newNodeState, nodeStep, type Job, type NodeEvent, type NodeInstruction, type NodeState } from '../shared/cluster-node-core.ts';
import type { Transport } from '../shared/cluster-transport.ts';
import { newNodeTrace } from '../shared/cluster-node-trace.ts';
import { ShardTables, type ShardPool } from './shard-tables.ts';
import { createThreadPool } from '../runtime/thread-pool.ts';
import type { ShardStore } from '../shared/shard-store.ts';
import { snapshotJob } from './shard-snapshot.ts';
import { buildShardProblem, checkShardMemory } from './shard-build.ts';
import { nodePoolThreads } from '../shared/memory-estimate.ts';
import { machineMemory } from '../runtime/machine-memory.ts';
import { threadCpuMs } from '../runtime/thread-cpu.ts';
import type { SweepResult, SweepTask } from '../shared/sweep-protocol.ts';

export interface ShardNodeOptions {
  transport: Transport;
  /** Threads this node offers (its weight in the shard cut). */
  threads: number;
  heartbeatMs?: number;
  /** false: run the kernels on the calling thread (tests); default: a pool of `threads` threads when `threads` > 1. */
  pool?: boolean;
  logger?: Logger;
  /** Memory this node may use (bytes): a shard whose estimate needs more is refused (default: the machine's). */
  memory?: number;
  /** Its own snapshot bucket and read access to the others' (absent: snapshot orders are refused). */
  store?: ShardStore;
  /** Rows per thread in a chunk of the flow run ahead (default AHEAD_ROWS; tests make chunks small). */
  aheadRows?: number;
}

/**
 * How long a node waits idle before it runs the next iteration's flow ahead: most halo rows come within a
 * fraction of a millisecond of being waited for, and a chunk run then would delay the step they start, and
 * with it the halo its peer waits for (the nodes' steps are a chain).
 */
export const AHEAD_GRACE_MS = 1;

export class ShardNode {
  readonly state: NodeState;
  private shard?: ShardTables;
  private timer?: NodeJS.Timeout;
  private leaving = false;
  private readonly logger?: Logger;
  /** The pool the shard's kernels run on (started at the first run). */
  private pool?: ShardPool;
  /** Where this node's time goes; sent with every heartbeat (shared/cluster-node-trace.ts). */
  readonly trace = newNodeTrace();
  /** When the last job ended, while none runs; when the current finite iteration's order arrived. */
  private idleSince?: number;
  /** When the event loop last had a turn (an I/O callback, a timer or an immediate ran). */
  private lastTurn = 0;
  private iterationCpu = 0;
  private iterationStart?: number;
  /** This thread's CPU when the current finite iteration's flow started (ms). */
  private iterationOwnCpu = 0;
  /** An 'idle' event is due after the loop's next turn (the flow may run ahead: shared/cluster-node-core.ts). */
  private idlePoke = false;

  constructor(private readonly options: ShardNodeOptions) {
    this.state = newNodeState(options.transport.self);
    this.logger = options.logger?.child({ component: 'node', node: options.transport.self });
  }

  get id(): string {
    return this.options.transport.self;
  }

  start(): void {
    const t = this.options.transport;
    t.listen((from, message) => this.feed({ kind: 'message', from, message: message as ToNode | ToPeer, now: Date.now() }));
    const beat = () =>
      t.send(COORDINATOR, {
        type: 'hb',
        threads: this.options.threads,
        state: this.leaving ? 'leaving' : 'ready',
        sent: t.bytes.sent,
        received: t.bytes.received,
        peakRss: process.resourceUsage().maxRSS * 1024,
        memory: this.options.memory ?? machineMemory().bytes,
        trace: { ...this.trace, decodeMs: t.timing?.decodeMs ?? 0 },
      });
    beat();
    this.timer = setInterval(beat, this.options.heartbeatMs ?? 500);
  }

  /** Announces that it leaves and stops beating; what it was doing is abandoned (the coordinator reassigns). */
  async stop(): Promise<void> {
    if (this.leaving) return;
    this.leaving = true;
    clearInterval(this.timer);
    this.options.transport.send(COORDINATOR, { type: 'hb', threads: this.options.threads, state: 'leaving' });
    await this.options.transport.close();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.pool.destroy();
  }

  /** The connection is back after an outage: once the others are back too, send this order's messages again. */
  reconnected(): void {
    for (const ms of [1_000, 3_000]) setTimeout(() => this.feed({ kind: 'resend', now: Date.now() }), ms).unref();
  }

  private feed(event: NodeEvent): void {
    if (this.leaving) return;
    const t0 = performance.now();
    if (event.kind !== 'message') {
      this.execute(nodeStep(this.state, event));
    } else {
      this.lastTurn = t0;
      this.execute(nodeStep(this.state, event));
      this.trace.messagesIn++;
      this.trace.receiveMs += performance.now() - t0;
    }
    // nothing to run: ask again after AHEAD_GRACE_MS (halo rows that came meanwhile are in), so that the
    // next iteration's flow fills a longer wait; after a chunk of it, after one turn of the loop; not after
    // an 'idle' event (it had its turn)
    if (event.kind !== 'idle' && !this.state.busy && this.state.ahead && !this.idlePoke) {
      this.idlePoke = true;
      const poke = () => {
        this.idlePoke = false;
        this.lastTurn = performance.now();
        this.feed({ kind: 'idle', now: Date.now() });
      };
      if (event.kind === 'done' && event.job.kind === 'flowAhead') setImmediate(poke);
      else setTimeout(poke, AHEAD_GRACE_MS);
    }
  }

  private execute(instructions: NodeInstruction[]): void {
    for (const ins of instructions) {
      switch (ins.kind) {
        case 'send': {
          const t0 = performance.now();
          this.options.transport.send(ins.to, ins.message as ClusterMessage);
          this.trace.messagesOut++;
          this.trace.sendMs += performance.now() - t0;
          break;
        }
        case 'dropped':
          this.logger?.warn({ runId: this.state.run?.id, why: ins.why }, 'message dropped');
          break;
        case 'run': {
          const queued = performance.now();
          if (ins.job.kind === 'step' && this.idleSince !== undefined) this.trace.haloWaitMs += queued - this.idleSince;
          if (ins.job.kind === 'flow') {
            this.iterationStart = ins.job.vi ? undefined : queued;
            this.iterationOwnCpu = threadCpuMs();
          }
          this.idleSince = undefined;
          // the next job starts at once (a microtask: after this event's instructions) while the event loop
          // had a turn in the last 20 ms; otherwise after one (timers: heartbeats; sockets: halo rows)
          if (queued - this.lastTurn < 20) queueMicrotask(() => void this.runJob(ins.job, queued));
          else
            setImmediate(() => {
              this.lastTurn = performance.now();
              void this.runJob(ins.job, queued);
            });
          break;
        }
      }
    }
  }

  private async runJob(job: Job, queued: number): Promise<void> {
    const t0 = performance.now();
    const cpu0 = cpuMs();
    const own0 = threadCpuMs();
    this.trace.queueMs += t0 - queued;
    try {
      if (job.kind === 'build') this.shard = await this.build(job.run, job.shard);
      if (!this.shard) throw new Error('no run open');
      const result = job.kind === 'snapshot' || job.kind === 'restore' ? await snapshotJob(this.shard, this.options.store, job) : await this.shard.perform(job, () => new Promise((r) => setImmediate(r)));
      this.account(job, t0, cpu0, own0);
      this.logger?.trace({ runId: this.state.run?.id, job: job.kind, ms: performance.now() - t0 }, 'job done');
      this.feed({ kind: 'done', job, result, now: Date.now() });
    } catch (err) {
      const error = (err as Error)?.message ?? String(err);
      this.logger?.warn({ runId: this.state.run?.id, job: job.kind, err: error }, 'job failed');
      this.feed({ kind: 'failed', job, error, now: Date.now() });
    }
    if (!this.state.busy) this.idleSince = performance.now();
  }

  /** Adds a finished job's time to the trace (finite-horizon iterations only). */
  private account(job: Job, t0: number, cpu0: number, own0: number): void {
    const t = this.trace;
    const now = performance.now();
    if (job.kind === 'flowAhead') {
      // flow work whenever it ran: in the previous iteration's waits or between iterations (also in aheadMs)
      t.flowMs += now - t0;
      t.flowOwnCpuMs += threadCpuMs() - own0;
      t.aheadMs += now - t0;
      t.aheadChunks++;
      if (this.iterationStart === undefined) t.aheadBetweenMs += now - t0;
      return;
    }
    if (this.iterationStart === undefined) return;
    if (job.kind === 'flow') this.iterationCpu = cpu0;
    if (job.kind === 'step') {
      if (job.part !== 'early' && job.split !== 'head') t.steps++;
      t.stepMs += now - t0;
      t.stepCpuMs += cpuMs() - cpu0;
      t.stepOwnCpuMs += threadCpuMs() - own0;
    } else if (job.kind === 'flow') {
      t.flowMs += now - t0;
      t.flowOwnCpuMs += threadCpuMs() - own0;
    } else if (job.kind === 'startValues') {
      t.startMs += now - t0;
      t.iterations++;
      t.iterationMs += now - this.iterationStart;
      t.iterationCpuMs += cpuMs() - this.iterationCpu;
      t.ownCpuMs += threadCpuMs() - this.iterationOwnCpu;
      this.iterationStart = undefined;
    }
  }

  private async build(run: Extract<Job, { kind: 'build' }>['run'], shard: number): Promise<ShardTables> {
    this.shard = undefined;
    const family = await resolveGameFamily(run.spec.game, (spec) => import(isGamePath(spec) ? pathToFileURL(resolve(spec)).href : spec));
    // only the shard's rows are kept: the kernels read the model at the rows they compute, nowhere else
    const poolThreads = nodePoolThreads(this.options.threads, this.options.pool !== false);
    checkShardMemory(this.id, family, run, shard, { poolThreads, memory: this.options.memory });
    // on a thread of its own: the heartbeats go on while it builds (worker/shard-build.ts)
    const problem = await buildShardProblem(family, { game: run.spec.game, params: run.spec.params, bins: run.spec.bins, gridKind: run.gridKind, projection: run.projection ?? 'nearest', cells: [run.cellBounds[shard], run.cellBounds[shard + 1]] });
    const fingerprint = problem.fingerprint;
    if (fingerprint !== run.fingerprint) {
      throw new Error(`run ${run.id}: the problem rebuilt here differs from the coordinator's (fingerprint ${fingerprint}, expected ${run.fingerprint}); same m3fg version and game module on every node?`);
    }
    // the kernels run on a pool of `threads` threads, or on this thread for a one-thread node (nodePoolThreads;
    // the loop is then busy for one step at a time, far under the heartbeat timeout, and long jobs pause every 20 ms)
    if (poolThreads > 0 && !this.pool) {
      const pool = createThreadPool<SweepTask, SweepResult>('sweep-worker', poolThreads);
      pool.on('error', (err: Error) => this.logger?.warn({ err: err?.message }, 'worker thread error outside a task'));
      this.pool = { pool, threads: poolThreads };
    }
    const tables = new ShardTables(problem, run, shard, this.pool, this.trace, this.options.aheadRows);
    this.logger?.info({ runId: run.id, shard, cells: [tables.ca, tables.cb], rows: problem.rows }, 'shard attached');
    return tables;
  }
}

/** CPU time of this process, all threads (ms). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
