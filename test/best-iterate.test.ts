// The best iterate (issue 15): with keepBest the solver remembers the policies with the lowest total
// exploitability seen (ties: the earliest), the last iterate included. Checked against the slow, obvious
// computation: the best iteration is the first argmin of the curve (and of the last iterate's evaluation),
// and its tables are the final policies of a run capped at that many iterations; the same bits on the inline
// executor, 2 threads and an in-process cluster of 2 nodes, and after a resume.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { LocalExecutor } from '../coordinator/local-executor.ts';
import { ClusterExecutor } from '../coordinator/cluster-executor.ts';
import { solve, type SolveOptions, type SolveResult } from '../coordinator/solver.ts';
import type { Executor } from '../coordinator/executor.ts';
import { arraySource, collectSource } from '../shared/table-source.ts';
import { InProcessHub } from '../shared/cluster-transport.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';
import { ShardNode } from '../worker/shard-node.ts';
import { collected, expectSameBits, sameBits } from './helpers/same-bits.ts';
import { problemOf } from './helpers/variants.ts';

const spec = { game: 'sis', params: { T: 8 }, bins: 8 };

/** Cases found by looking at their curves: an interior best, ties (a 2-cycle), the last iterate best, OMD. */
const CASES: Array<{ label: string; game?: string; options: SolveOptions }> = [
  { label: 'fpi (a 2-cycle: ties, the earliest wins)', options: { algorithm: 'fpi', iterations: 12 } },
  { label: 'omd tau 1 (best inside the curve, the last iterate worse)', options: { algorithm: 'omd', iterations: 12, temperature: 1 } },
  { label: 'advertisement omd (the last iterate is the best)', game: 'advertisement', options: { algorithm: 'omd', iterations: 12, temperature: 0.1 } },
  { label: 'fp (averaging)', options: { algorithm: 'fp', iterations: 9 } },
];

interface Best {
  iteration: number;
  total: number;
  minorPolicy: Float64Array;
  majorPolicy: Float64Array;
}

async function bestOf(result: SolveResult): Promise<Best> {
  const b = result.best!;
  return { iteration: b.iteration, total: b.exploitability.total, minorPolicy: await collectSource(b.policies.minorPolicy), majorPolicy: await collectSource(b.policies.majorPolicy) };
}

async function runOn(executor: Executor, game: string | undefined, options: SolveOptions) {
  const s = { ...spec, game: game ?? spec.game };
  try {
    const result = await solve(s, await problemOf(s), executor, { ...options, keepBest: true, evaluateResult: true });
    return { ...(await collected(result)), best: await bestOf(result), result: result.result! };
  } finally {
    await executor.close();
  }
}

function expectSameBest(a: Best, b: Best, what: string): void {
  expect(b.iteration, `${what}: best iteration`).toBe(a.iteration);
  expect(Object.is(b.total, a.total), `${what}: best exploitability`).toBe(true);
  expect(sameBits(a.minorPolicy, b.minorPolicy), `${what}: best minor policy`).toBe(true);
  expect(sameBits(a.majorPolicy, b.majorPolicy), `${what}: best major policy`).toBe(true);
}

describe('the best iterate', () => {
  for (const c of CASES) {
    it(`${c.label}: the first argmin, with exactly that iteration's input policies`, async () => {
      const s = { ...spec, game: c.game ?? spec.game };
      const problem = await problemOf(s);
      const got = await runOn(new InlineExecutor(), c.game, c.options);
      // the slow, obvious way: totals of the curve and of the last iterate, first index of the minimum
      const totals = [...got.curve.map((p) => p.exploitability.total), got.result.exploitability.total];
      const min = Math.min(...totals);
      expect(got.best.iteration).toBe(totals.indexOf(min));
      expect(got.best.total).toBe(min);
      // a run capped at the best iteration ends with exactly the best tables, and evaluating them gives the
      // exploitability the curve reported for them
      const capped = await solve(s, problem, new InlineExecutor(), { ...c.options, iterations: got.best.iteration, evaluateResult: true });
      expect(sameBits(await collectSource(capped.policies.minorPolicy), got.best.minorPolicy)).toBe(true);
      expect(sameBits(await collectSource(capped.policies.majorPolicy), got.best.majorPolicy)).toBe(true);
      expect(Object.is(capped.result!.exploitability.total, got.best.total)).toBe(true);
      // keeping the best changes nothing else: the curve and the last iterate are those of a plain run
      const plain = await solve(s, problem, new InlineExecutor(), { ...c.options, evaluateResult: true });
      expect(plain.best).toBeUndefined();
      expectSameBits(await collected(plain), got, `${c.label}: keepBest vs plain`);
    });
  }

  it('ties keep the earliest: the 2-cycle of fpi repeats its minimum', async () => {
    const got = await runOn(new InlineExecutor(), undefined, CASES[0].options);
    const totals = got.curve.map((p) => p.exploitability.total);
    expect(totals.filter((v) => v === got.best.total).length).toBeGreaterThan(1);
    expect(totals.indexOf(got.best.total)).toBe(got.best.iteration);
  });

  it('2 threads give the same best iterate as inline', async () => {
    for (const c of CASES) {
      const want = await runOn(new InlineExecutor(), c.game, c.options);
      const got = await runOn(new LocalExecutor({ threads: 2, chunks: 5 }), c.game, c.options);
      expectSameBest(want.best, got.best, `${c.label}, 2 threads`);
      expectSameBits(want, got, `${c.label}, 2 threads`);
    }
  });

  it('a resumed run keeps the same best iterate (inline and 2 threads)', async () => {
    for (const c of [CASES[1], CASES[0]]) {
      const s = { ...spec, game: c.game ?? spec.game };
      const problem = await problemOf(s);
      const want = await runOn(new InlineExecutor(), c.game, c.options);
      for (const k of [3, 11]) {
        // the state after k iterations: policies, accumulators, curve, best iterate
        const first = new InlineExecutor();
        const half = await solve(s, problem, first, { ...c.options, iterations: k, keepBest: true });
        const policies = await collected(half);
        const best = await bestOf(half);
        await first.close();
        const resume = {
          iteration: k,
          curve: half.curve,
          policies: {
            minorPolicy: arraySource(policies.minorPolicy),
            majorPolicy: arraySource(policies.majorPolicy),
            ...(policies.minorY ? { minorY: arraySource(policies.minorY), majorY: arraySource(policies.majorY!) } : {}),
          },
          best: { iteration: best.iteration, policies: { minorPolicy: arraySource(best.minorPolicy), majorPolicy: arraySource(best.majorPolicy) } },
        };
        for (const ex of [new InlineExecutor(), new LocalExecutor({ threads: 2, chunks: 3 })]) {
          const got = await runOn(ex, c.game, { ...c.options, resume });
          expectSameBest(want.best, got.best, `${c.label} resumed at ${k} on ${ex.name}`);
          expectSameBits(want, got, `${c.label} resumed at ${k} on ${ex.name}`);
        }
      }
    }
  });
});

describe('the best iterate on an in-process cluster of 2 nodes', () => {
  let hub: InProcessHub;
  let nodes: ShardNode[];
  beforeAll(() => {
    hub = new InProcessHub();
    nodes = [0, 1].map((i) => new ShardNode({ transport: hub.join(`node-${i}`), threads: 1 + i, heartbeatMs: 50, pool: i === 1 }));
    for (const node of nodes) node.start();
  });
  afterAll(async () => {
    for (const node of nodes) await node.stop();
  });

  it('the same best iterate as inline, every case', async () => {
    const coordinator = hub.join(COORDINATOR);
    for (const c of CASES) {
      const want = await runOn(new InlineExecutor(), c.game, c.options);
      // snapshots every 2 iterations exercise the deferred snapshot of the best slot
      const ex = new ClusterExecutor({ transport: coordinator, minNodes: 2, settleMs: 0, waitForNodesMs: 10_000, snapshotEvery: 2 });
      const got = await runOn(ex, c.game, c.options);
      expectSameBest(want.best, got.best, `${c.label}, cluster`);
      expectSameBits(want, got, `${c.label}, cluster`);
    }
  });
});
