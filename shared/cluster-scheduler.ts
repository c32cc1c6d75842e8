// The pure scheduling core of the cluster coordinator (Dask's scheduler state machine in miniature):
// schedulerStep(state, event) -> instructions. No I/O, no clock (every event carries `now`), no tables. The
// shell (coordinator/cluster-executor.ts) turns the executor's calls into commands, feeds in messages and
// clock ticks, and carries out the instructions (send, resolve or reject a command, log).
//
// It keeps the membership (nodes join by their first heartbeat, leave by saying so or by falling silent),
// cuts the cells into shards at open() (cell-major, on CHANGE_BLOCK_CELLS boundaries, sized by threads, or
// by threads and each cell's estimated cost when the open command carries one; either way no node gets more
// than its announced memory holds),
// and runs one command at a time: it sends the command's orders and collects the answers it expects, each
// accepted once and only from the node it expects it from, for the current run, iteration and sweep.
// Everything else (late, duplicated, forged, other runs) is dropped and counted.
// Node loss during a run fails the current command with a ClusterError line naming the node. A node that
// refuses the shard it was given (its own memory check disagrees with the cut) fails the command with a line
// that refusingNode() reads back: the shell then opens again with that node excluded. A node's failure
// between commands fails the next one.

import { readNodeTrace, type NodeTrace } from './cluster-node-trace.ts';
import { COORDINATOR, VALUE_FNS, type ShardRun, type ToCoordinator, type ToNode, type ValueFn, type PolicyTable, type BestTable } from './cluster-messages.ts';
import { cutByCostWithin } from './cluster-partition.ts';
import { blockCap, cutWithin } from './cluster-capacity.ts';
import { formatBytes } from './memory-estimate.ts';
import { CHANGE_BLOCK_CELLS, sumBlocks } from './value-change.ts';
import type { UpdateRule } from './kernels/update.ts';

export interface Member {
  threads: number;
  lastSeen: number;
  state: 'ready' | 'leaving';
  /** As last reported by the node (statistics only). */
  sent: number;
  received: number;
  peakRss: number;
  /** The bytes the node may use, as it announced them (absent: not announced, no limit known here). */
  memory?: number;
  /** Where the node's time went (shared/cluster-node-trace.ts). */
  trace?: NodeTrace;
}

export type Command =
  /**
   * blockCosts: estimated work per block of CHANGE_BLOCK_CELLS cells (any unit); absent: every cell the same (the
   * cut follows the threads only).
   * capacity: the most cells a node of `threads` threads and `memory` bytes can hold (shared/cluster-capacity.ts);
   * absent: the cut ignores memory.
   * exclude: nodes left out of the cut (they refused a shard of this run), with why; they still count towards minNodes.
   */
  | { kind: 'open'; run: Omit<ShardRun, 'cellBounds' | 'nodes'>; cells: number; minNodes: number; maxNodes?: number; blockCosts?: ArrayLike<number>; capacity?: (threads: number, memory: number) => number; exclude?: ReadonlyMap<string, string> }
  /** Sends `orders` and waits for an ack with each listed req from each order's node. */
  | { kind: 'orders'; orders: Array<{ to: string; message: ToNode; req: number }> }
  /** last: no iteration follows (the nodes run nothing of the next one ahead). */
  | { kind: 'iterate'; n: number; rule: UpdateRule; last?: boolean }
  | { kind: 'vi'; n: number; rule: UpdateRule; discount: number; tolerance: number; maxSweeps: number }
  | { kind: 'read'; req: number; table: PolicyTable | BestTable; from: number; to: number }
  | { kind: 'close' };

export type CommandResult =
  /** leftOut: the ready nodes that got no shard, with why (memory, or a refusal the command excluded). */
  | { kind: 'open'; run: ShardRun; leftOut: Array<{ node: string; why: string }> }
  /** costs: the work each node measured per block of cells (finite-horizon iterations; see ToCoordinator 'done'). */
  | { kind: 'iterate'; start: Float64Array; sweeps: number; costs?: Map<string, Float64Array> }
  | { kind: 'read'; pieces: Map<string, Float64Array> }
  /** orders: the nodes that refused their order, with why (a snapshot with no bucket). */
  | { kind: 'ok'; refused?: Map<string, string> };

export type SchedulerEvent =
  | { kind: 'command'; id: number; command: Command; now: number }
  /** The coordinator's connection is back after an outage: silence during it was not the nodes' fault. */
  | { kind: 'reconnected'; now: number }
  /** Send the current command's orders again and ask every node to do the same with its messages. */
  | { kind: 'resend'; now: number }
  | { kind: 'message'; from: string; message: ToCoordinator; now: number }
  | { kind: 'tick'; now: number };

export type SchedulerInstruction =
  | { kind: 'send'; to: string; message: ToNode }
  | { kind: 'resolve'; id: number; result: CommandResult }
  | { kind: 'reject'; id: number; error: string }
  | { kind: 'dropped'; from: string; why: string }
  | { kind: 'log'; message: string; fields?: Record<string, unknown> };

export interface SchedulerConfig {
  /** A node silent this long is gone (ms). */
  heartbeatTimeoutMs: number;
  /** open() fails when too few nodes have joined after this long (ms). */
  waitForNodesMs: number;
  /** After the first heartbeats, wait this long for the others before cutting shards (ms). */
  settleMs: number;
  /**
   * The longest the nodes may take to build the Problem at open() (ms). Nodes build on a thread of their own
   * and keep beating meanwhile, so a node killed while building is lost after heartbeatTimeoutMs as at any
   * other time; this bounds a build that goes on (a game whose code never returns).
   */
  buildTimeoutMs: number;
}

interface Active {
  id: number;
  command: Command;
  since: number;
  /** Answers still expected: key `${node}/${what}`. */
  waiting: Set<string>;
  start?: Float64Array;
  costs?: Map<string, Float64Array>;
  pieces?: Map<string, Float64Array>;
  refused?: Map<string, string>;
  /** vi: the sweep whose changes are being collected, the changes so far per node, the open functions. */
  sweep: number;
  changes: Map<string, Float64Array[]>;
  open: ValueFn[];
  /** open: when the shards were sent (the nodes build from then on). */
  sentAt?: number;
  /** open: the ready nodes that got no shard, with why. */
  leftOut?: Array<{ node: string; why: string }>;
}

export interface SchedulerState {
  readonly config: SchedulerConfig;
  readonly members: Map<string, Member>;
  readonly startedAt: number;
  run?: ShardRun;
  active?: Active;
  readonly queue: Array<{ id: number; command: Command }>;
  /** The orders sent for the current command (sent again after an outage). */
  log: Array<{ to: string; message: ToNode }>;
  dropped: number;
  /** A node's failure that came between commands: the next command fails with it. */
  failure?: string;
}

/** How a node's memory check words its refusal of a shard (worker/shard-build.ts checkShardMemory), after the job's name. */
const SHARD_REFUSAL = /^build: node \S+ refuses shard \d+ /;

/** The node named by an open's failure when that node refused its shard (see onMessage 'failed'), else undefined. */
export function refusingNode(error: string): string | undefined {
  return /^cluster: node (\S+) refused its shard: /.exec(error)?.[1];
}

export function newSchedulerState(config: SchedulerConfig, now: number): SchedulerState {
  return { config, members: new Map(), startedAt: now, queue: [], log: [], dropped: 0 };
}

export function schedulerStep(state: SchedulerState, event: SchedulerEvent): SchedulerInstruction[] {
  const out: SchedulerInstruction[] = [];
  switch (event.kind) {
    case 'command':
      state.queue.push({ id: event.id, command: event.command });
      break;
    case 'message':
      onMessage(state, event.from, event.message, event.now, out);
      break;
    case 'tick':
      checkLiveness(state, event.now, out);
      break;
    case 'reconnected':
      for (const m of state.members.values()) m.lastSeen = event.now;
      break;
    case 'resend':
      if (!state.run || !state.active) break;
      for (const l of state.log) out.push({ kind: 'send', to: l.to, message: l.message });
      for (const node of state.run.nodes) out.push({ kind: 'send', to: node, message: { type: 'resend', run: state.run.id } });
      return out;
  }
  progress(state, event.now, out);
  return out;
}

/** Sends an order and keeps it for a resend. */
function emit(state: SchedulerState, out: SchedulerInstruction[], to: string, message: ToNode): void {
  out.push({ kind: 'send', to, message });
  state.log.push({ to, message });
}

function drop(state: SchedulerState, out: SchedulerInstruction[], from: string, why: string): void {
  state.dropped++;
  out.push({ kind: 'dropped', from, why });
}

function fail(state: SchedulerState, out: SchedulerInstruction[], error: string): void {
  const a = state.active;
  if (!a) return;
  state.active = undefined;
  out.push({ kind: 'reject', id: a.id, error });
}

function onMessage(state: SchedulerState, from: string, m: ToCoordinator, now: number, out: SchedulerInstruction[]): void {
  if (!m || typeof m !== 'object' || typeof m.type !== 'string') return drop(state, out, from, 'malformed message');
  if (from === COORDINATOR) return drop(state, out, from, 'a message claiming to come from the coordinator');
  if (m.type === 'hb') {
    const known = state.members.get(from);
    const threads = Number.isSafeInteger(m.threads) && m.threads >= 1 && m.threads <= 4096 ? m.threads : 1;
    if (!known) out.push({ kind: 'log', message: 'node joined', fields: { node: from, threads } });
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
    const memory = typeof m.memory === 'number' && Number.isFinite(m.memory) && m.memory > 0 ? m.memory : undefined;
    state.members.set(from, { threads, lastSeen: now, state: m.state === 'leaving' ? 'leaving' : 'ready', sent: num(m.sent), received: num(m.received), peakRss: num(m.peakRss), memory, trace: readNodeTrace(m.trace) });
    if (m.state === 'leaving' && state.run?.nodes.includes(from) && state.active && state.active.command.kind !== 'close') {
      fail(state, out, `cluster: node ${from} left during the run`);
    }
    return;
  }
  const member = state.members.get(from);
  if (member) member.lastSeen = now;
  const run = state.run;
  const a = state.active;
  if (!run || !('run' in m) || m.run !== run.id) return drop(state, out, from, `${m.type} for another run`);
  if (!run.nodes.includes(from)) return drop(state, out, from, `${m.type} from a node outside the run`);
  if (m.type === 'failed') {
    const error = String(m.error).slice(0, 500);
    // a node's memory check refusing its shard (the shell cuts again without it); it can come after the open
    // resolved (a node acks a build that a newer open order overtook) and between commands: then the next one fails
    const line = SHARD_REFUSAL.test(error) ? `cluster: node ${from} refused its shard: ${error}` : `cluster: node ${from} failed: ${error}`;
    if (a) return fail(state, out, line);
    state.failure = line;
    return;
  }
  if (!a) return drop(state, out, from, `${m.type} with no command in progress`);
  const c = a.command;
  switch (m.type) {
    case 'ack': {
      const key = `${from}/ack/${m.req}`;
      if (!a.waiting.delete(key)) return drop(state, out, from, `unexpected ack ${m.req}`);
      if (m.refused !== undefined) (a.refused ??= new Map()).set(from, String(m.refused).slice(0, 500));
      return;
    }
    case 'done': {
      if ((c.kind !== 'iterate' && c.kind !== 'vi') || m.n !== c.n || !a.waiting.delete(`${from}/done`)) return drop(state, out, from, `unexpected done of iteration ${m.n}`);
      if (m.start !== undefined) {
        if (!(m.start instanceof Float64Array)) return drop(state, out, from, 'a malformed set of start values');
        // nearest: one owner of proj(mu0); interpolate: the owners of mu0's vertices, each with tagged blocks
        if (a.start && state.run?.projection !== 'interpolate') return drop(state, out, from, 'a second set of start values');
        a.start = a.start ? concat(a.start, m.start) : m.start;
      }
      // measured costs steer a re-cut only: malformed ones are ignored, never fatal
      const blocks = Math.ceil(run.cellBounds[run.cellBounds.length - 1] / CHANGE_BLOCK_CELLS);
      if (m.costs instanceof Float64Array && m.costs.length === blocks && m.costs.every((x) => x >= 0 && Number.isFinite(x))) (a.costs ??= new Map()).set(from, m.costs);
      return;
    }
    case 'changes': {
      if (c.kind !== 'vi' || m.n !== c.n || m.sweep !== a.sweep || !a.waiting.delete(`${from}/changes/${a.sweep}`)) return drop(state, out, from, `unexpected changes of sweep ${m.sweep}`);
      if (!Array.isArray(m.blocks) || m.blocks.length !== a.open.length || !m.blocks.every((b) => b instanceof Float64Array)) return fail(state, out, `cluster: node ${from} sent malformed value changes`);
      a.changes.set(from, m.blocks);
      if (a.changes.size === run.nodes.length) verdict(state, a, c, out);
      return;
    }
    case 'piece': {
      if (c.kind !== 'read' || m.req !== c.req || !a.waiting.delete(`${from}/piece`)) return drop(state, out, from, `unexpected piece ${m.req}`);
      if (!(m.data instanceof Float64Array)) return fail(state, out, `cluster: node ${from} sent a malformed table piece`);
      a.pieces!.set(from, m.data);
      return;
    }
  }
  return drop(state, out, from, `unknown message type ${(m as { type: string }).type}`);
}

/** All changes of a value-iteration sweep are in: freeze what converged, go on or finish. */
function verdict(state: SchedulerState, a: Active, c: Extract<Command, { kind: 'vi' }>, out: SchedulerInstruction[]): void {
  const run = state.run!;
  const freeze: ValueFn[] = [];
  a.open.forEach((fn, i) => {
    // block sums in shard order = the global block order (shards are cut on block boundaries)
    const blocks: number[] = [];
    for (const node of run.nodes) blocks.push(...a.changes.get(node)![i]);
    if (!(sumBlocks(blocks) > c.tolerance)) freeze.push(fn);
  });
  a.open = a.open.filter((f) => !freeze.includes(f));
  const done = a.open.length === 0;
  if (!done && a.sweep + 1 >= c.maxSweeps) {
    const names: Record<ValueFn, string> = { majorBR: 'major best response', majorEval: 'major policy value', minorBR: 'minor best response', minorEval: 'minor policy value' };
    return fail(state, out, `value iteration: ${a.open.map((f) => names[f]).join(', ')} not converged to ${c.tolerance} after ${c.maxSweeps} sweeps`);
  }
  for (const node of run.nodes) emit(state, out, node, { type: 'viNext', run: run.id, n: c.n, sweep: a.sweep, freeze, done });
  a.changes.clear();
  a.sweep++;
  if (!done) for (const node of run.nodes) a.waiting.add(`${node}/changes/${a.sweep}`);
}

function checkLiveness(state: SchedulerState, now: number, out: SchedulerInstruction[]): void {
  const a = state.active;
  if (a?.command.kind === 'open' && state.run && a.sentAt !== undefined && now - a.sentAt > state.config.buildTimeoutMs) {
    const slow = state.run.nodes.filter((node) => a.waiting.has(`${node}/ack/-1`));
    return fail(state, out, `cluster: node(s) ${slow.join(', ')} still building the model after ${Math.round((now - a.sentAt) / 1000)} s (build timeout)`);
  }
  for (const [id, m] of state.members) {
    if (now - m.lastSeen <= state.config.heartbeatTimeoutMs) continue;
    state.members.delete(id);
    out.push({ kind: 'log', message: 'node lost', fields: { node: id, silentMs: now - m.lastSeen } });
    if (state.run?.nodes.includes(id) && state.active && state.active.command.kind !== 'close') {
      fail(state, out, `cluster: node ${id} stopped answering (no heartbeat for ${Math.round((now - m.lastSeen) / 1000)} s)`);
    }
  }
}

/** Finishes the active command when its answers are in; starts the next one. */
function progress(state: SchedulerState, now: number, out: SchedulerInstruction[]): void {
  for (;;) {
    const a = state.active;
    if (a) {
      if (a.command.kind === 'open' && a.waiting.size === 0 && !state.run) {
        if (!startOpen(state, a, now, out)) return;
        continue;
      }
      if (a.waiting.size > 0 || (a.command.kind === 'open' && !state.run)) return;
      state.active = undefined;
      out.push({ kind: 'resolve', id: a.id, result: resultOf(state, a) });
      if (a.command.kind === 'close') state.run = undefined;
      continue;
    }
    const next = state.queue.shift();
    if (!next) return;
    begin(state, next.id, next.command, now, out);
  }
}

function resultOf(state: SchedulerState, a: Active): CommandResult {
  const c = a.command;
  switch (c.kind) {
    case 'open':
      return { kind: 'open', run: state.run!, leftOut: a.leftOut ?? [] };
    case 'iterate':
    case 'vi':
      return { kind: 'iterate', start: a.start ?? new Float64Array(0), sweeps: a.sweep, ...(a.costs ? { costs: a.costs } : {}) };
    case 'read':
      return { kind: 'read', pieces: a.pieces! };
    default:
      return a.refused ? { kind: 'ok', refused: a.refused } : { kind: 'ok' };
  }
}

function begin(state: SchedulerState, id: number, command: Command, now: number, out: SchedulerInstruction[]): void {
  const a: Active = { id, command, since: now, waiting: new Set(), sweep: 0, changes: new Map(), open: [...VALUE_FNS] };
  state.active = a;
  state.log = [];
  if (command.kind === 'open') {
    state.run = undefined;
    state.failure = undefined;
    return;
  }
  const run = state.run;
  if (!run) return fail(state, out, `cluster: ${command.kind} before open()`);
  if (state.failure && command.kind !== 'close') {
    const line = state.failure;
    state.failure = undefined;
    return fail(state, out, line);
  }
  switch (command.kind) {
    case 'orders':
      for (const o of command.orders) {
        emit(state, out, o.to, o.message);
        a.waiting.add(`${o.to}/ack/${o.req}`);
      }
      return;
    case 'iterate':
    case 'vi':
      for (const node of run.nodes) {
        const message: ToNode =
          command.kind === 'vi'
            ? { type: 'vi', run: run.id, n: command.n, rule: command.rule, discount: command.discount }
            : { type: 'iterate', run: run.id, n: command.n, rule: command.rule, ...(command.last ? { last: true as const } : {}) };
        emit(state, out, node, message);
        a.waiting.add(`${node}/done`);
        if (command.kind === 'vi') a.waiting.add(`${node}/changes/0`);
      }
      return;
    case 'read':
      a.pieces = new Map();
      for (const node of run.nodes) {
        emit(state, out, node, { type: 'read', run: run.id, req: command.req, table: command.table, from: command.from, to: command.to });
        a.waiting.add(`${node}/piece`);
      }
      return;
    case 'close':
      for (const node of run.nodes) emit(state, out, node, { type: 'close', run: run.id });
      return;
  }
}

/** open(): once enough nodes have joined (and the others had time to), cut the shards and send them. */
function startOpen(state: SchedulerState, a: Active, now: number, out: SchedulerInstruction[]): boolean {
  const c = a.command as Extract<Command, { kind: 'open' }>;
  const ready = [...state.members].filter(([, m]) => m.state === 'ready').sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const waited = now - a.since;
  if (ready.length < c.minNodes || now - state.startedAt < state.config.settleMs) {
    if (waited > state.config.waitForNodesMs) {
      fail(state, out, `cluster: ${ready.length} node(s) ready after ${Math.round(waited / 1000)} s, ${c.minNodes} needed (are the workers running, with the same --nats and --subject-prefix?)`);
      return true;
    }
    return false;
  }
  const blocks = Math.ceil(c.cells / CHANGE_BLOCK_CELLS);
  const excluded = ready.filter(([node]) => c.exclude?.has(node));
  a.leftOut = excluded.map(([node]) => ({ node, why: `refused its shard: ${c.exclude!.get(node)}` }));
  if (excluded.length === ready.length) {
    fail(state, out, `cluster: every ready node refused its shard (${excluded.map(([node]) => node).join(', ')}); add nodes or memory, or use fewer --bins`);
    return true;
  }
  const cut = cutByMemory(c, ready.filter((r) => !excluded.includes(r)), blocks, out, a.leftOut);
  if (typeof cut === 'string') {
    fail(state, out, cut);
    return true;
  }
  const { chosen, bounds } = cut;
  const cellBounds = bounds.map((b) => Math.min(c.cells, b * CHANGE_BLOCK_CELLS));
  const run: ShardRun = { ...c.run, cellBounds, nodes: chosen.map(([id]) => id) };
  state.run = run;
  a.sentAt = now;
  run.nodes.forEach((node, shard) => {
    emit(state, out, node, { type: 'open', run, shard });
    a.waiting.add(`${node}/ack/-1`);
  });
  out.push({ kind: 'log', message: 'cluster run opened', fields: { runId: run.id, nodes: run.nodes, cellBounds } });
  return true;
}

/**
 * The nodes of the run and their block bounds: cut by cost (c.blockCosts) or by threads, within what each can hold by its announced memory
 * (c.capacity). A node that cannot hold one block is left out; a one-line error when the others cannot hold the run.
 */
function cutByMemory(c: Extract<Command, { kind: 'open' }>, ready: Array<[string, Member]>, blocks: number, out: SchedulerInstruction[], leftOut: Array<{ node: string; why: string }>): { chosen: Array<[string, Member]>; bounds: number[] } | string {
  const capOf = ([, m]: [string, Member]) => blockCap(c.capacity && m.memory !== undefined ? c.capacity(m.threads, m.memory) : c.cells, c.cells);
  const fit = ready.filter((r) => capOf(r) >= 1);
  for (const [node, m] of ready) {
    if (fit.some(([n]) => n === node)) continue;
    out.push({ kind: 'log', message: 'node left out of the run: its memory holds no block of cells', fields: { node, memory: m.memory } });
    leftOut.push({ node, why: `its memory (${formatBytes(m.memory ?? 0)}) holds no block of cells` });
  }
  const chosen = fit.slice(0, c.maxNodes ?? fit.length);
  const weights = chosen.map(([, m]) => m.threads);
  const caps = chosen.map(capOf);
  // by estimated cost when the caller gave one, else by threads; either within each node's memory
  const bounds = chosen.length === 0 ? undefined : c.blockCosts ? cutByCostWithin(c.blockCosts, weights, caps) : cutWithin(blocks, weights, caps);
  if (bounds) return { chosen, bounds };
  const held = Math.min(c.cells, chosen.reduce((n, r) => n + capOf(r), 0) * CHANGE_BLOCK_CELLS);
  const each = ready.map(([node, m]) => `${node} ${m.memory !== undefined ? formatBytes(m.memory) : '?'}`).join(', ');
  const refused = c.exclude?.size ? `; ${[...c.exclude.keys()].join(', ')} refused ${c.exclude.size === 1 ? 'its shard' : 'their shards'}` : '';
  return `cluster: the ${ready.length} ready node(s) can hold ${held} of the run's ${c.cells} cells in their memory (${each})${refused}; add nodes or memory, or use fewer --bins`;
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
