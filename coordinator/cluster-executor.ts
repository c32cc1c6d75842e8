// The owner-computes cluster executor (docs/cluster.md). The coordinator only orchestrates: at open() the
// scheduling core (shared/cluster-scheduler.ts) cuts the cells into shards and hands one to each node; the
// nodes keep their shard's policies, accumulators, next cells and values for every t, run flow, steps and
// updates where the data lives and exchange V(t + 1) halo rows among themselves. The coordinator sees the
// start values at t = 0 (the curve), value-iteration change sums, and, when asked, the policy tables
// streamed shard by shard (policies()): it never holds a whole table.
//
// This file is the shell: it turns the Executor calls into scheduler commands, feeds it messages and a
// clock tick, and carries out its instructions over a Transport (in-process or NATS).

import type { NodeTrace } from '../shared/cluster-node-trace.ts';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Problem } from '../shared/problem.ts';
import { tableLayout, type InitialPolicy, type TableOptions } from '../shared/tables.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';
import { startValuesFromRows, type StartValues } from '../shared/kernels/exploitability.ts';
import { interpolatedStartFromRows, startVertices } from '../shared/kernels/start-interpolated.ts';
import { LatticeInterpolator } from '../shared/kernels/interpolate.ts';
import { PIECE_ELEMENTS, type PolicySources, type TableSource } from '../shared/table-source.ts';
import { COORDINATOR, ownedRanges, SHARD_PROTOCOL_VERSION, SNAPSHOT_PUT_FAILED, type BestTable, type PolicyTable, type ShardRun, type ToCoordinator } from '../shared/cluster-messages.ts';
import { newSchedulerState, refusingNode, schedulerStep, type Command, type CommandResult, type SchedulerInstruction, type SchedulerState } from '../shared/cluster-scheduler.ts';
import type { Transport } from '../shared/cluster-transport.ts';
import { OptionError } from '../shared/errors.ts';
import type { NatsOptions } from '../shared/cluster-nats.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectCoordinator, connectSide } from './cluster-nats.ts';
import { SnapshotBucket, SnapshotFile, type SnapshotStore } from './cluster-snapshot.ts';
import type { ShardStoreAdmin } from '../shared/shard-store.ts';
import { NatsShardStore } from '../runtime/shard-store-nats.ts';
import { pruneObjects } from '../runtime/object-prune.ts';
import { jetstreamManager } from '@nats-io/jetstream';
import { natsNames } from '../shared/nats-names.ts';
import { blockCostsOf, recutPlan } from '../shared/cluster-recut.ts';
import { blockCap } from '../shared/cluster-capacity.ts';
import { tmpdir } from 'node:os';
import { nodeCapacityCells, nodePoolThreads, shardRunShape } from '../shared/memory-estimate.ts';
import type { Executor, IterateHint, ProblemSpec, ValueIterationOptions } from './executor.ts';

/** The scheduler's clock period (ms). */
const TICK_MS = 100;
/** Node-side snapshots given up (the coordinator writes them) after this many failed puts in a row. */
const PUT_FAILURES_TO_FALL_BACK = 3;

export class ClusterError extends Error {
  override name = 'ClusterError';
}

export interface ClusterExecutorOptions {
  /** The coordinator's transport (party 'coord'); the caller closes it. Or: */
  transport?: Transport;
  /** connect to this NATS server at open() (closed by close()). */
  nats?: NatsOptions;
  logger?: Logger;
  /** open() waits for this many nodes (default 1). */
  minNodes?: number;
  /** Use at most this many of the nodes present. */
  maxNodes?: number;
  waitForNodesMs?: number;
  /** A node silent this long is gone (default 10 s; nodes beat every 0.5 s, their kernels and model build run on other threads). */
  heartbeatTimeoutMs?: number;
  /** The longest the nodes may take to build the Problem at open() (default 120 s); they beat meanwhile. */
  buildTimeoutMs?: number;
  /** After the first heartbeat, wait this long for other nodes before cutting shards (default 1 s). */
  settleMs?: number;
  /** Elements per piece when policies are streamed (default 1 Mi: 8 MiB per piece). */
  pieceElements?: number;
  /** Snapshot the policies every K iterations for recovery from node loss (default 20; 0: never, start over). */
  snapshotEvery?: number;
  /**
   * Where snapshots go. By default (and with 'bucket') each node puts its own shard into its own bucket
   * (shared/shard-store.ts) and the coordinator only records which snapshot is complete; when a node refuses
   * (no JetStream, no permission, no store), the coordinator streams the tables itself into the JetStream
   * object store `<prefix>-snapshots` ('bucket': or fails), else (a warning) into a file in snapshotDir.
   * 'disk': the file only.
   */
  snapshotStore?: 'bucket' | 'disk';
  /** Removes superseded objects from the nodes' buckets (in-process runs; over NATS the coordinator's connection does). */
  shardStores?: ShardStoreAdmin;
  /** The folder of 'disk' snapshots (default the system's temporary directory). */
  snapshotDir?: string;
  /** Called as a snapshot write starts, with the iterations it holds (the fault trials kill a node there). */
  onSnapshot?: (iterations: number) => void;
  /** Node losses survived per run before the run fails (default 3). */
  maxRecoveries?: number;
  /**
   * Estimated work per cell (Problem.cells entries, >= 0, any unit): the shards are cut so that each node's
   * sum is in proportion to its threads (shared/cluster-partition.ts cutByCost). Default: equal cells.
   */
  cellCosts?: ArrayLike<number>;
  /**
   * Re-cut the shards once by the work the nodes measure (default off; the CLI turns it on, --no-recut off):
   * after `after` finite-horizon iterations (default 1) the measured costs are cut by cost and, when the
   * slowest shard would shrink by more than `threshold` (default 0.05), the run moves to the new cut at
   * that iteration boundary (snapshot, new run, restore: as after a node is lost). `costs` (tests) replaces
   * the costs a node reported.
   */
  recut?: boolean | { after?: number; threshold?: number; costs?: (node: string, measured: Float64Array) => ArrayLike<number> };
}

/** What the run did, so that it can be done again on other nodes after a node is lost. */
type Step = { kind: 'finite'; rule: UpdateRule; last?: boolean } | { kind: 'vi'; rule: UpdateRule; options: ValueIterationOptions } | { kind: 'keep'; op: 'save' | 'promote' };

/** A failure that re-cutting the shards over the live nodes can get past. */
function isNodeLoss(err: unknown): boolean {
  return err instanceof ClusterError && /^cluster: node \S+ (stopped answering|left during the run)/.test(err.message);
}

export interface ClusterStats {
  nodes: string[];
  cellBounds: number[];
  /** Bytes sent and received by the coordinator. */
  coordinatorBytes: { sent: number; received: number };
  /** Node losses recovered from in this run (shards re-cut, state reloaded, iterations replayed). */
  recoveries: number;
  /** Where this run's snapshots go: the nodes' own buckets, the coordinator's bucket or disk ('none': none taken yet). */
  snapshots: 'nodes' | 'bucket' | 'disk' | 'none';
  /** Per node of the run, as its last heartbeat reported: threads, bytes sent and received, peak RSS, time trace. */
  nodeReports: Array<{ node: string; threads: number; sent: number; received: number; peakRss: number; trace?: NodeTrace }>;
  dropped: number;
  /** Ready nodes that got no shard in the last cut, with why (their announced memory holds no block, or they refused a shard). */
  leftOut: Array<{ node: string; why: string }>;
  /** The decision on re-cutting by measured cost (absent: not taken); recut: whether the shards moved. */
  recut?: { iteration: number; recut: boolean; slowestBefore: number; slowestAfter: number; cellBounds: number[] };
}

export class ClusterExecutor implements Executor {
  readonly name = 'cluster';
  private scheduler: SchedulerState;
  private transport?: Transport;
  private nc?: NatsConnection;
  private fatal?: Error;
  /** While the coordinator's own connection is down, node silence is not counted. */
  private offline = false;
  private readonly pending = new Map<number, { resolve: (r: CommandResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private nextReq = 1;
  private ticker?: NodeJS.Timeout;
  private problem?: Problem;
  private run?: ShardRun;
  /** The last run, for stats() after close(). */
  private closedRun?: ShardRun;
  private n = 0;
  private spec?: ProblemSpec;
  private tableOptions: TableOptions = {};
  /** How the run started: initial policies, or a run's state loaded from sources. */
  private origin?: { init: InitialPolicy } | { sources: PolicySources };
  private history: Step[] = [];
  private snapshot?: SnapshotStore;
  /** The last complete node-side snapshot: its object names' stem, tables and the cut that wrote it. */
  private nodeSnapshot?: { iterations: number; name: string; tables: Array<PolicyTable | BestTable>; cellBounds: number[]; nodes: string[] };
  /** Whether snapshots are still asked of the nodes (false once one refused for good). */
  private nodeSnapshots = true;
  /** Node-side snapshots skipped in a row because a node's put failed. */
  private failedPuts = 0;
  /** Names this executor's objects apart from other runs' in the same buckets. */
  private tag = randomUUID();
  private admin?: ShardStoreAdmin;
  /** Nodes whose snapshot bucket this executor has created or checked (prepareBuckets). */
  private readonly prepared = new Set<string>();
  /** The connection of the snapshot bucket (see connectSide). */
  private sideNc?: NatsConnection;
  private recoveries = 0;
  /** Nodes that refused a shard of this problem (their memory check disagreed with the cut), with their line. */
  private refused = new Map<string, string>();
  private leftOut: ClusterStats['leftOut'] = [];
  private start?: StartValues;
  private omd = false;
  private readonly logger?: Logger;
  /**
   * The best iterate (Executor.saveInput): the nodes keep their shard's saved and best slots; the steps
   * 'keep' are in the history, so recovery replays them. Once keeping, a due snapshot is taken at the next
   * saveInput() (the saved slot is dead then) with the best slot in a second file.
   */
  private keeping = false;
  private hasBest = false;
  private snapshotDue = false;
  private iterationsRun = 0;
  private bestSnapshot?: SnapshotStore;
  private bestOrigin?: PolicySources;
  /** Re-cut by measured cost: costs per block summed over the iterations measured, and the decision once taken. */
  private measured?: { costs: Float64Array; iterations: number };
  private lastCosts?: Map<string, Float64Array>;
  private recutCosts?: Float64Array;
  private recutDecision?: ClusterStats['recut'];
  /** While keeping the best iterate the move waits for the next saveInput() (as a due snapshot does). */
  private recutDue = false;

  constructor(private readonly options: ClusterExecutorOptions) {
    if (!options.transport && !options.nats) throw new OptionError('cluster executor: a transport or NATS options are required');
    for (const key of ['minNodes', 'maxNodes'] as const) {
      const v = options[key];
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) throw new OptionError(`cluster executor: ${key} must be an integer >= 1, got ${String(v)}`);
    }
    this.scheduler = newSchedulerState(
      {
        heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 10_000,
        waitForNodesMs: options.waitForNodesMs ?? 60_000,
        settleMs: options.settleMs ?? 1_000,
        buildTimeoutMs: options.buildTimeoutMs ?? 120_000,
      },
      Date.now(),
    );
    this.logger = options.logger?.child({ component: 'cluster-executor' });
    if (options.transport) this.attach(options.transport);
  }

  /** Starts listening on `transport` and the clock tick. */
  private attach(transport: Transport): void {
    this.transport = transport;
    this.scheduler = newSchedulerState(this.scheduler.config, Date.now());
    transport.listen((from, message) => this.feed({ kind: 'message', from, message: message as ToCoordinator, now: Date.now() }));
    // A tick that comes late (this process's event loop was blocked, e.g. by a long synchronous job) is skipped:
    // the heartbeats that arrived meanwhile are read only after the timers, so judging silence now would lose
    // live nodes. The next tick, 100 ms later, judges with them read.
    let lastTick = Date.now();
    this.ticker = setInterval(() => {
      const now = Date.now();
      const late = now - lastTick > 3 * TICK_MS;
      lastTick = now;
      if (!this.offline && !late) this.feed({ kind: 'tick', now });
    }, TICK_MS);
    this.ticker.unref();
  }

  async open(spec: ProblemSpec, problem: Problem, options: TableOptions = {}): Promise<void> {
    if (!this.transport) {
      const { nc, transport } = await connectCoordinator(this.options.nats!, (err) => {
        this.fatal = err;
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      this.nc = nc;
      this.attach(transport);
      void this.watch(nc);
      await nc.flush();
    }
    if (this.fatal) throw this.fatal;
    this.problem = problem;
    this.spec = spec;
    this.tableOptions = options;
    this.omd = Boolean(options.omd);
    this.n = 0;
    this.start = undefined;
    this.origin = undefined;
    this.history = [];
    this.recoveries = 0;
    this.refused = new Map();
    this.leftOut = [];
    await this.dropSnapshot();
    this.nodeSnapshots = this.options.snapshotStore !== 'disk';
    this.failedPuts = 0;
    this.tag = randomUUID();
    this.keeping = this.hasBest = this.snapshotDue = false;
    this.iterationsRun = 0;
    this.bestOrigin = undefined;
    this.measured = this.lastCosts = this.recutCosts = this.recutDecision = undefined;
    this.recutDue = false;
    // a node lost while the nodes build the model: open again over the live ones (as a recovery does)
    for (;;) {
      try {
        await this.openRun(this.recoveries > 0 ? 1 : (this.options.minNodes ?? 1));
        await this.pruneBuckets();
        return;
      } catch (err) {
        // a refusal that came after the open (recorded, then recovered from as a loss)
        if (!(isNodeLoss(err) || this.leaveOut(err)) || this.recoveries >= (this.options.maxRecoveries ?? 3)) throw err;
        this.recoveries++;
        this.logger?.warn({ err: (err as Error).message, recovery: this.recoveries }, 'node lost while opening: opening over the live nodes');
      }
    }
  }

  /** The store of this run's snapshots (see snapshotStore). */
  private async snapshotStore(): Promise<SnapshotStore> {
    const id = `${this.tag}.${randomUUID()}`; // the run's tag first: the prune at open() keeps only this run's
    if (this.nc && this.options.nats && this.options.snapshotStore !== 'disk') {
      const bucket = natsNames(this.options.nats.prefix).snapshots;
      try {
        this.sideNc ??= await connectSide(this.options.nats);
        const store = await SnapshotBucket.open(this.sideNc, bucket, id);
        this.logger?.info({ runId: this.run?.id, bucket }, 'snapshots go to the JetStream bucket');
        return store;
      } catch (err) {
        if (this.options.snapshotStore === 'bucket') throw new ClusterError(`cluster: the snapshot bucket ${bucket} cannot be opened: ${(err as Error)?.message}`);
        this.logger?.warn({ runId: this.run?.id, bucket, err: (err as Error)?.message }, "no JetStream snapshot bucket: snapshots go to the coordinator's disk");
      }
    }
    return new SnapshotFile(this.options.snapshotDir ?? tmpdir(), id);
  }

  /** Removes the run's snapshot (bounded: with the server gone, a bucket delete would wait). */
  private async dropSnapshot(): Promise<void> {
    const s = this.snapshot;
    this.snapshot = undefined;
    const best = this.bestSnapshot;
    this.bestSnapshot = undefined;
    const bounded = (x?: SnapshotStore) => x && Promise.race([x.remove().catch(() => {}), new Promise((r) => setTimeout(r, 2_000).unref())]);
    const nodes = this.nodeSnapshot;
    this.nodeSnapshot = undefined;
    await Promise.all([bounded(s), bounded(best), nodes && this.removeObjects(nodes.nodes, nodes.name, nodes.tables)]);
  }

  /**
   * Removes from the run's nodes' buckets every object that is not this run's: a coordinator that died (or
   * was killed) never removed its snapshots, and no run can use them (recoveries read only their own run's;
   * --resume reads the checkpoint). One coordinator per subject prefix, so no live run's objects are touched.
   */
  private async pruneBuckets(): Promise<void> {
    const admin = await this.shardAdmin();
    const run = this.ready();
    const bounded = (p: Promise<number[]>) => Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5_000).unref())]);
    const sum = (removed?: number[]) => removed?.reduce((a, b) => a + b, 0) ?? 0;
    const [nodes, own] = await Promise.all([
      admin && bounded(Promise.all(run.nodes.map((node) => admin.prune(node, this.tag).catch(() => 0)))),
      bounded(this.pruneFallbackBucket().then((n) => [n])),
    ]);
    if (sum(nodes) > 0) this.logger?.info({ runId: run.id, removed: sum(nodes) }, "removed other runs' snapshot objects from the nodes' buckets");
    if (sum(own) > 0) this.logger?.info({ runId: run.id, removed: sum(own), bucket: natsNames(this.options.nats!.prefix).snapshots }, "removed other runs' snapshot objects from the coordinator's bucket");
  }

  /** The same for the coordinator's own fallback bucket `<prefix>-snapshots` (its objects are `<tag>.<id>.…`). */
  private async pruneFallbackBucket(): Promise<number> {
    if (!this.nc || !this.options.nats || this.options.snapshotStore === 'disk') return 0;
    this.sideNc ??= await connectSide(this.options.nats).catch(() => undefined);
    if (!this.sideNc) return 0;
    const jsm = await jetstreamManager(this.sideNc, { checkAPI: false });
    return pruneObjects(jsm, natsNames(this.options.nats.prefix).snapshots, this.tag).catch(() => 0);
  }

  private async shardAdmin(): Promise<ShardStoreAdmin | undefined> {
    if (!this.admin) {
      if (this.options.shardStores) this.admin = this.options.shardStores;
      else if (this.options.nats && this.nc) {
        this.sideNc ??= await connectSide(this.options.nats).catch(() => undefined);
        if (this.sideNc) this.admin = new NatsShardStore(this.sideNc, this.options.nats.prefix ?? 'm3fg', COORDINATOR);
      }
    }
    return this.admin;
  }

  /** Removes the objects `<name>.<table>` of the owners' buckets (bounded, failures ignored: leftovers only cost space). */
  private async removeObjects(owners: readonly string[], name: string, tables: ReadonlyArray<PolicyTable | BestTable>): Promise<void> {
    const admin = await this.shardAdmin();
    if (!admin) return;
    const all = Promise.all(owners.flatMap((owner) => tables.map((table) => admin.remove(owner, `${name}.${table}`).catch(() => {}))));
    await Promise.race([all, new Promise((r) => setTimeout(r, 5_000).unref())]);
  }

  /**
   * A node-side snapshot after `at` iterations: every node puts its shard into its own bucket. True when all
   * did (the snapshot is then the one recoveries start from); false when one refused (the caller falls back).
   */
  private async nodeSnapshotAt(at: number): Promise<boolean> {
    const tables: Array<PolicyTable | BestTable> = ['minorPolicy', 'majorPolicy', ...(this.omd ? (['minorY', 'majorY'] as const) : []), ...(this.hasBest ? (['bestMinorPolicy', 'bestMajorPolicy'] as const) : [])];
    const name = `${this.tag}.${at}`;
    const asked = new Set<string>();
    const r = await this.recovering(async () => {
      const run = this.ready();
      await this.prepareBuckets(run.nodes);
      const req = this.nextReq++;
      for (const node of run.nodes) asked.add(node);
      return this.command({ kind: 'orders', orders: run.nodes.map((to) => ({ to, req, message: { type: 'snapshot' as const, run: run.id, req, name, tables } })) });
    }, at);
    const run = this.ready();
    if (r.kind === 'ok' && r.refused) {
      // a put that failed (a server outage, a full disk) skips this snapshot only: the previous one stays the one
      // recoveries start from, and the next is asked of the nodes again; a node with no bucket, or puts failing
      // PUT_FAILURES_TO_FALL_BACK times in a row, hand the snapshots to the coordinator
      const failedPut = [...r.refused.values()].every((why) => why.startsWith(SNAPSHOT_PUT_FAILED));
      if (failedPut && ++this.failedPuts < PUT_FAILURES_TO_FALL_BACK) {
        this.logger?.warn({ runId: run.id, refused: Object.fromEntries(r.refused), at }, "a node's snapshot put failed: snapshot skipped, the previous one stays");
        await this.removeObjects([...asked], name, tables);
        return true;
      }
      this.nodeSnapshots = false;
      this.logger?.warn({ runId: run.id, refused: Object.fromEntries(r.refused) }, "a node cannot keep snapshots: the coordinator writes them from now on");
      const old = this.nodeSnapshot;
      this.nodeSnapshot = undefined;
      await this.removeObjects([...asked], name, tables);
      if (old) await this.removeObjects(old.nodes, old.name, old.tables);
      return false;
    }
    this.failedPuts = 0;
    const old = this.nodeSnapshot;
    this.nodeSnapshot = { iterations: at, name, tables, cellBounds: [...run.cellBounds], nodes: [...run.nodes] };
    // what a node lost mid-put left behind, then the previous snapshot
    const strays = [...asked].filter((n) => !run.nodes.includes(n));
    if (strays.length > 0) await this.removeObjects(strays, name, tables);
    if (old && old.name !== name) await this.removeObjects(old.nodes, old.name, old.tables);
    return true;
  }

  /**
   * Creates (or checks) each node's snapshot bucket before a snapshot is asked of it: a node may create no
   * stream (runtime/object-bucket.ts). A bucket that cannot be made is said here; its node then refuses the
   * put and the coordinator writes the snapshots, as for a node without a bucket.
   */
  private async prepareBuckets(nodes: readonly string[]): Promise<void> {
    const admin = await this.shardAdmin();
    if (!admin) return;
    // once per node and executor (a snapshot every K iterations need not ask the server again); a failure is retried
    await Promise.all(
      nodes
        .filter((node) => !this.prepared.has(node))
        .map((node) =>
          admin.prepare(node).then(
            () => void this.prepared.add(node),
            (err: unknown) => this.logger?.warn({ runId: this.run?.id, node, err: (err as Error)?.message }, `cannot create or check the snapshot bucket of node ${node}`),
          ),
        ),
    );
  }

  /** A new run over the nodes present now (at open(), and after a node is lost). */
  private async openRun(minNodes: number): Promise<void> {
    const problem = this.problem!;
    const spec = this.spec!;
    const run = { id: randomUUID(), v: SHARD_PROTOCOL_VERSION, spec: { game: spec.game, params: { ...spec.params }, bins: spec.bins }, gridKind: problem.grid.kind, ...(problem.projection !== 'nearest' ? { projection: problem.projection } : {}), fingerprint: problem.fingerprint, tableOptions: { omd: this.omd, slices: this.tableOptions.slices ?? problem.game.T, ...(this.tableOptions.keepBest ? { keepBest: true } : {}) } };
    const given = this.options.cellCosts;
    if (given && (given.length !== problem.cells || !Array.prototype.every.call(given, (x: number) => x >= 0 && Number.isFinite(x)))) {
      throw new OptionError(`cluster executor: cellCosts must be ${problem.cells} finite numbers >= 0 (one per cell), got ${given.length} entries`);
    }
    const costs = this.recutCosts ?? (given ? blockCostsOf(given, problem.cells) : undefined);
    const capacity = this.capacity(run);
    for (let attempt = run; ; attempt = { ...run, id: randomUUID() }) {
      let r: CommandResult;
      try {
        r = await this.command({ kind: 'open', run: attempt, cells: problem.cells, minNodes, maxNodes: this.options.maxNodes, capacity, exclude: this.refused, ...(costs ? { blockCosts: costs } : {}) });
      } catch (err) {
        // cut again among the others, as a new run (the others replace the run they were building)
        if (!this.leaveOut(err, attempt.id)) throw err;
        continue;
      }
      if (r.kind !== 'open') throw new ClusterError('cluster: open() got no shard map');
      this.run = r.run;
      this.leftOut = r.leftOut;
      this.logger?.info({ runId: r.run.id, nodes: r.run.nodes, cellBounds: r.run.cellBounds, ...(r.leftOut.length ? { leftOut: r.leftOut } : {}) }, 'shards assigned');
      return;
    }
  }

  /**
   * A node whose own estimate refuses its shard (another version, a --memory below what it announced) is left
   * out of every later cut of this problem: true when `err` is such a refusal, not seen before.
   */
  private leaveOut(err: unknown, runId?: string): boolean {
    const node = err instanceof ClusterError ? refusingNode(err.message) : undefined;
    if (!node || this.refused.has(node)) return false;
    const line = (err as Error).message;
    this.refused.set(node, line.replace(/^cluster: node \S+ refused its shard: (build: )?/, ''));
    this.logger?.warn({ runId: runId ?? this.run?.id, node, err: line }, 'node refused its shard: left out, cutting again among the others');
    return true;
  }

  /** The most cells a node holds: each node's share is cut within its announced memory, by the rule it checks its shard by (worker/shard-build.ts). */
  private capacity(run: Pick<ShardRun, 'spec' | 'gridKind' | 'projection' | 'tableOptions'>): (threads: number, memory: number) => number {
    const game = this.problem!.game;
    const shape = shardRunShape(game, run);
    return (threads, memory) => nodeCapacityCells(game, shape, nodePoolThreads(threads), memory);
  }

  async initPolicies(init: InitialPolicy): Promise<void> {
    this.origin = { init };
    // after a recovery the new run already holds the origin (recover() sends it): an init sent twice would be
    // dropped by the nodes as a duplicate order, and its acks awaited forever
    await this.recovering((restored) => (restored ? Promise.resolve() : this.sendInit(init)), 0);
  }

  private async sendInit(init: InitialPolicy): Promise<void> {
    const run = this.ready();
    await this.command({ kind: 'orders', orders: run.nodes.map((to) => ({ to, message: { type: 'init', run: run.id, init }, req: -2 })) });
  }

  async loadPolicies(policies: PolicySources): Promise<void> {
    this.origin = { sources: policies };
    await this.recovering((restored) => (restored ? Promise.resolve() : this.load(policies)), 0);
  }

  private async load(policies: PolicySources, best = false): Promise<void> {
    const run = this.ready();
    const tables: Array<[PolicyTable | BestTable, TableSource | undefined]> = best
      ? [
          ['bestMinorPolicy', policies.minorPolicy],
          ['bestMajorPolicy', policies.majorPolicy],
        ]
      : [
          ['minorPolicy', policies.minorPolicy],
          ['majorPolicy', policies.majorPolicy],
          ['minorY', policies.minorY],
          ['majorY', policies.majorY],
        ];
    const layout = tableLayout(this.problem!, run.tableOptions);
    for (const [table, source] of tables) {
      if (!source) continue;
      if (source.length !== layout[policyTableOf(table)].length) throw new Error(`resume: the saved ${table} has ${source.length} entries, this problem needs ${layout[policyTableOf(table)].length}`);
      const width = this.width(table);
      let expected = 0;
      await source.read(async (piece, offset) => {
        if (offset !== expected) throw new Error(`resume: ${table} source out of order at ${offset}`);
        expected += piece.length;
        const orders = run.nodes.map((to, k) => {
          const ranges = ownedRanges(offset, offset + piece.length, width, this.problem!.cells, run.cellBounds[k], run.cellBounds[k + 1]);
          const starts = new Float64Array(ranges.length / 2);
          const lengths = new Float64Array(ranges.length / 2);
          let total = 0;
          for (let i = 0; i < ranges.length; i += 2) {
            starts[i / 2] = ranges[i];
            lengths[i / 2] = ranges[i + 1] - ranges[i];
            total += lengths[i / 2];
          }
          const data = new Float64Array(total);
          let o = 0;
          for (let i = 0; i < ranges.length; i += 2) {
            data.set(piece.subarray(ranges[i] - offset, ranges[i + 1] - offset), o);
            o += ranges[i + 1] - ranges[i];
          }
          const req = this.nextReq++;
          return { to, req, message: { type: 'load' as const, run: run.id, req, table, starts, lengths, data } };
        });
        await this.command({ kind: 'orders', orders });
      });
      if (expected !== source.length) throw new Error(`resume: the saved ${table} ended at ${expected} of ${source.length} entries`);
    }
  }

  async iterate(rule: UpdateRule, hint?: IterateHint): Promise<void> {
    await this.step({ kind: 'finite', rule, ...(hint?.last ? { last: true } : {}) });
  }

  async valueIteration(rule: UpdateRule, options: ValueIterationOptions): Promise<number> {
    return this.step({ kind: 'vi', rule, options });
  }

  /** One iteration, recovered from node loss; then a snapshot every snapshotEvery iterations. */
  private async step(step: Step): Promise<number> {
    this.ready();
    this.history.push(step);
    const sweeps = await this.recovering(() => this.run1(step), this.history.length - 1);
    if (step.kind === 'keep') return 0;
    const every = this.options.snapshotEvery ?? 20;
    if (every > 0 && ++this.iterationsRun % every === 0) {
      if (this.keeping) this.snapshotDue = true;
      else await this.takeSnapshot();
    }
    await this.maybeRecut();
    return sweeps;
  }

  /**
   * The policies and (once there is one) the best slot, as one pair: the best goes to a new file first, and
   * replaces the previous pair's only once the policies' snapshot is written, so a node lost in between
   * recovers from the previous pair.
   */
  private async takeSnapshot(): Promise<void> {
    const at = this.history.length;
    this.options.onSnapshot?.(at);
    if (this.nodeSnapshots && (await this.nodeSnapshotAt(at))) return;
    this.snapshot ??= await this.snapshotStore();
    const snapshot = this.snapshot;
    const best = this.hasBest ? await this.snapshotStore() : undefined;
    try {
      if (best) await this.recovering(() => best.write(at, this.bestPolicies()), at);
      await this.recovering(() => snapshot.write(at, this.policies()), at);
    } catch (err) {
      void best?.remove().catch(() => {});
      throw err;
    }
    if (best) {
      void this.bestSnapshot?.remove().catch(() => {});
      this.bestSnapshot = best;
    }
  }

  async saveInput(): Promise<void> {
    this.keeping = true;
    if (this.snapshotDue) {
      this.snapshotDue = false;
      await this.takeSnapshot();
    }
    if (this.recutDue) {
      this.recutDue = false;
      const d = this.recutDecision!;
      await this.moveToCut(`slowest shard ${d.slowestBefore.toFixed(1)} -> ${d.slowestAfter.toFixed(1)} ms per thread (at the next saveInput)`);
    }
    await this.step({ kind: 'keep', op: 'save' });
  }

  async keepSaved(): Promise<void> {
    await this.step({ kind: 'keep', op: 'promote' });
    this.hasBest = true;
  }

  bestPolicies(): PolicySources {
    return { minorPolicy: this.source('bestMinorPolicy'), majorPolicy: this.source('bestMajorPolicy') };
  }

  async loadBest(policies: PolicySources): Promise<void> {
    this.keeping = true;
    this.bestOrigin = policies;
    await this.recovering(() => this.load(policies, true), this.history.length);
    this.hasBest = true;
  }

  private async run1(step: Step): Promise<number> {
    if (step.kind === 'keep') {
      const run = this.ready();
      const req = this.nextReq++;
      await this.command({ kind: 'orders', orders: run.nodes.map((to) => ({ to, req, message: { type: 'keep', run: run.id, req, op: step.op } })) });
      return 0;
    }
    const r =
      step.kind === 'vi'
        ? await this.command({ kind: 'vi', n: this.n++, rule: step.rule, discount: step.options.discount, tolerance: step.options.tolerance, maxSweeps: step.options.maxSweeps ?? 1_000_000 })
        : await this.command({ kind: 'iterate', n: this.n++, rule: step.rule, ...(step.last ? { last: true } : {}) });
    this.takeStart(r);
    this.lastCosts = r.kind === 'iterate' ? r.costs : undefined;
    return r.kind === 'iterate' ? r.sweeps : 0;
  }

  /**
   * Once per run, after the iterations to measure: cut the measured costs by cost (shared/cluster-recut.ts);
   * when that shrinks the slowest shard enough, snapshot and move to the new cut as a recovery does.
   */
  private async maybeRecut(): Promise<void> {
    const option = this.options.recut;
    const costs = this.lastCosts;
    this.lastCosts = undefined;
    if (!option || this.recutDecision || !costs) return;
    const run = this.ready();
    if (run.nodes.some((node) => !costs.has(node))) return;
    const { after = 1, threshold = 0.05, costs: replace } = option === true ? {} : option;
    const m = (this.measured ??= { costs: new Float64Array(costs.get(run.nodes[0])!.length), iterations: 0 });
    for (const node of run.nodes) {
      const c = replace ? replace(node, costs.get(node)!) : costs.get(node)!;
      if (c.length !== m.costs.length) throw new OptionError(`cluster executor: recut.costs must return ${m.costs.length} numbers (one per block), got ${c.length}`);
      for (let b = 0; b < c.length; b++) m.costs[b] += c[b];
    }
    if (++m.iterations < after) return;
    const weights = run.nodes.map((node) => this.scheduler.members.get(node)?.threads ?? 1);
    // the cut by cost within each node's memory, as open() will make it (shared/cluster-scheduler.ts)
    const capacity = this.capacity(run);
    const cells = this.problem!.cells;
    const caps = run.nodes.map((node) => {
      const member = this.scheduler.members.get(node);
      return blockCap(member?.memory !== undefined ? capacity(member.threads, member.memory) : cells, cells);
    });
    const plan = recutPlan(m.costs, run.cellBounds, weights, threshold, caps);
    const iteration = this.history.length;
    this.recutDecision = { iteration, recut: plan.recut, slowestBefore: plan.slowestBefore, slowestAfter: plan.slowestAfter, cellBounds: [...run.cellBounds] };
    const fields = { runId: run.id, iteration, slowestBefore: plan.slowestBefore, slowestAfter: plan.slowestAfter, cellBounds: run.cellBounds };
    if (!plan.recut) {
      this.logger?.info(fields, 'shards kept: a cut by measured cost would not shrink the slowest shard enough');
      return;
    }
    this.recutCosts = Float64Array.from(m.costs);
    const what = `slowest shard ${plan.slowestBefore.toFixed(1)} -> ${plan.slowestAfter.toFixed(1)} ms per thread`;
    if (this.keeping) this.recutDue = true;
    else await this.moveToCut(what);
  }

  /** Snapshot, then a new run on the cut by recutCosts whose nodes restore their rows (as after a node loss). */
  private async moveToCut(what: string): Promise<void> {
    const at = this.history.length;
    await this.takeSnapshot();
    await this.recovering((restored) => (restored ? Promise.resolve() : this.recover(at)), at);
    const run = this.ready();
    if (this.recutDecision) this.recutDecision.cellBounds = [...run.cellBounds];
    this.logger?.info({ runId: run.id, iteration: at, cellBounds: run.cellBounds }, `shards re-cut by cost: ${what}`);
  }

  /**
   * Runs `fn`; when a node is lost meanwhile: a new run over the live nodes, the state of the last snapshot
   * (or the start) loaded, the iterations since replayed (the same bits: every step is deterministic), `fn` again,
   * told that a recovery ran (init and load need not run again: the recovery restored the start).
   */
  private async recovering<T>(fn: (restored: boolean) => Promise<T>, completed: number): Promise<T> {
    let lost = false;
    for (;;) {
      try {
        if (lost) await this.recover(completed);
        return await fn(lost);
      } catch (err) {
        // a refusal that came after the open (recorded, then recovered from as a loss)
        if (!(isNodeLoss(err) || this.leaveOut(err)) || this.recoveries >= (this.options.maxRecoveries ?? 3)) throw err;
        this.recoveries++;
        lost = true;
        this.logger?.warn({ runId: this.run?.id, err: (err as Error).message, recovery: this.recoveries }, 'node lost: re-cutting the shards over the live nodes');
      }
    }
  }

  /** A new run over the live nodes with the state after `completed` iterations. */
  private async recover(completed: number): Promise<void> {
    await this.openRun(1);
    const nodeSnapshot = this.nodeSnapshot && this.nodeSnapshot.iterations <= completed ? this.nodeSnapshot : undefined;
    if (nodeSnapshot) {
      // every node reads its new rows from the old owners' objects: no table passes through here
      const run = this.ready();
      const req = this.nextReq++;
      const { name, tables, cellBounds, nodes } = nodeSnapshot;
      await this.command({ kind: 'orders', orders: run.nodes.map((to) => ({ to, req, message: { type: 'restore' as const, run: run.id, req, name, tables, from: { cellBounds, nodes } } })) });
      if (!tables.includes('bestMinorPolicy') && this.bestOrigin) await this.load(this.bestOrigin, true);
      for (let i = nodeSnapshot.iterations; i < completed; i++) await this.run1(this.history[i]);
      this.logger?.info({ runId: run.id, nodes: run.nodes, from: nodeSnapshot.iterations, replayed: completed - nodeSnapshot.iterations }, 'recovered from the nodes\' snapshot');
      return;
    }
    const snapshot = this.snapshot?.taken && this.snapshot.iterations <= completed ? this.snapshot : undefined;
    if (snapshot) await this.load(snapshot.sources());
    else if (this.origin && 'init' in this.origin) await this.sendInit(this.origin.init);
    else if (this.origin) await this.load(this.origin.sources);
    const bestSnapshot = snapshot && this.bestSnapshot?.taken && this.bestSnapshot.iterations === snapshot.iterations ? this.bestSnapshot : undefined;
    if (bestSnapshot) await this.load(bestSnapshot.sources(), true);
    else if (!snapshot && this.bestOrigin) await this.load(this.bestOrigin, true);
    for (let i = snapshot?.iterations ?? 0; i < completed; i++) await this.run1(this.history[i]);
    this.logger?.info({ runId: this.run?.id, nodes: this.run?.nodes, from: snapshot?.iterations ?? 0, replayed: completed - (snapshot?.iterations ?? 0) }, 'recovered');
  }

  async startValues(): Promise<StartValues> {
    if (!this.start) throw new Error('cluster executor: no iteration has run');
    return this.start;
  }

  private source(table: PolicyTable | BestTable): TableSource {
    const run = this.ready();
    const length = tableLayout(this.problem!, run.tableOptions)[policyTableOf(table)].length;
    return { length, read: (visit) => this.stream(table, length, visit) };
  }

  policies(): PolicySources {
    const source = (table: PolicyTable) => this.source(table);
    return {
      minorPolicy: source('minorPolicy'),
      majorPolicy: source('majorPolicy'),
      ...(this.omd ? { minorY: source('minorY'), majorY: source('majorY') } : {}),
    };
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.run) await this.command({ kind: 'close' }).catch(() => {});
    this.closedRun = this.run ?? this.closedRun;
    this.run = undefined;
    await this.dropSnapshot();
    const side = this.sideNc;
    this.sideNc = undefined;
    if (side) await Promise.race([side.close().catch(() => {}), new Promise((r) => setTimeout(r, 2_000).unref())]);
    for (const p of this.pending.values()) p.reject(new ClusterError('cluster executor: closed'));
    this.pending.clear();
    const nc = this.nc;
    this.nc = undefined;
    if (nc) {
      this.transport = undefined;
      // bounded: with the server gone a drain would wait for it forever
      await Promise.race([nc.drain().catch(() => {}), new Promise((r) => setTimeout(r, 2_000).unref())]);
      if (!nc.isClosed()) await nc.close().catch(() => {});
    }
  }

  stats(): ClusterStats {
    return {
      nodes: (this.run ?? this.closedRun)?.nodes ?? [],
      cellBounds: (this.run ?? this.closedRun)?.cellBounds ?? [],
      coordinatorBytes: { ...(this.transport?.bytes ?? { sent: 0, received: 0 }) },
      dropped: this.scheduler.dropped,
      recoveries: this.recoveries,
      leftOut: this.leftOut.map((l) => ({ ...l })),
      snapshots: this.nodeSnapshot ? 'nodes' : this.snapshot instanceof SnapshotBucket ? 'bucket' : this.snapshot ? 'disk' : 'none',
      ...(this.recutDecision ? { recut: { ...this.recutDecision } } : {}),
      nodeReports: ((this.run ?? this.closedRun)?.nodes ?? []).map((node) => {
        const m = this.scheduler.members.get(node);
        return { node, threads: m?.threads ?? 1, sent: m?.sent ?? 0, received: m?.received ?? 0, peakRss: m?.peakRss ?? 0, trace: m?.trace };
      }),
    };
  }

  /**
   * Outages: messages published while a party was disconnected are lost by the server. After a reconnect,
   * once the others had time to come back too, the current command's orders are sent again and every node
   * is asked to send its messages again; what arrives twice is dropped by the receivers' cores.
   */
  private async watch(nc: NatsConnection): Promise<void> {
    for await (const st of nc.status()) {
      if (st.type === 'disconnect') {
        this.offline = true;
        this.logger?.warn({ runId: this.run?.id }, 'NATS disconnected');
      } else if (st.type === 'reconnect') {
        this.offline = false;
        this.logger?.warn({ runId: this.run?.id }, 'NATS reconnected; resending');
        this.feed({ kind: 'reconnected', now: Date.now() });
        for (const ms of [1_000, 3_000]) setTimeout(() => this.feed({ kind: 'resend', now: Date.now() }), ms).unref();
      }
    }
  }

  /** The table read window by window: each window asked of every node, put together in order, visited. */
  private async stream(table: PolicyTable | BestTable, length: number, visit: (piece: Float64Array, offset: number) => void | Promise<void>): Promise<void> {
    const width = this.width(table);
    const piece = Math.max(width, Math.floor((this.options.pieceElements ?? PIECE_ELEMENTS) / width) * width);
    for (let from = 0; from < length; from += piece) {
      const to = Math.min(length, from + piece);
      // a node lost while the tables are read: the run is recovered over the live nodes (the same bits) and
      // this window read again from the new cut; the windows already visited stay as they were
      const { r, run } = await this.recovering(async () => {
        const r = await this.command({ kind: 'read', req: this.nextReq++, table, from, to });
        return { r, run: this.ready() };
      }, this.history.length);
      if (r.kind !== 'read') throw new ClusterError('cluster: read got no pieces');
      const window = new Float64Array(to - from);
      run.nodes.forEach((node, k) => {
        const data = r.pieces.get(node)!;
        const ranges = ownedRanges(from, to, width, this.problem!.cells, run.cellBounds[k], run.cellBounds[k + 1]);
        let o = 0;
        for (let i = 0; i < ranges.length; i += 2) {
          const n = ranges[i + 1] - ranges[i];
          if (o + n > data.length) throw new ClusterError(`cluster: node ${node} sent ${data.length} values of ${table}, its rows need more`);
          window.set(data.subarray(o, o + n), ranges[i] - from);
          o += n;
        }
        if (o !== data.length) throw new ClusterError(`cluster: node ${node} sent ${data.length} values of ${table}, its rows need ${o}`);
      });
      await visit(window, from);
    }
  }

  private takeStart(r: CommandResult): void {
    const problem = this.problem!;
    const game = problem.game;
    const n = game.nX0 * (2 + 2 * game.nX);
    if (r.kind === 'iterate' && problem.projection === 'interpolate') {
      this.start = this.interpolatedStart(r.start, n);
      return;
    }
    if (r.kind !== 'iterate' || r.start.length !== n) throw new ClusterError('cluster: the start values did not arrive');
    this.start = startValuesFromRows(game, r.start);
  }

  /** The interpolated start values from the nodes' blocks [cell, packed rows (n values)], in any order. */
  private interpolatedStart(blocks: Float64Array, n: number): StartValues {
    const problem = this.problem!;
    const byCell = new Map<number, Float64Array>();
    for (let o = 0; o + n + 1 <= blocks.length; o += n + 1) byCell.set(blocks[o], blocks.subarray(o + 1, o + 1 + n));
    const { cells, weights } = startVertices(problem, new LatticeInterpolator(problem.grid));
    const missing = Array.from(cells).filter((c, j) => weights[j] > 0 && !byCell.has(c));
    if (blocks.length % (n + 1) !== 0 || missing.length > 0) throw new ClusterError(`cluster: the start values did not arrive (cells ${missing.join(', ')})`);
    // a slot of weight 0 repeats the first vertex, which is present
    return interpolatedStartFromRows(problem.game, weights, (j) => byCell.get(cells[j])!);
  }

  private width(table: PolicyTable | BestTable): number {
    const { nX, nU, nU0 } = this.problem!.game;
    return table === 'minorPolicy' || table === 'minorY' || table === 'bestMinorPolicy' ? nX * nU : nU0;
  }

  private ready(): ShardRun {
    if (!this.run || !this.problem) throw new Error('cluster executor: open() first');
    return this.run;
  }

  private command(command: Command): Promise<CommandResult> {
    if (this.fatal) return Promise.reject(this.fatal);
    const id = this.nextId++;
    const done = new Promise<CommandResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.feed({ kind: 'command', id, command, now: Date.now() });
    return done;
  }

  private feed(event: Parameters<typeof schedulerStep>[1]): void {
    this.execute(schedulerStep(this.scheduler, event));
  }

  private execute(instructions: SchedulerInstruction[]): void {
    for (const ins of instructions) {
      switch (ins.kind) {
        case 'send':
          this.transport?.send(ins.to, ins.message);
          break;
        case 'resolve':
          this.pending.get(ins.id)?.resolve(ins.result);
          this.pending.delete(ins.id);
          break;
        case 'reject':
          this.pending.get(ins.id)?.reject(new ClusterError(ins.error));
          this.pending.delete(ins.id);
          break;
        case 'dropped':
          this.logger?.warn({ runId: this.run?.id, from: ins.from, why: ins.why }, 'message dropped');
          break;
        case 'log':
          this.logger?.info({ runId: this.run?.id, ...ins.fields }, ins.message);
          break;
      }
    }
  }
}

/** The solver table whose layout a table follows (the best slot's policies are shaped like the policies). */
function policyTableOf(table: PolicyTable | BestTable): PolicyTable {
  return table === 'bestMinorPolicy' ? 'minorPolicy' : table === 'bestMajorPolicy' ? 'majorPolicy' : table;
}
