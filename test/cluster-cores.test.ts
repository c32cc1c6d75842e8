// The pure cores without any server or transport: sequences of joins, leaves, kills (silence), late, forged
// and duplicated messages and outages fed to the coordinator's scheduling core and to a node's state, with
// the instructions they answer asserted.
import { describe, expect, it } from 'vitest';
import { newSchedulerState, schedulerStep, type SchedulerInstruction, type SchedulerState } from '../shared/cluster-scheduler.ts';
import { newNodeState, nodeStep, RECEIPT_BATCH, type JobResult, type NodeInstruction } from '../shared/cluster-node-core.ts';
import { COORDINATOR, type ShardRun, type ToCoordinator, type ToPeer } from '../shared/cluster-messages.ts';
import { blockCostsOf } from '../shared/cluster-recut.ts';

const RULE = { kind: 'average', iteration: 0 } as const;
const RUN = { id: 'run-1', v: 2, spec: { game: 'sis', params: {}, bins: 8 }, gridKind: 'midpoint', fingerprint: 'f', tableOptions: { slices: 3 } } as const;

function sched(): SchedulerState {
  return newSchedulerState({ heartbeatTimeoutMs: 3_000, waitForNodesMs: 10_000, settleMs: 1_000, buildTimeoutMs: 60_000 }, 0);
}
const hb = (threads = 1, state: 'ready' | 'leaving' = 'ready'): ToCoordinator => ({ type: 'hb', threads, state });
const sends = (ins: SchedulerInstruction[]) => ins.filter((i): i is Extract<SchedulerInstruction, { kind: 'send' }> => i.kind === 'send');
const of = <K extends SchedulerInstruction['kind']>(ins: SchedulerInstruction[], kind: K) => ins.filter((i) => i.kind === kind) as Array<Extract<SchedulerInstruction, { kind: K }>>;

/** A scheduler with nodes a (1 thread) and b (3 threads) joined and a run opened over 40 cells. */
function opened(): { s: SchedulerState; run: ShardRun } {
  const s = sched();
  schedulerStep(s, { kind: 'message', from: 'a', message: hb(1), now: 10 });
  schedulerStep(s, { kind: 'message', from: 'b', message: hb(3), now: 20 });
  schedulerStep(s, { kind: 'command', id: 1, command: { kind: 'open', run: RUN, cells: 40, minNodes: 2 }, now: 30 });
  const ins = schedulerStep(s, { kind: 'tick', now: 1_100 });
  const run = s.run!;
  expect(sends(ins).map((x) => x.to)).toEqual(['a', 'b']);
  schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'ack', run: run.id, req: -1 }, now: 1_150 });
  const done = schedulerStep(s, { kind: 'message', from: 'b', message: { type: 'ack', run: run.id, req: -1 }, now: 1_160 });
  expect(of(done, 'resolve')).toHaveLength(1);
  return { s, run };
}

describe('cut by cost', () => {
  it('with cell costs, each node gets work in proportion to its threads (on block boundaries)', () => {
    const s = sched();
    schedulerStep(s, { kind: 'message', from: 'a', message: hb(1), now: 10 });
    schedulerStep(s, { kind: 'message', from: 'b', message: hb(1), now: 20 });
    // 40 cells, the last 16 cost 3 times the others: equal threads, so node b takes fewer cells
    const cellCosts = Float64Array.from({ length: 40 }, (_, c) => (c < 24 ? 1 : 3));
    schedulerStep(s, { kind: 'command', id: 1, command: { kind: 'open', run: RUN, cells: 40, minNodes: 2, blockCosts: blockCostsOf(cellCosts, 40) }, now: 30 });
    schedulerStep(s, { kind: 'tick', now: 1_100 });
    // costs per block of 4: 4 x 6, then 12 x 4 (total 72): a takes 6 + 1 blocks (36), b 3 blocks (36)
    expect(s.run!.cellBounds).toEqual([0, 28, 40]);
  });
});

describe('scheduling core', () => {
  it('open waits for enough nodes and the settle time, then cuts shards by threads on block boundaries', () => {
    const s = sched();
    expect(schedulerStep(s, { kind: 'command', id: 1, command: { kind: 'open', run: RUN, cells: 40, minNodes: 2 }, now: 0 })).toEqual([]);
    const joined = schedulerStep(s, { kind: 'message', from: 'a', message: hb(1), now: 100 });
    expect(of(joined, 'log')[0].message).toBe('node joined');
    expect(sends(schedulerStep(s, { kind: 'tick', now: 2_000 }))).toEqual([]); // one node: keeps waiting
    const ins = schedulerStep(s, { kind: 'message', from: 'b', message: hb(3), now: 2_100 });
    expect(s.run!.nodes).toEqual(['a', 'b']);
    expect(s.run!.cellBounds).toEqual([0, 12, 40]); // weights 1:3 over 10 blocks of 4 cells
    expect(sends(ins).map((x) => [x.to, x.message.type, (x.message as { shard: number }).shard])).toEqual([
      ['a', 'open', 0],
      ['b', 'open', 1],
    ]);
  });

  it('open fails with one line when too few nodes join in time', () => {
    const s = sched();
    schedulerStep(s, { kind: 'command', id: 7, command: { kind: 'open', run: RUN, cells: 40, minNodes: 3 }, now: 0 });
    schedulerStep(s, { kind: 'message', from: 'a', message: hb(), now: 10 });
    schedulerStep(s, { kind: 'message', from: 'a', message: hb(), now: 10_000 }); // still beating
    const ins = schedulerStep(s, { kind: 'tick', now: 10_500 });
    expect(of(ins, 'reject').map((r) => [r.id, r.error])).toEqual([[7, expect.stringMatching(/^cluster: 1 node\(s\) ready after 11 s, 3 needed/)]]);
  });

  it('while the nodes build the model they beat: one silent past the heartbeat timeout is lost then, not after the build timeout; a build that goes on fails at the build timeout', () => {
    const open = (s: SchedulerState) => {
      schedulerStep(s, { kind: 'message', from: 'a', message: hb(1), now: 10 });
      schedulerStep(s, { kind: 'message', from: 'b', message: hb(1), now: 20 });
      schedulerStep(s, { kind: 'command', id: 1, command: { kind: 'open', run: RUN, cells: 40, minNodes: 2 }, now: 30 });
      expect(sends(schedulerStep(s, { kind: 'tick', now: 1_100 }))).toHaveLength(2);
    };
    const s = sched();
    open(s);
    // a keeps beating while it builds, b falls silent (killed during its build)
    schedulerStep(s, { kind: 'message', from: 'a', message: hb(1), now: 3_000 });
    const lost = schedulerStep(s, { kind: 'tick', now: 3_100 });
    expect(of(lost, 'reject').map((r) => r.error)).toEqual([expect.stringMatching(/^cluster: node b stopped answering/)]);
    // both beat, b never acks its build: the build timeout (60 s) ends the wait
    const t = sched();
    open(t);
    schedulerStep(t, { kind: 'message', from: 'a', message: { type: 'ack', run: t.run!.id, req: -1 }, now: 1_200 });
    for (let now = 2_000; now < 61_100; now += 2_000) {
      schedulerStep(t, { kind: 'message', from: 'a', message: hb(1), now });
      schedulerStep(t, { kind: 'message', from: 'b', message: hb(1), now });
      expect(of(schedulerStep(t, { kind: 'tick', now: now + 1 }), 'reject')).toEqual([]);
    }
    schedulerStep(t, { kind: 'message', from: 'b', message: hb(1), now: 61_150 });
    const slow = schedulerStep(t, { kind: 'tick', now: 61_200 });
    expect(of(slow, 'reject').map((r) => r.error)).toEqual([expect.stringMatching(/^cluster: node\(s\) b still building the model after 60 s/)]);
  });

  it('an iteration resolves when every node is done, with the start values of the owner of c0', () => {
    const { s, run } = opened();
    const ins = schedulerStep(s, { kind: 'command', id: 2, command: { kind: 'iterate', n: 0, rule: RULE }, now: 2_000 });
    expect(sends(ins).map((x) => [x.to, x.message.type])).toEqual([
      ['a', 'iterate'],
      ['b', 'iterate'],
    ]);
    const start = new Float64Array([1, 2, 3]);
    expect(of(schedulerStep(s, { kind: 'message', from: 'b', message: { type: 'done', run: run.id, n: 0, start }, now: 2_100 }), 'resolve')).toEqual([]);
    const r = of(schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'done', run: run.id, n: 0 }, now: 2_200 }), 'resolve');
    expect(r).toEqual([{ kind: 'resolve', id: 2, result: { kind: 'iterate', start, sweeps: 0 } }]);
    // the last iteration says so (the nodes run nothing of a next one ahead)
    const last = schedulerStep(s, { kind: 'command', id: 3, command: { kind: 'iterate', n: 1, rule: RULE, last: true }, now: 2_300 });
    expect(sends(last).map((x) => x.message)).toEqual(['a', 'b'].map(() => ({ type: 'iterate', run: run.id, n: 1, rule: RULE, last: true })));
  });

  it('late, duplicated, forged and foreign messages are dropped and change nothing', () => {
    const { s, run } = opened();
    schedulerStep(s, { kind: 'command', id: 2, command: { kind: 'iterate', n: 5, rule: RULE }, now: 2_000 });
    const cases: Array<[string, ToCoordinator]> = [
      ['a', { type: 'done', run: run.id, n: 4 }], // late: the previous iteration
      ['a', { type: 'done', run: 'other-run', n: 5 }], // another run
      ['mallory', { type: 'done', run: run.id, n: 5 }], // not a node of the run
      [COORDINATOR, { type: 'done', run: run.id, n: 5 }], // claims to be the coordinator
      ['a', { type: 'ack', run: run.id, req: 99 }], // nothing asked
      ['a', { type: 'piece', run: run.id, req: 1, data: new Float64Array(1) }],
      ['a', { nonsense: true } as unknown as ToCoordinator],
    ];
    for (const [from, message] of cases) {
      const ins = schedulerStep(s, { kind: 'message', from, message, now: 2_100 });
      expect(of(ins, 'dropped'), `${from} ${JSON.stringify(message)}`).toHaveLength(1);
      expect(of(ins, 'resolve')).toHaveLength(0);
    }
    expect(s.dropped).toBe(cases.length);
    schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'done', run: run.id, n: 5, start: new Float64Array(2) }, now: 2_200 });
    // a second 'done' from the same node (duplicate) is dropped; b's still completes it
    expect(of(schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'done', run: run.id, n: 5 }, now: 2_250 }), 'dropped')).toHaveLength(1);
    expect(of(schedulerStep(s, { kind: 'message', from: 'b', message: { type: 'done', run: run.id, n: 5 }, now: 2_300 }), 'resolve')).toHaveLength(1);
  });

  it('a node that falls silent (killed, or cut off by an outage longer than the timeout) fails the command naming it', () => {
    const { s } = opened();
    schedulerStep(s, { kind: 'command', id: 2, command: { kind: 'iterate', n: 0, rule: RULE }, now: 2_000 });
    schedulerStep(s, { kind: 'message', from: 'b', message: hb(3), now: 3_000 });
    expect(of(schedulerStep(s, { kind: 'tick', now: 3_500 }), 'reject')).toEqual([]); // a: 2.35 s silent, within the timeout
    const ins = schedulerStep(s, { kind: 'tick', now: 4_300 });
    expect(of(ins, 'reject')).toEqual([{ kind: 'reject', id: 2, error: 'cluster: node a stopped answering (no heartbeat for 3 s)' }]);
    expect(s.members.has('a')).toBe(false);
  });

  it('a short outage within the heartbeat timeout costs nothing: the command completes when the answers come', () => {
    const { s, run } = opened();
    schedulerStep(s, { kind: 'command', id: 2, command: { kind: 'iterate', n: 0, rule: RULE }, now: 2_000 });
    // 0.5 s without any message from anyone, then the answers
    expect(of(schedulerStep(s, { kind: 'tick', now: 2_600 }), 'reject')).toEqual([]);
    schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'done', run: run.id, n: 0, start: new Float64Array(1) }, now: 2_700 });
    expect(of(schedulerStep(s, { kind: 'message', from: 'b', message: { type: 'done', run: run.id, n: 0 }, now: 2_710 }), 'resolve')).toHaveLength(1);
  });

  it('a node leaving mid-run fails the command; a node joining mid-run is kept for the next open', () => {
    const { s } = opened();
    schedulerStep(s, { kind: 'command', id: 2, command: { kind: 'iterate', n: 0, rule: RULE }, now: 2_000 });
    expect(of(schedulerStep(s, { kind: 'message', from: 'c', message: hb(2), now: 2_050 }), 'log')[0].fields).toEqual({ node: 'c', threads: 2 });
    expect(of(schedulerStep(s, { kind: 'message', from: 'b', message: hb(3, 'leaving'), now: 2_100 }), 'reject')[0].error).toBe('cluster: node b left during the run');
    expect(s.members.get('c')?.threads).toBe(2);
  });

  it('a node reporting a failed job fails the command with its message', () => {
    const { s, run } = opened();
    schedulerStep(s, { kind: 'command', id: 2, command: { kind: 'iterate', n: 0, rule: RULE }, now: 2_000 });
    const ins = schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'failed', run: run.id, error: 'step: boom' }, now: 2_100 });
    expect(of(ins, 'reject')[0].error).toBe('cluster: node a failed: step: boom');
  });

  it('value iteration: block sums in shard order decide what freezes; the verdict goes to every node', () => {
    const { s, run } = opened();
    schedulerStep(s, { kind: 'command', id: 2, command: { kind: 'vi', n: 0, rule: RULE, discount: 0.9, tolerance: 1, maxSweeps: 10 }, now: 2_000 });
    const blocks = (v: number[]) => v.map((x) => new Float64Array([x]));
    schedulerStep(s, { kind: 'message', from: 'b', message: { type: 'changes', run: run.id, n: 0, sweep: 0, blocks: blocks([0.5, 2, 0.2, 3]) }, now: 2_100 });
    const ins = schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'changes', run: run.id, n: 0, sweep: 0, blocks: blocks([0.4, 0, 0.9, 0]) }, now: 2_200 });
    // majorBR 0.9 <= 1 and minorBR 1.1 > 1 ... per function: [0.4+0.5, 0+2, 0.9+0.2, 0+3]
    expect(sends(ins).map((x) => [x.to, x.message])).toEqual(
      ['a', 'b'].map((to) => [to, { type: 'viNext', run: run.id, n: 0, sweep: 0, freeze: ['majorBR'], done: false }]),
    );
    // a change report for a sweep already decided is late: dropped
    expect(of(schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'changes', run: run.id, n: 0, sweep: 0, blocks: blocks([0, 0, 0]) }, now: 2_250 }), 'dropped')).toHaveLength(1);
    schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'changes', run: run.id, n: 0, sweep: 1, blocks: blocks([0, 0, 0]) }, now: 2_300 });
    const last = schedulerStep(s, { kind: 'message', from: 'b', message: { type: 'changes', run: run.id, n: 0, sweep: 1, blocks: blocks([0, 0, 0]) }, now: 2_400 });
    expect(sends(last)[0].message).toEqual({ type: 'viNext', run: run.id, n: 0, sweep: 1, freeze: ['majorEval', 'minorBR', 'minorEval'], done: true });
    schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'done', run: run.id, n: 0, start: new Float64Array(1) }, now: 2_500 });
    expect(of(schedulerStep(s, { kind: 'message', from: 'b', message: { type: 'done', run: run.id, n: 0 }, now: 2_600 }), 'resolve')[0].result).toMatchObject({ sweeps: 2 });
  });
});

describe('node state', () => {
  const run: ShardRun = { ...RUN, tableOptions: { slices: 3 }, cellBounds: [0, 4, 8], nodes: ['a', 'b'] };
  const jobs = (ins: NodeInstruction[]) => ins.filter((i) => i.kind === 'run').map((i) => (i as Extract<NodeInstruction, { kind: 'run' }>).job);
  const msgs = (ins: NodeInstruction[]) => ins.filter((i) => i.kind === 'send') as Array<Extract<NodeInstruction, { kind: 'send' }>>;

  it('orders only from the coordinator; one job at a time; halo waits for its data; sends what peers asked for', () => {
    const s = newNodeState('a');
    // an order from a peer or a stranger is dropped
    expect(nodeStep(s, { kind: 'message', from: 'b', message: { type: 'open', run, shard: 0 }, now: 0 })[0]).toMatchObject({ kind: 'dropped' });
    expect(jobs(nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'open', run, shard: 0 }, now: 1 }))).toEqual([{ kind: 'build', run, shard: 0 }]);
    // a second order waits for the running job
    expect(jobs(nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'iterate', run: run.id, n: 0, rule: RULE }, now: 2 }))).toEqual([]);
    const built = nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'other' }, now: 3 });
    expect(msgs(built)[0]).toEqual({ kind: 'send', to: COORDINATOR, message: { type: 'ack', run: run.id, req: -1 } });
    expect(jobs(built)).toEqual([{ kind: 'flow', vi: false }]);
    // the flow says: at t = 0 this node reads rows 5, 6 of b; at t = 1 nothing
    const needs = new Map([['b', [new Int32Array([5, 6]), new Int32Array(0)]]]);
    const flowed = nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'flow', needs }, now: 4 });
    expect(msgs(flowed)).toEqual([{ kind: 'send', to: 'b', message: { type: 'need', run: run.id, n: 0, rows: needs.get('b') } }]);
    expect(jobs(flowed)).toEqual([]); // b's needs first
    // forged need from a stranger, and a halo for another run: dropped
    expect(nodeStep(s, { kind: 'message', from: 'mallory', message: { type: 'need', run: run.id, n: 0, rows: [] }, now: 5 })[0]).toMatchObject({ kind: 'dropped' });
    expect(nodeStep(s, { kind: 'message', from: 'b', message: { type: 'halo', run: 'old', n: 0, step: 1, values: new Float64Array(0) }, now: 5 })[0]).toMatchObject({ kind: 'dropped' });
    // b reads our row 1 at t = 1 (so we send V(2)'s row 1 after our step 2... no: step t sends V(t) for their step t - 1)
    const theirs = [new Int32Array(0), new Int32Array([1])];
    const step2 = jobs(nodeStep(s, { kind: 'message', from: 'b', message: { type: 'need', run: run.id, n: 0, rows: theirs }, now: 6 }));
    // a step whose rows b reads runs as a head (those rows, then the halo goes out) and a tail (the other rows)
    const send2 = [{ peer: 'b', rows: theirs[1] }];
    expect(step2).toEqual([{ kind: 'step', t: 2, part: 'all', split: 'head', rule: RULE, halo: [], send: send2 }]);
    const v2 = new Float64Array([9]);
    const sent = nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'step', out: [{ peer: 'b', values: v2 }] }, now: 7 });
    expect(msgs(sent)).toEqual([{ kind: 'send', to: 'b', message: { type: 'halo', run: run.id, n: 0, step: 2, values: v2 } }]);
    expect(jobs(sent)).toEqual([{ kind: 'step', t: 2, part: 'all', split: 'tail', rule: RULE, halo: [], send: send2 }]);
    // the tail sends nothing; then step 1 (nothing to send: no split)
    const tail = nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'step', out: [] }, now: 7 });
    expect(msgs(tail)).toEqual([]);
    expect(jobs(tail)).toEqual([{ kind: 'step', t: 1, part: 'all', rule: RULE, halo: [], send: [] }]);
    // the halo is kept for a resend until b says it got it (or a stranger cannot make us forget it)
    const halos = (ins: NodeInstruction[]) => msgs(ins).filter((i) => i.message.type === 'halo');
    expect(halos(nodeStep(s, { kind: 'resend', now: 7 }))).toHaveLength(1);
    nodeStep(s, { kind: 'message', from: 'mallory', message: { type: 'got', run: run.id, n: 0, steps: [2] }, now: 7 });
    expect(halos(nodeStep(s, { kind: 'resend', now: 7 }))).toHaveLength(1);
    nodeStep(s, { kind: 'message', from: 'b', message: { type: 'got', run: run.id, n: 0, steps: [2] }, now: 7 });
    expect(halos(nodeStep(s, { kind: 'resend', now: 7 }))).toHaveLength(0);
    // step 0 reads V(1) rows 5, 6 from b: it starts on the rows that read none of them, then waits for b's halo of step 1
    const early = { kind: 'step', t: 0, part: 'early', rule: RULE, halo: [], send: [] };
    expect(jobs(nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'step', out: [] }, now: 8 }))).toEqual([early]);
    // the early part sends nothing and starts nothing more
    expect(nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'step', out: [] }, now: 8 })).toEqual([]);
    const v1 = new Float64Array([1, 2]);
    // a duplicate halo is dropped, the first one is used
    const got = nodeStep(s, { kind: 'message', from: 'b', message: { type: 'halo', run: run.id, n: 0, step: 1, values: v1 }, now: 9 });
    // the receipt is owed to b: it rides on our next halo to b (none in this iteration), or goes alone once RECEIPT_BATCH are owed
    expect(msgs(got)).toEqual([]);
    const go = jobs(got);
    expect(go).toEqual([{ kind: 'step', t: 0, part: 'late', rule: RULE, halo: [{ peer: 'b', rows: new Int32Array([5, 6]), values: v1 }], send: [] }]);
    expect(jobs(nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'step', out: [] }, now: 10 }))).toEqual([{ kind: 'startValues' }]);
    const end = nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'startValues', start: new Float64Array([4]) }, now: 11 });
    expect(msgs(end)).toEqual([{ kind: 'send', to: COORDINATOR, message: { type: 'done', run: run.id, n: 0, start: new Float64Array([4]) } }]);
    // late halo of the finished iteration: dropped
    expect(nodeStep(s, { kind: 'message', from: 'b', message: { type: 'halo', run: run.id, n: 0, step: 1, values: v1 }, now: 12 })[0]).toMatchObject({ kind: 'dropped' });
  });

  it("receipts ride on the next halo to the peer, or go alone once RECEIPT_BATCH are owed; only the peer's receipts make a node forget its halos", () => {
    const slices = RECEIPT_BATCH + 6;
    const r: ShardRun = { ...run, id: 'receipts', tableOptions: { slices } };
    const s = newNodeState('a');
    nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'open', run: r, shard: 0 }, now: 0 });
    nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'iterate', run: r.id, n: 0, rule: RULE }, now: 1 });
    nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'other' }, now: 2 });
    // a reads nothing from b; b's step t reads a's row 1 of V(t + 1) for every t
    nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'flow', needs: new Map([['b', Array.from({ length: slices }, () => new Int32Array(0))]]) }, now: 3 });
    nodeStep(s, { kind: 'message', from: 'b', message: { type: 'need', run: r.id, n: 0, rows: Array.from({ length: slices }, () => new Int32Array([1])) }, now: 4 });
    const halo = (step: number, got?: number[]) => ({ type: 'halo' as const, run: r.id, n: 0, step, values: new Float64Array([step]), ...(got ? { got } : {}) });
    // b's halos: no receipt until RECEIPT_BATCH are owed, then one message with all of them
    for (let step = 1; step < RECEIPT_BATCH; step++) expect(msgs(nodeStep(s, { kind: 'message', from: 'b', message: halo(step), now: 5 }))).toEqual([]);
    const batch = Array.from({ length: RECEIPT_BATCH }, (_, i) => i + 1);
    expect(msgs(nodeStep(s, { kind: 'message', from: 'b', message: halo(RECEIPT_BATCH), now: 5 }))).toEqual([{ kind: 'send', to: 'b', message: { type: 'got', run: r.id, n: 0, steps: batch } }]);
    // one more is owed: it rides on a's next halo to b (a's steps run from t = slices - 1 down, heads send V(t))
    expect(msgs(nodeStep(s, { kind: 'message', from: 'b', message: halo(RECEIPT_BATCH + 1), now: 6 }))).toEqual([]);
    const sent: Array<{ step: number; got?: number[] }> = [];
    for (let i = 0; i < 4 && s.busy?.kind === 'step'; i++) {
      const job = s.busy;
      const out = job.split === 'tail' ? [] : job.send.map((x) => ({ peer: x.peer, values: new Float64Array([job.t]) }));
      for (const m of msgs(nodeStep(s, { kind: 'done', job, result: { kind: 'step', out }, now: 7 }))) {
        if (m.message.type === 'halo') sent.push({ step: m.message.step, ...(m.message.got ? { got: m.message.got } : {}) });
        else throw new Error(`unexpected ${m.message.type}`);
      }
    }
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent[0].got).toEqual([RECEIPT_BATCH + 1]);
    expect(sent.slice(1).every((h) => h.got === undefined)).toBe(true);
    // a keeps its halos for a resend until b's receipts name them: alone, or riding on b's halo
    const kept = () => msgs(nodeStep(s, { kind: 'resend', now: 8 })).filter((m) => m.message.type === 'halo').map((m) => (m.message as { step: number }).step);
    const steps = sent.map((h) => h.step);
    expect(kept()).toEqual(steps);
    nodeStep(s, { kind: 'message', from: 'mallory', message: { type: 'got', run: r.id, n: 0, steps }, now: 9 });
    nodeStep(s, { kind: 'message', from: 'b', message: { type: 'got', run: r.id, n: 1, steps }, now: 9 }); // another iteration's
    expect(kept()).toEqual(steps);
    nodeStep(s, { kind: 'message', from: 'b', message: { type: 'got', run: r.id, n: 0, steps: [steps[0]] }, now: 10 });
    expect(kept()).toEqual(steps.slice(1));
    nodeStep(s, { kind: 'message', from: 'b', message: halo(RECEIPT_BATCH + 2, steps.slice(1)), now: 11 });
    expect(kept()).toEqual([]);
    // a malformed receipt is dropped
    expect(nodeStep(s, { kind: 'message', from: 'b', message: { type: 'got', run: r.id, n: 0, steps: 'all' } as unknown as ToPeer, now: 12 })[0]).toMatchObject({ kind: 'dropped' });
  });

  it("while a step waits for its halo, an idle turn runs the next iteration's flow ahead on the slices whose step has run; the next flow resumes there; orders that change the policies drop it", () => {
    const s = newNodeState('a');
    const idle = () => jobs(nodeStep(s, { kind: 'idle', now: 0 }));
    const done = (result: JobResult) => jobs(nodeStep(s, { kind: 'done', job: s.busy!, result, now: 0 }));
    const ahead = (n: number, slice: number, chunk: number) => [{ kind: 'flowAhead', n, slice, chunk }];
    nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'open', run, shard: 0 }, now: 0 });
    expect(idle()).toEqual([]); // busy building
    nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'iterate', run: run.id, n: 0, rule: RULE }, now: 0 });
    expect(done({ kind: 'other' })).toEqual([{ kind: 'flow', vi: false }]);
    expect(s.ahead).toBeUndefined();
    // a reads b's rows 5, 6 of V(1) at t = 0; b reads nothing of a
    done({ kind: 'flow', needs: new Map([['b', [new Int32Array([5, 6]), new Int32Array(0)]]]) });
    expect(s.ahead).toEqual({ n: 1, slice: 2, chunk: 0 });
    // the coordinator re-sending this iteration's order (after an outage) changes nothing
    expect(nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'iterate', run: run.id, n: 0, rule: RULE }, now: 0 })[0]).toMatchObject({ kind: 'dropped' });
    expect(s.ahead).toEqual({ n: 1, slice: 2, chunk: 0 });
    expect(idle()).toEqual([]); // waiting for b's needs: no step has run, no slice is free
    expect(jobs(nodeStep(s, { kind: 'message', from: 'b', message: { type: 'need', run: run.id, n: 0, rows: [new Int32Array(0), new Int32Array(0)] }, now: 0 }))).toMatchObject([{ kind: 'step', t: 2 }]);
    expect(idle()).toEqual([]); // busy
    expect(done({ kind: 'step', out: [] })).toMatchObject([{ kind: 'step', t: 1, part: 'all' }]);
    expect(done({ kind: 'step', out: [] })).toMatchObject([{ kind: 'step', t: 0, part: 'early' }]);
    expect(done({ kind: 'step', out: [] })).toEqual([]); // the early part ran; the halo of step 1 is not here
    // steps 2 and 1 have run: their slices of iteration 1's flow may run, chunk by chunk, from the top
    expect(idle()).toEqual(ahead(1, 2, 0));
    expect(idle()).toEqual([]); // one job at a time
    expect(done({ kind: 'flowAhead', last: false })).toEqual([]); // done events never start one: only idle turns do
    expect(idle()).toEqual(ahead(1, 2, 1));
    done({ kind: 'flowAhead', last: true });
    expect(idle()).toEqual(ahead(1, 1, 0));
    done({ kind: 'flowAhead', last: true });
    expect(idle()).toEqual([]); // slice 0: its step waits for the halo
    // the halo comes: the step's late part, then the start values; then the last slice runs ahead
    const v1 = new Float64Array([1, 2]);
    expect(jobs(nodeStep(s, { kind: 'message', from: 'b', message: { type: 'halo', run: run.id, n: 0, step: 1, values: v1 }, now: 0 }))).toMatchObject([{ kind: 'step', t: 0, part: 'late' }]);
    expect(done({ kind: 'step', out: [] })).toEqual([{ kind: 'startValues' }]);
    expect(idle()).toEqual([]);
    done({ kind: 'startValues' });
    expect(idle()).toEqual(ahead(1, 0, 0));
    // an order that leaves the policies as they are waits for the chunk, then runs; the run ahead is kept
    expect(jobs(nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'keep', run: run.id, req: 1, op: 'save' }, now: 0 }))).toEqual([]);
    expect(done({ kind: 'flowAhead', last: true })).toMatchObject([{ kind: 'keep' }]);
    done({ kind: 'other' });
    expect(idle()).toEqual([]); // every slice has run ahead
    // iteration 1's flow has only the plans left
    expect(jobs(nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'iterate', run: run.id, n: 1, rule: RULE }, now: 0 }))).toEqual([{ kind: 'flow', vi: false, ahead: { slice: -1, chunk: 0 } }]);
    expect(s.ahead).toBeUndefined();
    // a chunk done after an order that changes the policies (here a load) is forgotten: the next flow is whole
    const t = newNodeState('a');
    nodeStep(t, { kind: 'message', from: COORDINATOR, message: { type: 'open', run, shard: 0 }, now: 0 });
    nodeStep(t, { kind: 'message', from: COORDINATOR, message: { type: 'iterate', run: run.id, n: 0, rule: RULE }, now: 0 });
    nodeStep(t, { kind: 'done', job: t.busy!, result: { kind: 'other' }, now: 0 });
    nodeStep(t, { kind: 'done', job: t.busy!, result: { kind: 'flow', needs: new Map([['b', [new Int32Array(0), new Int32Array(0)]]]) }, now: 0 });
    nodeStep(t, { kind: 'message', from: 'b', message: { type: 'need', run: run.id, n: 0, rows: [new Int32Array(0), new Int32Array(0)] }, now: 0 });
    for (let i = 0; i < 3; i++) nodeStep(t, { kind: 'done', job: t.busy!, result: { kind: 'step', out: [] }, now: 0 });
    nodeStep(t, { kind: 'done', job: t.busy!, result: { kind: 'startValues' }, now: 0 });
    expect(jobs(nodeStep(t, { kind: 'idle', now: 0 }))).toEqual(ahead(1, 2, 0));
    const load = { type: 'load' as const, run: run.id, req: 2, table: 'minorPolicy' as const, starts: new Float64Array(0), lengths: new Float64Array(0), data: new Float64Array(0) };
    nodeStep(t, { kind: 'message', from: COORDINATOR, message: load, now: 0 });
    expect(t.ahead).toBeUndefined();
    expect(jobs(nodeStep(t, { kind: 'done', job: t.busy!, result: { kind: 'flowAhead', last: true }, now: 0 }))).toMatchObject([{ kind: 'load' }]);
    expect(t.ahead).toBeUndefined();
    nodeStep(t, { kind: 'done', job: t.busy!, result: { kind: 'other' }, now: 0 });
    expect(jobs(nodeStep(t, { kind: 'idle', now: 0 }))).toEqual([]);
    expect(jobs(nodeStep(t, { kind: 'message', from: COORDINATOR, message: { type: 'iterate', run: run.id, n: 1, rule: RULE }, now: 0 }))).toEqual([{ kind: 'flow', vi: false }]);
    // the last iteration runs nothing ahead
    const u = newNodeState('a');
    nodeStep(u, { kind: 'message', from: COORDINATOR, message: { type: 'open', run, shard: 0 }, now: 0 });
    nodeStep(u, { kind: 'message', from: COORDINATOR, message: { type: 'iterate', run: run.id, n: 0, rule: RULE, last: true }, now: 0 });
    nodeStep(u, { kind: 'done', job: u.busy!, result: { kind: 'other' }, now: 0 });
    nodeStep(u, { kind: 'done', job: u.busy!, result: { kind: 'flow', needs: new Map([['b', [new Int32Array(0), new Int32Array(0)]]]) }, now: 0 });
    expect(u.ahead).toBeUndefined();
    // a failed job drops it too
    nodeStep(t, { kind: 'done', job: t.busy!, result: { kind: 'flow', needs: new Map([['b', [new Int32Array(0), new Int32Array(0)]]]) }, now: 0 });
    nodeStep(t, { kind: 'message', from: 'b', message: { type: 'need', run: run.id, n: 1, rows: [new Int32Array(0), new Int32Array(0)] }, now: 0 });
    expect(t.busy).toMatchObject({ kind: 'step', t: 2 });
    expect(t.ahead).toEqual({ n: 2, slice: 2, chunk: 0 });
    expect(jobs(nodeStep(t, { kind: 'failed', job: t.busy!, error: 'boom', now: 0 }))).toEqual([]);
    expect(t.ahead).toBeUndefined();
  });

  it('a build that the open of another run overtook is answered for neither run', () => {
    for (const outcome of ['done', 'failed'] as const) {
      const s = newNodeState('a');
      nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'open', run, shard: 0 }, now: 0 });
      const old = s.busy!;
      const next: ShardRun = { ...run, id: `${run.id}-next`, cellBounds: [0, 2, 8] };
      expect(nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'open', run: next, shard: 1 }, now: 1 })).toEqual([]);
      const end = outcome === 'done' ? ({ kind: 'done', job: old, result: { kind: 'other' }, now: 2 } as const) : ({ kind: 'failed', job: old, error: 'refused', now: 2 } as const);
      const after = nodeStep(s, end);
      expect(msgs(after), outcome).toEqual([]);
      expect(jobs(after)).toEqual([{ kind: 'build', run: next, shard: 1 }]);
      expect(s.built).toBe(false);
      expect(msgs(nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'other' }, now: 3 })).map((m) => m.message)).toEqual([{ type: 'ack', run: next.id, req: -1 }]);
      expect(s.built).toBe(true);
    }
  });

  it('needs of the next iteration that arrive early are kept; a failed job is reported to the coordinator', () => {
    const s = newNodeState('a');
    nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'open', run, shard: 0 }, now: 0 });
    nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'other' }, now: 1 });
    const early = { type: 'need' as const, run: run.id, n: 0, rows: [new Int32Array(0), new Int32Array(0)] };
    expect(nodeStep(s, { kind: 'message', from: 'b', message: early, now: 2 })).toEqual([]);
    nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'iterate', run: run.id, n: 0, rule: RULE }, now: 3 });
    const flowed = nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'flow', needs: new Map() }, now: 4 });
    expect(jobs(flowed)).toEqual([{ kind: 'step', t: 2, part: 'all', rule: RULE, halo: [], send: [] }]);
    const failed = nodeStep(s, { kind: 'failed', job: s.busy!, error: 'out of memory', now: 5 });
    expect(msgs(failed)).toEqual([{ kind: 'send', to: COORDINATOR, message: { type: 'failed', run: run.id, error: 'step: out of memory' } }]);
  });
});

describe('outages: resend', () => {
  it('after a reconnect the coordinator re-sends the current orders and asks the nodes to re-send; silence during the outage is forgiven', () => {
    const { s, run } = opened();
    schedulerStep(s, { kind: 'command', id: 2, command: { kind: 'iterate', n: 0, rule: RULE }, now: 2_000 });
    schedulerStep(s, { kind: 'reconnected', now: 9_000 }); // 7 s offline: more than the heartbeat timeout
    expect(of(schedulerStep(s, { kind: 'tick', now: 9_100 }), 'reject')).toEqual([]);
    const again = schedulerStep(s, { kind: 'resend', now: 10_000 });
    expect(sends(again).map((x) => [x.to, x.message.type])).toEqual([
      ['a', 'iterate'],
      ['b', 'iterate'],
      ['a', 'resend'],
      ['b', 'resend'],
    ]);
    schedulerStep(s, { kind: 'message', from: 'a', message: { type: 'done', run: run.id, n: 0, start: new Float64Array(1) }, now: 10_100 });
    expect(of(schedulerStep(s, { kind: 'message', from: 'b', message: { type: 'done', run: run.id, n: 0 }, now: 10_200 }), 'resolve')).toHaveLength(1);
  });

  it('a node re-sends what it sent for the current order; a re-sent order is not done twice', () => {
    const run: ShardRun = { ...RUN, tableOptions: { slices: 2 }, cellBounds: [0, 4, 8], nodes: ['a', 'b'] };
    const s = newNodeState('a');
    nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'open', run, shard: 0 }, now: 0 });
    nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'other' }, now: 1 });
    const order = { type: 'iterate' as const, run: run.id, n: 0, rule: RULE };
    nodeStep(s, { kind: 'message', from: COORDINATOR, message: order, now: 2 });
    const needs = new Map([['b', [new Int32Array([5])]]]);
    const sent = nodeStep(s, { kind: 'done', job: s.busy!, result: { kind: 'flow', needs }, now: 3 }).filter((i) => i.kind === 'send');
    // the same order again (the coordinator's resend): dropped, no second flow
    const dup = nodeStep(s, { kind: 'message', from: COORDINATOR, message: order, now: 4 });
    expect(dup.map((i) => i.kind)).toEqual(['dropped']);
    // the node's own resend repeats its need to b, and the coordinator's 'resend' order does the same
    expect(nodeStep(s, { kind: 'resend', now: 5 })).toEqual(sent);
    expect(nodeStep(s, { kind: 'message', from: COORDINATOR, message: { type: 'resend', run: run.id }, now: 6 })).toEqual(sent);
    // b gets the need twice: the second is dropped
    const b = newNodeState('b');
    nodeStep(b, { kind: 'message', from: COORDINATOR, message: { type: 'open', run, shard: 1 }, now: 0 });
    nodeStep(b, { kind: 'done', job: b.busy!, result: { kind: 'other' }, now: 1 });
    nodeStep(b, { kind: 'message', from: COORDINATOR, message: order, now: 2 });
    const need = (sent[0] as Extract<NodeInstruction, { kind: 'send' }>).message;
    expect(nodeStep(b, { kind: 'message', from: 'a', message: need as ToPeer, now: 3 })).toEqual([]);
    expect(nodeStep(b, { kind: 'message', from: 'a', message: need as ToPeer, now: 4 })[0]).toMatchObject({ kind: 'dropped' });
  });
});
