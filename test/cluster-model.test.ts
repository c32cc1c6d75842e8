// The scaling model's simulation (bench/cluster-model.ts) on small cases computed by hand.
import { describe, expect, it } from 'vitest';
import { coresBound, costOf, fromTraces, kernelTerms, lineThrough, restLine, restOf, withRest, messaging, oneNodeTerms, predictIteration, scaleWork, simulateIteration, withMessaging, workCpu, type MessageCost, type MessagingCosts, type ModelInput, type NodeRun, type NodeWork } from '../bench/cluster-model.ts';

const node = (flow: number, step: number[], late: number[], haloIn: number[][] = step.map(() => []), haloCost: number[] = step.map(() => 0)): NodeWork => ({ flow, step, late, haloIn, haloCost });
const base = { latency: 0, bandwidth: Infinity, jobOverhead: 0, startValues: 0, coordinator: 0 };

describe('simulateIteration', () => {
  it('one node: flow, T steps with one overhead each, start values, the coordinator', () => {
    const r = simulateIteration({ ...base, T: 3, nodes: [node(1, [2, 2, 2], [0, 0, 0])], jobOverhead: 0.1, startValues: 0.5, coordinator: 0.2, latency: 9 });
    expect(r.seconds).toBeCloseTo(1 + 3 * 2.1 + 0.5 + 0.2, 12);
    expect(r.nodes[0]).toMatchObject({ flowEnd: 1, stepsStart: 1, haloWait: 0, splitSteps: 0 });
  });

  // Two nodes, T = 3, steps of 1 s with a late half, 1000 B each way at t = 0 and 1, L = 0.5 s, 1000 B/s.
  // A's flow ends at 1, B's at 2: A starts its steps at 2.5 (B's need list), B at 2 (A's came at 1.5).
  // t=2 (reads V(T) = 0): A ends 3.5, B 3. t=1: A's halo comes at 3 + 0.5 + 1 = 4.5, its early half ends at
  // 4, late 4.5..5; B's at 3.5 + 1.5 = 5, early ends 3.5, late 5..5.5. t=0: A's halo at 5.5 + 1.5 = 7, early
  // ends 5.5, late 7..7.5; B's at 5 + 1.5 = 6.5, early ends 6, late 6.5..7. The iteration: 7.5 s.
  const twoNodes = (): ModelInput => ({
    ...base,
    T: 3,
    latency: 0.5,
    bandwidth: 1000,
    serverLinks: Infinity,
    nodes: [node(1, [1, 1, 1], [0.5, 0.5, 0.5], [[0, 1000], [0, 1000], []]), node(2, [1, 1, 1], [0.5, 0.5, 0.5], [[1000, 0], [1000, 0], []])],
  });
  it('two nodes: the need lists, the early parts and the chain of late parts', () => {
    const r = simulateIteration(twoNodes());
    expect(r.seconds).toBeCloseTo(7.5, 12);
    expect(r.nodes.map((n) => n.stepsStart)).toEqual([2.5, 2]);
    expect(r.nodes[0].end).toBeCloseTo(7.5, 12);
    expect(r.nodes[1].end).toBeCloseTo(7, 12);
    expect(r.nodes[0].haloWait).toBeCloseTo(0.5 + 1.5, 12);
    expect(r.nodes[1].haloWait).toBeCloseTo(1.5 + 0.5, 12);
    expect(r.nodes.map((n) => n.splitSteps)).toEqual([2, 2]);
  });

  it('one server relays every halo byte of a step: 2000 B per step over its link', () => {
    // t=1: A's halo at 3 + 0.5 + 2 = 5.5 (late 5.5..6), B's at 3.5 + 2.5 = 6 (late 6..6.5);
    // t=0: A's at 6.5 + 2.5 = 9 (late 9..9.5), B's at 6 + 2.5 = 8.5 (late 8.5..9)
    const r = simulateIteration({ ...twoNodes(), serverLinks: 1 });
    expect(r.seconds).toBeCloseTo(9.5, 12);
    expect(r.nodes[1].end).toBeCloseTo(9, 12);
  });

  it('a halo that is there when the step is chosen: one job, no wait; halo costs add to the step', () => {
    const n = (haloIn: number[][]) => node(1, [1, 1, 1], [0.5, 0.5, 0.5], haloIn, [0, 0.25, 0.25]);
    const r = simulateIteration({ ...base, T: 3, jobOverhead: 0.1, nodes: [n([[0, 8], [0, 8], []]), n([[8, 0], [8, 0], []])] });
    // both end each step together, so each one's halo is in as its next step is chosen
    expect(r.seconds).toBeCloseTo(1 + 3 * 1.1 + 0.5, 12);
    expect(r.nodes.map((n) => n.splitSteps)).toEqual([0, 0]);
    expect(r.nodes.map((n) => n.haloWait)).toEqual([0, 0]);
  });

  it('the slower node sets the pace', () => {
    const r = simulateIteration({ ...base, T: 2, nodes: [node(1, [1, 1], [0, 0]), node(1, [3, 3], [0, 0])] });
    expect(r.seconds).toBeCloseTo(7, 12);
  });
});

describe('the inputs from node traces', () => {
  // 2 iterations of 1 s each on the node (the first slower), 0.5 s per iteration in the bench's timing: k = 0.5
  const run: NodeRun = { iterations: 2, iterationMs: 2000, stepMs: 1000, flowMs: 800, startMs: 20, haloWaitMs: 0, stepCpuMs: 500, earlySteps: 0 };
  it('oneNodeTerms: steady-state flow and step scales, time between jobs, start values; CPU inputs', () => {
    const wall = oneNodeTerms(run, 10, 0.5, 0, { flow: 0.2, step: 0.25 }, 'wall');
    expect(wall.scale.flow).toBeCloseTo(1, 12); // 0.5 * 0.4 s of flow per iteration over 0.2 s
    expect(wall.scale.step).toBeCloseTo(1, 12);
    expect(wall.jobOverhead).toBeCloseTo(0.5 * 0.009, 12); // (2000 - 1000 - 800 - 20) ms over 20 jobs
    expect(wall.startValues).toBeCloseTo(0.005, 12);
    expect(wall.coordinator).toBe(0);
    const cpu = oneNodeTerms(run, 10, 0.5 + 2e-3, 1e-3, { flow: 0.2, step: 0.25 }, 'cpu');
    expect(cpu.scale.step).toBeCloseTo(0.5, 12); // the steps' CPU is half their wall time
    expect(cpu.coordinator).toBeCloseTo(2e-3, 15);
  });

  it("fromTraces: each node's own flow and steps, its halo costs kept, the steps spread as the profile spreads them", () => {
    const w = node(9, [1, 1], [0.5, 0.5], [[], []], [0.1, 0.1]);
    const r: NodeRun = { iterations: 1, iterationMs: 1000, stepMs: 600, flowMs: 300, startMs: 0, haloWaitMs: 50, stepCpuMs: 0, earlySteps: 1 };
    const f = fromTraces([w], [r], 2, 1, 0);
    expect(f.nodes[0].flow).toBeCloseTo(0.3, 12);
    expect(Array.from(f.nodes[0].step)).toEqual([0.2, 0.2].map((x) => expect.closeTo(x, 12)));
    expect(Array.from(f.nodes[0].late)).toEqual([0.1, 0.1].map((x) => expect.closeTo(x, 12)));
    expect(f.jobOverhead).toBeCloseTo(0.05 / 3, 12); // 50 ms between 2 steps + 1 early job
  });

  it('scaleWork: compute, halo and late parts (a late part never exceeds its step)', () => {
    const [s] = scaleWork([node(1, [1, 2], [0.5, 0.5], [[0, 10], []], [0.1, 0])], 2, 3, 3);
    expect(s.flow).toBe(2);
    expect(Array.from(s.step)).toEqual([2, 4]);
    expect(Array.from(s.late)).toEqual([2, 3]);
    expect(Array.from(s.haloIn[0])).toEqual([0, 30]);
    expect(Array.from(s.haloCost)).toEqual([0.1 * 3, 0].map((x) => expect.closeTo(x, 12)));
  });
});

describe('CPU beyond the critical path: messaging, nats-server, the cores', () => {
  const costs: MessagingCosts = {
    send: { perMessage: 1, perByte: 0.01 },
    receive: { perMessage: 2, perByte: 0.02 },
    sendOthers: { perMessage: 0.1, perByte: 0 },
    receiveOthers: { perMessage: 0, perByte: 0.001 },
    server: { perMessage: 0.5, perByte: 0.005 },
  };
  // A reads 100 B from B at t = 0 and 200 B at t = 1; B reads 50 B from A at t = 0; receipts of 10 B
  const two = () => [node(0, [1, 1, 1], [0, 0, 0], [[0, 100], [0, 200], []]), node(0, [1, 1, 1], [0, 0, 0], [[50, 0], [], []])];

  it('costOf and lineThrough: per message plus per byte; two sizes give the line, noise never a negative cost', () => {
    expect(costOf(costs.send, 3, 200)).toBeCloseTo(3 + 2, 12);
    const l = lineThrough(100, 1.1, 1100, 2.1);
    expect(l.perByte).toBeCloseTo(0.001, 12);
    expect(l.perMessage).toBeCloseTo(1, 12);
    expect(lineThrough(100, 2, 1100, 1)).toEqual({ perMessage: 2, perByte: 0 });
    expect(lineThrough(100, 0.1, 1100, 5.1)).toEqual({ perMessage: 0, perByte: expect.closeTo(0.005, 12) });
  });

  it('messaging: the receiver pays at step t, the sender at its step t + 1, each receipt the other way; the server both ends', () => {
    const m = messaging(two(), costs, { messages: 1, bytes: 10 });
    // A's main: t=0 receive(100) + send(got) = 4 + 1.1; t=1 B's 50 B halo sent (1.5) + its receipt (2.2) + receive(200) + send(got) (6 + 1.1)
    expect(m.main[0]).toEqual([5.1, 10.8, 0].map((x) => expect.closeTo(x, 12)));
    // B's main: t=0 receive(50) + send(got) = 3 + 1.1; t=1 send(100) + receive(got) = 2 + 2.2; t=2 send(200) + receive(got) = 3 + 2.2
    expect(m.main[1]).toEqual([4.1, 4.2, 5.2].map((x) => expect.closeTo(x, 12)));
    // others: A 0.1 + 0.1 (100 B in, receipt out) + 0.1 + 0.01 (50 B out, receipt in) + 0.2 + 0.1 (200 B in); B 0.1 + 0.01 + 0.05 + 0.1 + 0.1 + 0.01
    expect(m.others[0]).toBeCloseTo(0.61, 12);
    expect(m.others[1]).toBeCloseTo(0.37, 12);
    // forwards: halo + receipt = (0.5 + 0.5 + 0.55) + (0.5 + 0.25 + 0.55) + (0.5 + 1 + 0.55) = 4.9, at both ends
    expect(m.server).toEqual([4.9, 4.9].map((x) => expect.closeTo(x, 12)));
  });

  it('messaging: receipts riding on halos cost their bytes only', () => {
    const alone = messaging(two(), costs, { messages: 1, bytes: 10 });
    const riding = messaging(two(), costs, { messages: 0, bytes: 10 });
    const none = messaging(two(), costs, { messages: 0, bytes: 0 });
    // three halos, each with a receipt: per receipt, the per-message parts of send + receive (main), of the
    // other threads and of the server at both ends are gone; the byte parts stay
    const perMessage = (x: MessageCost) => x.perMessage;
    const mainSaved = 3 * (perMessage(costs.send) + perMessage(costs.receive));
    const sum = (a: number[][]) => a.flat().reduce((p, q) => p + q, 0);
    expect(sum(alone.main) - sum(riding.main)).toBeCloseTo(mainSaved, 12);
    expect(sum(riding.main) - sum(none.main)).toBeCloseTo(3 * 10 * (costs.send.perByte + costs.receive.perByte), 12);
    expect(alone.server[0] - riding.server[0]).toBeCloseTo(3 * costs.server.perMessage, 12);
  });

  it('withMessaging puts the main-thread part on the path; workCpu sums flow, steps and halo costs', () => {
    const w = two();
    w[0].haloCost = [0.5, 0, 0];
    const [a, b] = withMessaging(w, messaging(w, costs, { messages: 1, bytes: 10 }));
    expect(Array.from(a.haloCost)).toEqual([5.6, 10.8, 0].map((x) => expect.closeTo(x, 12)));
    expect(workCpu(a)).toBeCloseTo(3 + 16.4, 12);
    expect(workCpu(b)).toBeCloseTo(3 + 13.5, 12);
    // the critical path now carries them: one node alone, 1 s flow, steps 1 + 0.5 each
    const r = simulateIteration({ ...base, T: 2, nodes: withMessaging([node(1, [1, 1], [0, 0])], { main: [[0.5, 0.5]], others: [0], server: [0] }) });
    expect(r.seconds).toBeCloseTo(4, 12);
  });

  it("kernelTerms: the 1-node run's kernel CPU over the profile's, the rest of its node CPU per node; withRest spreads it over the steps", () => {
    const k = kernelTerms({ iterations: 2, kernelCpuMs: 1000, flowCpuMs: 600 }, { main: 1.2, others: 0.1 }, { flow: 0.6, step: 1 });
    expect(k.scale.step).toBeCloseTo(0.5, 12); // 0.5 s of step kernels per iteration over the profile's 1 s
    expect(k.scale.flow).toBeCloseTo(0.5, 12); // 0.3 s over 0.6 s
    expect(k.restMain).toBeCloseTo(0.4, 12); // 1.2 - 0.5 - 0.3
    expect(k.restOthers).toBe(0.1);
    expect(kernelTerms({ iterations: 2, kernelCpuMs: 1000, flowCpuMs: 600 }, { main: 0.5, others: 0 }, { flow: 0.6, step: 1 }).restMain).toBe(0);
    const [w, v] = withRest([node(1, [1, 1], [0, 0], [[], []], [0.1, 0]), node(1, [1, 1], [0, 0])], [0.4, 1]);
    expect(Array.from(w.haloCost)).toEqual([0.3, 0.2].map((x) => expect.closeTo(x, 12)));
    expect(Array.from(v.haloCost)).toEqual([0.5, 0.5]);
    expect(simulateIteration({ ...base, T: 2, nodes: [w] }).seconds).toBeCloseTo(3.5, 12);
  });

  it('restLine: a part per node and a part per row through two 1-node runs; restOf a node of given rows', () => {
    // 1000 rows: 0.3 s main, 0.05 others; 5000 rows: 0.7 s main, 0.05 others -> 0.1 ms per row + 0.2 s per node
    const l = restLine({ rows: 1000, restMain: 0.3, restOthers: 0.05 }, { rows: 5000, restMain: 0.7, restOthers: 0.05 });
    expect(l.perRow.main).toBeCloseTo(1e-4, 15);
    expect(l.perNode.main).toBeCloseTo(0.2, 12);
    expect(l.perRow.others).toBe(0);
    expect(l.perNode.others).toBeCloseTo(0.05, 12);
    const r = restOf(l, 2500);
    expect(r.main).toBeCloseTo(0.45, 12);
    expect(r.others).toBeCloseTo(0.05, 12);
    // a smaller rest at more rows (noise): no negative slope; a slope through 0 rows below 0: no negative part per node
    expect(restLine({ rows: 1000, restMain: 0.3, restOthers: 0 }, { rows: 5000, restMain: 0.2, restOthers: 0 }).perRow.main).toBe(0);
    expect(restLine({ rows: 1000, restMain: 0.1, restOthers: 0 }, { rows: 2000, restMain: 0.5, restOthers: 0 }).perNode.main).toBe(0);
  });

  it('coresBound: the busiest machine, its parties CPU over its cores', () => {
    const parties = [{ name: 'a', machine: 0, cpu: 3 }, { name: 'b', machine: 0, cpu: 1 }, { name: 'c', machine: 1, cpu: 1 }];
    expect(coresBound(parties, [2, 4])).toBe(2);
    expect(coresBound(parties, [8, 0.1])).toBeCloseTo(10, 12);
  });

  it('predictIteration: the critical path, or the cores where they bind', () => {
    const input = { ...base, T: 2, nodes: [node(1, [1, 1], [0, 0])] };
    const bound = predictIteration(input, [{ name: 'node-1', machine: 0, cpu: 3 }, { name: 'nats-server', machine: 0, cpu: 3 }], [2]);
    expect(bound).toMatchObject({ seconds: 3, bound: 3 });
    expect(bound.critical.seconds).toBeCloseTo(3, 12);
    const path = predictIteration(input, [{ name: 'node-1', machine: 0, cpu: 3 }, { name: 'nats-server', machine: 1, cpu: 3 }], [2, 2]);
    expect(path.seconds).toBeCloseTo(3, 12);
    expect(path.bound).toBe(1.5);
    const four = predictIteration(input, [{ name: 'node-1', machine: 0, cpu: 5 }, { name: 'nats-server', machine: 0, cpu: 3 }], [2]);
    expect(four.seconds).toBe(4);
  });
});
