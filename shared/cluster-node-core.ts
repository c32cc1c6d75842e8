// The pure state of a cluster node (Dask's worker state machine in miniature): nodeStep(state, event) ->
// instructions. No I/O, no clock, no tables: the shell (worker/shard-node.ts) owns the connection, the
// timers and the kernels; it feeds every received message and every finished job in here and carries out
// what comes back (send a message, run a job on the shard's tables, report a failure).
//
// One job runs at a time; messages that arrive meanwhile are kept (halo rows of a later step, requests)
// and acted on when their turn comes. A message is accepted only from its legitimate sender: orders from
// the coordinator, halo rows and needs only from the run's other nodes, and only for the current run and
// iteration; anything else is dropped and counted (late, forged or duplicated messages change nothing).

import { COORDINATOR, VALUE_FNS, type ShardRun, type ToCoordinator, type ToNode, type ToPeer, type ValueFn } from './cluster-messages.ts';
import type { UpdateRule } from './kernels/update.ts';

/** Work on the shard's tables that the shell runs; its result comes back as a 'done' event. */
export type Job =
  | { kind: 'build'; run: ShardRun; shard: number }
  | { kind: 'init'; message: Extract<ToNode, { type: 'init' }> }
  | { kind: 'load'; message: Extract<ToNode, { type: 'load' }> }
  | { kind: 'read'; message: Extract<ToNode, { type: 'read' }> }
  | { kind: 'keep'; message: Extract<ToNode, { type: 'keep' }> }
  /** Node-side snapshots: put the shard's tables into the node's bucket / read its new rows from the old cut's objects. */
  | { kind: 'snapshot'; message: Extract<ToNode, { type: 'snapshot' }> }
  | { kind: 'restore'; message: Extract<ToNode, { type: 'restore' }> }
  /**
   * Next cells of the shard for every slice; result: for each peer, the rows of V(t + 1) needed per t.
   * `ahead`: the flow of this iteration ran ahead up to there (flowAhead): only the slices and chunks from it
   * down are left, and the plans of the slices above it are kept.
   */
  | { kind: 'flow'; vi: boolean; ahead?: { slice: number; chunk: number } }
  /**
   * A chunk of iteration n's flow run ahead, while iteration n - 1 waits for halo rows or for its next order:
   * the next cells of slice `slice` at the chunk's rows (ShardTables.flowAhead), once step `slice` of n - 1
   * has written the policy they read; after a slice's last chunk, its halo plan. Only work is moved, never
   * changed: each (t, row)'s next cell reads that row's policy at t alone, final once step t has run.
   */
  | { kind: 'flowAhead'; n: number; slice: number; chunk: number }
  /**
   * Step t (and its update). part 'early': the shard's rows that read no halo row, before the halo of t + 1
   * has arrived (no halo, nothing sent); 'late': the other rows, once it has; 'all': every row at once.
   * 'late' and 'all' write the halo rows received first and end by gathering the rows each reader asked for.
   * When readers ask for rows, a 'late' or 'all' part runs as two jobs: `split` 'head', the part's rows that
   * readers ask for (with the rows between them closer than a gap), then the gather and send; then 'tail',
   * the part's other rows (same `send` lists, to know which; nothing written or gathered). The readers' halo
   * leaves after the head, not after the whole part: the chain of late parts between nodes is shorter.
   */
  | { kind: 'step'; t: number; part: StepPart; split?: 'head' | 'tail'; rule: UpdateRule; halo: Array<{ peer: string; rows: Int32Array; values: Float64Array }>; send: Array<{ peer: string; rows: Int32Array }> }
  | { kind: 'viReset' }
  | { kind: 'viSweep'; sweep: number; discount: number; open: ValueFn[]; halo: Array<{ peer: string; rows: Int32Array; values: Float64Array }>; send: Array<{ peer: string; rows: Int32Array }> }
  | { kind: 'viFreeze'; fns: ValueFn[]; slot: number }
  | { kind: 'viFinish'; rule: UpdateRule }
  /** The shard's V(0) at the rows (x0, c0) it owns; empty when it owns none. */
  | { kind: 'startValues' };

export type StepPart = 'early' | 'late' | 'all';

export type JobResult =
  | { kind: 'flow'; needs: Map<string, Int32Array[]> }
  | { kind: 'step' | 'viSweep'; out: Array<{ peer: string; values: Float64Array }>; blocks?: Float64Array[] }
  /** costs: the work measured per block of cells in a finite-horizon iteration (ShardTables.blockCosts). */
  | { kind: 'startValues'; start?: Float64Array; costs?: Float64Array }
  /** last: the chunk was its slice's last. */
  | { kind: 'flowAhead'; last: boolean }
  | { kind: 'read'; data: Float64Array }
  /** refused: why the order was not carried out (the ack says so; the run goes on). */
  | { kind: 'other'; refused?: string };

export type NodeEvent =
  | { kind: 'message'; from: string; message: ToNode | ToPeer; now: number }
  /** This node's connection is back after an outage: send the current order's messages again. */
  | { kind: 'resend'; now: number }
  | { kind: 'done'; job: Job; result: JobResult; now: number }
  /**
   * The shell's event loop has had a turn since the node last found nothing to run (messages that had arrived
   * are in): where still nothing can run, a chunk of the next iteration's flow fills the wait (flowAhead).
   */
  | { kind: 'idle'; now: number }
  | { kind: 'failed'; job: Job; error: string; now: number };

export type NodeInstruction =
  | { kind: 'send'; to: string; message: ToCoordinator | ToPeer }
  | { kind: 'run'; job: Job }
  | { kind: 'dropped'; why: string };

interface Iteration {
  readonly n: number;
  readonly mode: 'finite' | 'vi';
  readonly rule: UpdateRule;
  readonly discount: number;
  /** The coordinator said no iteration follows: nothing is run ahead. */
  readonly last: boolean;
  /** What this node reads from each peer, per t (after the flow). */
  mine?: Map<string, Int32Array[]>;
  /** What each peer reads from this node, per t. */
  readonly theirs: Map<string, Int32Array[]>;
  /** Halo received, by step, by peer. */
  readonly halo: Map<number, Map<string, Float64Array>>;
  /** Receipts owed, by peer: the steps of its halos received and not yet acknowledged (RECEIPT_BATCH). */
  readonly owed: Map<string, number[]>;
  /** finite: the next t to compute; vi: the next sweep. */
  next: number;
  /** finite: the early part of step `next` has run (its halo had not arrived). */
  early: boolean;
  /** finite: the tail of a step whose head has run (shared/cluster-node-core.ts Job 'step', split). */
  tail?: Extract<Job, { kind: 'step' }>;
  /** vi: functions not yet frozen; the coordinator's answer for the sweep done last. */
  open: ValueFn[];
  verdict?: { sweep: number; freeze: ValueFn[]; done: boolean };
  /** finite: flow -> steps -> start; value iteration: flow -> reset -> (sweep -> verdict)* -> finish -> start. */
  stage: 'flow' | 'steps' | 'reset' | 'sweep' | 'verdict' | 'finish' | 'start';
}

export interface NodeState {
  readonly self: string;
  run?: ShardRun;
  shard: number;
  /** Orders from the coordinator not started yet (one job at a time). */
  readonly queue: ToNode[];
  busy?: Job;
  built: boolean;
  iteration?: Iteration;
  /** Needs of the next iteration that arrived before its order. */
  readonly early: Array<{ from: string; message: ToPeer }>;
  /** Orders of this run already taken (a resent order is not done twice). */
  readonly seen: Set<string>;
  /** Everything sent since the current order arrived: sent again after an outage. */
  log: Array<{ to: string; message: ToCoordinator | ToPeer }>;
  dropped: number;
  /**
   * The next iteration's flow, run ahead (Job 'flowAhead'): iteration n's, the next chunk to run (slices
   * count down from T - 1, as the steps do). Cleared by an order that changes the policies (init, load,
   * restore, open, close), by a value iteration, by a failed job, and by an iterate order of another n.
   */
  ahead?: { n: number; slice: number; chunk: number };
}

export function newNodeState(self: string): NodeState {
  return { self, shard: -1, queue: [], built: false, early: [], seen: new Set(), log: [], dropped: 0 };
}

export function nodeStep(state: NodeState, event: NodeEvent): NodeInstruction[] {
  const out: NodeInstruction[] = [];
  if (event.kind === 'resend' || (event.kind === 'message' && event.from === COORDINATOR && event.message?.type === 'resend' && event.message.run === state.run?.id)) {
    return state.log.map((l) => ({ kind: 'send', to: l.to, message: l.message }));
  }
  if (event.kind === 'message') accept(state, event.from, event.message, out);
  else if (event.kind !== 'idle') finished(state, event, out);
  advance(state, out, event.kind === 'idle');
  for (const i of out) if (i.kind === 'send') state.log.push({ to: i.to, message: i.message });
  return out;
}

/** Identity of an order within its run, so that a resent order is recognised. */
function orderKey(m: ToNode): string {
  switch (m.type) {
    case 'load':
    case 'read':
    case 'keep':
    case 'snapshot':
    case 'restore':
      return `${m.type}/${m.req}`;
    case 'iterate':
    case 'vi':
      return `iteration/${m.n}`;
    default:
      return m.type;
  }
}

/**
 * Receipts owed to one peer before they go in a message of their own. A receipt lets the halo's sender drop it
 * from its resend log (which otherwise holds the iteration's halo: ~150 MiB per neighbour at Cyber M = 120).
 * Most ride on the next halo to that peer: a receipt per halo, each a message, had doubled the messages
 * nats-server forwards (2 nodes, Cyber M = 60: 0.025 CPU-s of its 0.09-0.12 per iteration).
 */
export const RECEIPT_BATCH = 8;

/** Orders that leave the policies as they are (read, keep, snapshot), and the iterate order of the flow run ahead. */
function keepsAhead(m: ToNode, ahead: NodeState['ahead']): boolean {
  return m.type === 'read' || m.type === 'keep' || m.type === 'snapshot' || (m.type === 'iterate' && m.n === ahead?.n);
}

/** `peer` has received this node's halos of iteration n at `steps`: drop them from the resend log. */
function forget(state: NodeState, peer: string, n: number, steps: readonly unknown[]): void {
  const got = new Set(steps);
  state.log = state.log.filter((l) => !(l.to === peer && l.message.type === 'halo' && l.message.n === n && got.has(l.message.step)));
}

function drop(state: NodeState, out: NodeInstruction[], why: string): void {
  state.dropped++;
  out.push({ kind: 'dropped', why });
}

function accept(state: NodeState, from: string, m: ToNode | ToPeer, out: NodeInstruction[]): void {
  if (!m || typeof m !== 'object') return drop(state, out, `malformed message from ${from}`);
  if (m.type === 'need' || m.type === 'halo' || m.type === 'got') {
    const run = state.run;
    if (!run || m.run !== run.id) return drop(state, out, `${m.type} for another run from ${from}`);
    if (from === state.self || !run.nodes.includes(from)) return drop(state, out, `${m.type} from ${from}, not a node of the run`);
    const it = state.iteration;
    if (m.type === 'need') {
      if (it && m.n === it.n) {
        if (it.theirs.has(from)) return drop(state, out, `second need from ${from}`);
        if (!Array.isArray(m.rows)) return drop(state, out, `malformed need from ${from}`);
        it.theirs.set(from, m.rows);
      } else if (!it || m.n === it.n + 1) state.early.push({ from, message: m });
      else drop(state, out, `need of iteration ${m.n} from ${from} (now ${it.n})`);
      return;
    }
    if (m.type === 'got') {
      if (!Array.isArray(m.steps)) return drop(state, out, `malformed got from ${from}`);
      return forget(state, from, m.n, m.steps);
    }
    if (!it || m.n !== it.n) return drop(state, out, `halo of iteration ${m.n} from ${from}`);
    if (Array.isArray(m.got)) forget(state, from, m.n, m.got);
    // the receipt rides on the next halo to `from`, or goes alone once RECEIPT_BATCH are owed
    let owed = it.owed.get(from);
    if (!owed) it.owed.set(from, (owed = []));
    owed.push(m.step);
    if (owed.length >= RECEIPT_BATCH) {
      out.push({ kind: 'send', to: from, message: { type: 'got', run: run.id, n: m.n, steps: owed.splice(0) } });
    }
    let byPeer = it.halo.get(m.step);
    if (!byPeer) it.halo.set(m.step, (byPeer = new Map()));
    if (byPeer.has(from)) return drop(state, out, `second halo for step ${m.step} from ${from}`);
    byPeer.set(from, m.values);
    return;
  }
  if (from !== COORDINATOR) return drop(state, out, `${m.type} from ${from}: orders come from the coordinator only`);
  if (m.type === 'open') {
    if (state.run?.id === m.run.id) return drop(state, out, `open of run ${m.run.id} again`);
    state.seen.clear();
    state.log = [];
    state.run = m.run;
    state.ahead = undefined;
    state.shard = m.shard;
    state.built = false;
    state.iteration = undefined;
    state.queue.length = 0;
    state.early.length = 0;
    state.queue.push(m);
    return;
  }
  if (!state.run || m.run !== state.run.id) return drop(state, out, `${m.type} for run ${m.run}, not the open one`);
  if (m.type !== 'viNext') {
    const key = orderKey(m);
    if (state.seen.has(key)) return drop(state, out, `${key} again`);
    state.seen.add(key);
    state.log = []; // the coordinator sends an order only once it has every answer to the previous one
    if (!keepsAhead(m, state.ahead)) state.ahead = undefined;
  }
  if (m.type === 'close') {
    state.run = undefined;
    state.ahead = undefined;
    state.iteration = undefined;
    state.queue.length = 0;
    return;
  }
  if (m.type === 'viNext') {
    const it = state.iteration;
    if (!it || it.mode !== 'vi' || m.n !== it.n || m.sweep !== it.next - 1 || it.verdict) return drop(state, out, `viNext for sweep ${m.sweep} out of turn`);
    it.verdict = { sweep: m.sweep, freeze: m.freeze, done: m.done };
    return;
  }
  state.queue.push(m);
}

function finished(state: NodeState, event: Extract<NodeEvent, { kind: 'done' | 'failed' }>, out: NodeInstruction[]): void {
  const job = state.busy;
  state.busy = undefined;
  const run = state.run;
  if (!job || !run) return;
  // a build that the open of another run overtook built (or failed to build) the old run's shard: no answer,
  // the new run's build is queued
  if (job.kind === 'build' && job.run.id !== run.id) return;
  if (event.kind === 'failed') {
    out.push({ kind: 'send', to: COORDINATOR, message: { type: 'failed', run: run.id, error: `${job.kind}: ${event.error}` } });
    state.iteration = undefined;
    state.ahead = undefined;
    return;
  }
  const r = event.result;
  const it = state.iteration;
  switch (job.kind) {
    case 'build':
      state.built = true;
      out.push({ kind: 'send', to: COORDINATOR, message: { type: 'ack', run: run.id, req: -1 } });
      return;
    case 'init':
      out.push({ kind: 'send', to: COORDINATOR, message: { type: 'ack', run: run.id, req: -2 } });
      return;
    case 'load':
    case 'keep':
    case 'snapshot':
    case 'restore': {
      const refused = r.kind === 'other' ? r.refused : undefined;
      out.push({ kind: 'send', to: COORDINATOR, message: { type: 'ack', run: run.id, req: job.message.req, ...(refused ? { refused } : {}) } });
      return;
    }
    case 'read':
      if (r.kind === 'read') out.push({ kind: 'send', to: COORDINATOR, message: { type: 'piece', run: run.id, req: job.message.req, data: r.data } });
      return;
    case 'flow':
      if (!it || r.kind !== 'flow') return;
      it.mine = r.needs;
      // from here on, each step this iteration finishes lets the next iteration's flow run ahead on its slice
      state.ahead = it.mode === 'finite' && !it.last ? { n: it.n + 1, slice: (run.tableOptions.slices ?? 1) - 1, chunk: 0 } : undefined;
      for (const peer of run.nodes) {
        if (peer === state.self) continue;
        out.push({ kind: 'send', to: peer, message: { type: 'need', run: run.id, n: it.n, rows: r.needs.get(peer) ?? [] } });
      }
      it.stage = it.mode === 'vi' ? 'reset' : 'steps';
      it.next = it.mode === 'vi' ? 0 : (run.tableOptions.slices ?? 1) - 1;
      return;
    case 'step':
    case 'viSweep':
      if (!it || (r.kind !== 'step' && r.kind !== 'viSweep')) return;
      for (const o of r.out) {
        const owed = it.owed.get(o.peer)?.splice(0) ?? [];
        const step = job.kind === 'step' ? job.t : job.sweep;
        out.push({ kind: 'send', to: o.peer, message: { type: 'halo', run: run.id, n: it.n, step, values: o.values, ...(owed.length > 0 ? { got: owed } : {}) } });
      }
      if (job.kind === 'viSweep') {
        out.push({ kind: 'send', to: COORDINATOR, message: { type: 'changes', run: run.id, n: it.n, sweep: job.sweep, blocks: r.blocks ?? [] } });
        it.stage = 'verdict';
      }
      return;
    case 'flowAhead': {
      const a = state.ahead;
      if (r.kind !== 'flowAhead' || !a || a.n !== job.n || a.slice !== job.slice || a.chunk !== job.chunk) return;
      if (r.last) {
        a.slice--;
        a.chunk = 0;
      } else a.chunk++;
      return;
    }
    case 'viReset':
      if (it) it.stage = 'sweep';
      return;
    case 'viFreeze':
      return;
    case 'viFinish':
      if (it) it.stage = 'start';
      return;
    case 'startValues':
      if (!it || r.kind !== 'startValues') return;
      out.push({ kind: 'send', to: COORDINATOR, message: { type: 'done', run: run.id, n: it.n, ...(r.start ? { start: r.start } : {}), ...(r.costs ? { costs: r.costs } : {}) } });
      state.iteration = undefined;
      return;
  }
}

/** Starts the next job when none runs; `idle`: the shell's loop has had a turn, so the flow may run ahead. */
function advance(state: NodeState, out: NodeInstruction[], idle = false): void {
  if (state.busy || !state.run) return;
  const job = nextJob(state) ?? (idle ? aheadJob(state) : undefined);
  if (job) {
    state.busy = job;
    out.push({ kind: 'run', job });
  }
}

function nextJob(state: NodeState): Job | undefined {
  const run = state.run!;
  const it = state.iteration;
  if (!it) {
    const m = state.queue.shift();
    if (!m) return undefined;
    switch (m.type) {
      case 'open':
        return { kind: 'build', run: m.run, shard: m.shard };
      case 'init':
        return { kind: 'init', message: m };
      case 'load':
        return { kind: 'load', message: m };
      case 'read':
        return { kind: 'read', message: m };
      case 'keep':
        return { kind: 'keep', message: m };
      case 'snapshot':
        return { kind: 'snapshot', message: m };
      case 'restore':
        return { kind: 'restore', message: m };
      case 'iterate':
      case 'vi': {
        const next: Iteration = {
          n: m.n,
          mode: m.type === 'vi' ? 'vi' : 'finite',
          rule: m.rule,
          discount: m.type === 'vi' ? m.discount : 1,
          last: m.type === 'iterate' && m.last === true,
          theirs: new Map(),
          halo: new Map(),
          owed: new Map(),
          next: 0,
          early: false,
          open: [...VALUE_FNS],
          stage: 'flow',
        };
        state.iteration = next;
        for (const e of state.early.splice(0)) {
          if (e.message.type === 'need' && e.message.n === m.n && !next.theirs.has(e.from)) next.theirs.set(e.from, e.message.rows);
        }
        const a = state.ahead;
        state.ahead = undefined;
        if (next.mode === 'finite' && a?.n === m.n) return { kind: 'flow', vi: false, ahead: { slice: a.slice, chunk: a.chunk } };
        return { kind: 'flow', vi: next.mode === 'vi' };
      }
      default:
        return undefined;
    }
  }
  if (it.stage === 'flow') return undefined;
  const peers = run.nodes.filter((p) => p !== state.self);
  if (it.theirs.size < peers.length) return undefined; // every peer's needs first: they decide what to send
  const sendAt = (t: number) => peers.map((peer) => ({ peer, rows: it.theirs.get(peer)![t] })).filter((x) => x.rows && x.rows.length > 0);
  if (it.tail) {
    // the head's halo has gone: the rest of that step before anything else (step t - 1 reads its rows)
    const tail = it.tail;
    it.tail = undefined;
    return tail;
  }
  switch (it.stage) {
    case 'steps': {
      // a node starts step t on the rows whose inputs are local; the rest waits for the halo of t + 1
      const t = it.next;
      const halo = haloFor(it, peers, t, t + 1);
      if (!halo) {
        if (it.early) return undefined;
        it.early = true;
        return { kind: 'step', t, part: 'early', rule: it.rule, halo: [], send: [] };
      }
      const part = it.early ? 'late' : 'all';
      it.early = false;
      it.next = t - 1;
      if (t === 0) it.stage = 'start';
      const send = t >= 1 ? sendAt(t - 1) : [];
      if (send.length === 0) return { kind: 'step', t, part, rule: it.rule, halo, send };
      it.tail = { kind: 'step', t, part, split: 'tail', rule: it.rule, halo: [], send };
      return { kind: 'step', t, part, split: 'head', rule: it.rule, halo, send };
    }
    case 'reset':
      return { kind: 'viReset' };
    case 'sweep': {
      // sweep s reads the values of sweep s - 1; sweep 0 reads the zeros of the reset
      const s = it.next;
      const halo = s === 0 ? [] : haloFor(it, peers, 0, s - 1);
      if (!halo) return undefined;
      it.next = s + 1;
      return { kind: 'viSweep', sweep: s, discount: it.discount, open: [...it.open], halo, send: sendAt(0) };
    }
    case 'verdict': {
      const v = it.verdict;
      if (!v) return undefined;
      it.verdict = undefined;
      it.open = it.open.filter((f) => !v.freeze.includes(f));
      it.stage = v.done ? 'finish' : 'sweep';
      if (v.freeze.length > 0) return { kind: 'viFreeze', fns: v.freeze, slot: v.sweep & 1 };
      return nextJob(state);
    }
    case 'finish':
      return { kind: 'viFinish', rule: it.rule };
    case 'start':
      return { kind: 'startValues' };
  }
  return undefined;
}

/**
 * A chunk of the next iteration's flow, where one is due and allowed: no order waits, and the slice's step of
 * this iteration has run (steps above `next` have: a split step's tail runs before anything else), or the
 * iteration is over.
 */
function aheadJob(state: NodeState): Job | undefined {
  const a = state.ahead;
  if (!a || a.slice < 0 || state.queue.length > 0) return undefined;
  const it = state.iteration;
  if (it && (it.n !== a.n - 1 || it.stage !== 'steps' || it.tail || a.slice <= it.next)) return undefined;
  return { kind: 'flowAhead', n: a.n, slice: a.slice, chunk: a.chunk };
}

/** The halo rows for a step: from every peer this node reads at `t`, the message of step `step`; undefined while one is missing. */
function haloFor(it: Iteration, peers: string[], t: number, step: number): Array<{ peer: string; rows: Int32Array; values: Float64Array }> | undefined {
  const out: Array<{ peer: string; rows: Int32Array; values: Float64Array }> = [];
  const got = it.halo.get(step);
  for (const peer of peers) {
    const rows = it.mine?.get(peer)?.[t];
    if (!rows || rows.length === 0) continue;
    const values = got?.get(peer);
    if (!values) return undefined;
    out.push({ peer, rows, values });
  }
  it.halo.delete(step);
  return out;
}
