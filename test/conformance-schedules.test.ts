// The study's further methods (damped fixed-point iteration with a constant or adaptive step, OMD with a
// learning-rate schedule or an annealed temperature) on the local executor with 2 threads and forced sharding
// give the same policy tables, accumulators and curve, to the bit, as the inline executor. The adaptive step
// is a function of the curve (coordinator/adaptive-step.ts), so it is also run on an in-process cluster of 2
// nodes and resumed mid-way, there and through the CLI's checkpoints.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { ClusterExecutor } from '../coordinator/cluster-executor.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';
import { InProcessHub } from '../shared/cluster-transport.ts';
import { arraySource } from '../shared/table-source.ts';
import { ShardNode } from '../worker/shard-node.ts';
import { expectConforms, localExecutorForBlock } from './helpers/conformance.ts';
import { expectSameBits, solveCollected } from './helpers/same-bits.ts';
import { problemOf, type Case } from './helpers/variants.ts';
import { runCli } from './helpers/cli.ts';

const ADAPTIVE: Case = {
  label: 'damped adaptive', game: 'advertisement', params: { T: 10 }, bins: 10, options: { algorithm: 'damped', iterations: 8, step: 0.6, schedule: 'adaptive' },
};

const CASES: Case[] = [
  { label: 'damped greedy', game: 'sis', params: { T: 12 }, bins: 12, options: { algorithm: 'damped', iterations: 4, step: 0.3 } },
  { label: 'damped softmax', game: 'advertisement', params: { T: 10 }, bins: 10, options: { algorithm: 'damped', iterations: 3, step: 0.2, softmax: true, temperature: 0.05 } },
  { label: 'omd sqrt rate', game: 'buffet', params: { T: 10 }, bins: 8, options: { algorithm: 'omd', iterations: 4, temperature: 0.1, schedule: 'sqrt' } },
  { label: 'omd annealed', game: 'sis', params: { T: 12 }, bins: 12, options: { algorithm: 'omd', iterations: 4, temperature: 0.3, schedule: 'anneal' } },
  ADAPTIVE,
  { label: 'infinite damped', game: 'sis', params: {}, bins: 10, options: { algorithm: 'damped', iterations: 2, step: 0.5, horizon: 'infinite', discount: 0.95 } },
];

describe('further methods conform across executors (bitwise)', () => {
  const ex = localExecutorForBlock({ threads: 2, chunks: 5 });
  for (const c of CASES) {
    it(c.label, async () => {
      const inline = await expectConforms(c, ex(), '2 threads');
      // the schedule changes the numbers: not a renamed copy of the plain method
      const spec = { game: c.game, params: c.params, bins: c.bins };
      const plain = await solveCollected(spec, await problemOf(c), new InlineExecutor(), { ...c.options, step: undefined, schedule: undefined, algorithm: c.options.algorithm === 'damped' ? 'fpi' : 'omd' });
      expect(plain.curve[c.options.iterations - 1].exploitability.total).not.toBe(inline.curve[c.options.iterations - 1].exploitability.total);
    });
  }

  it('damped adaptive takes other steps than the constant step (the curve rose, the step was halved)', async () => {
    const spec = { game: ADAPTIVE.game, params: ADAPTIVE.params, bins: ADAPTIVE.bins };
    const problem = await problemOf(ADAPTIVE);
    const adaptive = await solveCollected(spec, problem, new InlineExecutor(), ADAPTIVE.options);
    const constant = await solveCollected(spec, problem, new InlineExecutor(), { ...ADAPTIVE.options, schedule: 'constant' });
    const totals = constant.curve.map((p) => p.exploitability.total);
    const rise = totals.findIndex((v, i) => i > 0 && v > totals[i - 1]);
    expect(rise, 'the constant-step curve rises somewhere').toBeGreaterThan(0);
    // equal up to and including the first rise (the same steps so far), different after it
    expect(adaptive.curve.slice(0, rise + 2)).toEqual(constant.curve.slice(0, rise + 2));
    expect(adaptive.curve.map((p) => p.exploitability.total)).not.toEqual(totals);
  });
});

describe('damped adaptive on an in-process cluster (2 nodes), and resumed', () => {
  it('equal to inline, whole and resumed at iteration 5 from its policies and curve', async () => {
    const hub = new InProcessHub();
    const nodes = [0, 1].map((i) => new ShardNode({ transport: hub.join(`node-${i}`), threads: 1, heartbeatMs: 50, pool: false }));
    for (const node of nodes) node.start();
    const spec = { game: ADAPTIVE.game, params: ADAPTIVE.params, bins: ADAPTIVE.bins };
    const problem = await problemOf(ADAPTIVE);
    const want = await solveCollected(spec, problem, new InlineExecutor(), ADAPTIVE.options);
    const half = await solveCollected(spec, problem, new InlineExecutor(), { ...ADAPTIVE.options, iterations: 5 });
    const cluster = () => new ClusterExecutor({ transport: hub.join(COORDINATOR), minNodes: 2, settleMs: 0, waitForNodesMs: 10_000 });
    try {
      let ex: ClusterExecutor | InlineExecutor = cluster();
      try {
        expectSameBits(want, await solveCollected(spec, problem, ex, ADAPTIVE.options), 'damped adaptive on 2 nodes');
      } finally {
        await ex.close();
      }
      const resume = { iteration: 5, curve: half.curve, policies: { minorPolicy: arraySource(half.minorPolicy, 7), majorPolicy: arraySource(half.majorPolicy, 5) } };
      for (const [label, make] of [['inline', () => new InlineExecutor()], ['2 nodes', cluster]] as const) {
        ex = make();
        try {
          expectSameBits(want, await solveCollected(spec, problem, ex, { ...ADAPTIVE.options, resume }), `damped adaptive resumed at 5 (${label})`);
        } finally {
          await ex.close();
        }
      }
    } finally {
      for (const node of nodes) await node.stop();
    }
  });

  it('m3fg solve --resume of a checkpointed adaptive run: the same curve and policies.bin as an uninterrupted run', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-adaptive-'));
    const base = ['solve', '--game', 'advertisement', '--param', 'T=10', '--bins', '10', '--algorithm', 'damped', '--step', '0.6', '--schedule', 'adaptive', '--threads', '1', '--quiet'];
    const full = join(root, 'full');
    const cut = join(root, 'cut');
    expect(runCli([...base, '--iterations', '8', '--out', full]).code).toBe(0);
    const first = runCli([...base, '--iterations', '5', '--checkpoint-every', '5', '--out', cut]);
    expect(first.code, first.stderr).toBe(0);
    const resumed = runCli(['solve', '--resume', cut, '--iterations', '8', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(join(cut, 'curve.json'), 'utf8')).toBe(readFileSync(join(full, 'curve.json'), 'utf8'));
    expect(readFileSync(join(cut, 'policies.bin')).equals(readFileSync(join(full, 'policies.bin')))).toBe(true);
  });
});
