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
import { runCli } from './helpers/cli.ts';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGame } from '../shared/validate.ts';
import { builtinGames } from '../shared/games/index.ts';
import { checkMemory, estimateMemory } from '../coordinator/memory.ts';
import { readCheckpoint, writeCheckpoint } from '../coordinator/checkpoint.ts';
import { hashReady } from '../coordinator/policy-file.ts';

const spec = { game: 'sis', params: { T: 8 }, bins: 8 };

/** Cases found by looking at their curves: an interior best, ties (a 2-cycle), the last iterate best, OMD. */
const CASES: Array<{ label: string; game?: string; options: SolveOptions }> = [
  { label: 'fpi (a 2-cycle: ties, the earliest wins)', options: { algorithm: 'fpi', iterations: 12 } },
  { label: 'omd tau 1 (best inside the curve, the last iterate worse)', options: { algorithm: 'omd', iterations: 12, temperature: 1 } },
  { label: 'advertisement omd (the last iterate is the best)', game: 'advertisement', options: { algorithm: 'omd', iterations: 12, temperature: 0.1 } },
  { label: 'fp (averaging)', options: { algorithm: 'fp', iterations: 9 } },
  { label: 'damped, infinite horizon', options: { algorithm: 'damped', iterations: 6, step: 0.3, horizon: 'infinite', discount: 0.9 } },
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

describe('m3fg solve --keep best | last', () => {
  const base = ['solve', '--game', 'sis', '--bins', '8', '--param', 'T=8', '--threads', '1', '--quiet'];
  const read = (dir: string, file: string) => readFileSync(join(dir, file));
  const json = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const solveCli = (args: string[]) => {
    const r = runCli([...base, ...args]);
    expect(r.code, r.stderr).toBe(0);
  };

  it('the result is the best iterate, last/ the last; --keep last writes only the last, as before', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-best-'));
    const omd = ['--algorithm', 'omd', '--temperature', '1'];
    const best = join(root, 'best');
    const last = join(root, 'last');
    solveCli([...omd, '--iterations', '12', '--out', best]);
    solveCli([...omd, '--iterations', '12', '--keep', 'last', '--checkpoint-every', '4', '--out', last]);
    const run = json(best, 'run.json');
    const totals = [...json(best, 'curve.json').map((p: { exploitability: { total: number } }) => p.exploitability.total), run.last.exploitability.total];
    expect(run.keep).toBe('best');
    expect(run.result.iteration).toBe(totals.indexOf(Math.min(...totals)));
    expect(run.result.iteration).toBeLessThan(12); // this case's last iterate is not the best
    expect(run.last.iteration).toBe(12);
    expect(run.last.policies).toBe(join('last', 'policies.bin'));
    // --keep last: today's files, no last/, the same curve; its policies are best's last/
    expect(existsSync(join(last, 'last'))).toBe(false);
    expect(json(last, 'run.json').result).toEqual(json(best, 'last/result.json'));
    expect(read(last, 'curve.json').equals(read(best, 'curve.json'))).toBe(true);
    expect(read(last, 'policies.bin').equals(read(best, 'last/policies.bin'))).toBe(true);
    // the best iterate's tables are those after result.iteration updates, and their exploitability is what
    // evaluating exactly them gives
    const capped = join(root, 'capped');
    solveCli([...omd, '--iterations', String(run.result.iteration), '--keep', 'last', '--out', capped]);
    for (const file of ['policies.bin', 'minorPolicy.npy', 'majorPolicy.npy']) expect(read(capped, file).equals(read(best, file)), file).toBe(true);
    expect(json(capped, 'run.json').result.exploitability).toEqual(run.result.exploitability);
    // a --keep last checkpoint has no best iterate to resume
    const refused = runCli(['solve', '--resume', last, '--keep', 'best', '--quiet']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^m3fg: --resume: the checkpoint keeps no best iterate .*--keep last\n$/);
    // the same configuration again with --keep last leaves no stale last/
    solveCli([...omd, '--iterations', '12', '--keep', 'last', '--out', best]);
    expect(existsSync(join(best, 'last'))).toBe(false);
    expect(read(best, 'policies.bin').equals(read(last, 'policies.bin'))).toBe(true);
  });

  it('a resumed best-iterate run is bitwise equal to an uninterrupted one (the best before and after the cut)', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-best-resume-'));
    // fpi: a 2-cycle from iteration 1 on, the best (iteration 1) before the cut; omd tau 1: the best after it
    for (const method of [['--algorithm', 'fpi'], ['--algorithm', 'omd', '--temperature', '1']]) {
      const whole = join(root, `whole-${method[1]}`);
      const cut = join(root, `cut-${method[1]}`);
      solveCli([...method, '--iterations', '12', '--checkpoint-every', '2', '--out', whole]);
      solveCli([...method, '--iterations', '5', '--checkpoint-every', '2', '--out', cut]);
      const r = runCli(['solve', '--resume', cut, '--iterations', '12', '--threads', '1', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      for (const file of ['policies.bin', 'curve.json', 'last/policies.bin', 'last/result.json', 'minorPolicy.npy']) {
        expect(read(cut, file).equals(read(whole, file)), `${method[1]}: ${file}`).toBe(true);
      }
      expect(json(cut, 'run.json').result).toEqual(json(whole, 'run.json').result);
    }
  });

  it('the memory estimate counts the two copies and says when --keep last would fit', () => {
    const game = buildGame(builtinGames.sis, {});
    const opts = { threads: 1, omd: false, slices: game.T };
    const withBest = estimateMemory(game, 40, 'midpoint', { ...opts, keepBest: true });
    const withoutBest = estimateMemory(game, 40, 'midpoint', opts);
    // two float64 copies of both policies: T slices of nX0 * cells rows, nX * nU and nU0 wide
    const rows = game.nX0 * withBest.cells;
    expect(withBest.bestBytes).toBe(2 * 8 * game.T * rows * (game.nX * game.nU + game.nU0));
    expect(withoutBest.bestBytes).toBe(0);
    expect(withBest.totalBytes - withoutBest.totalBytes).toBe(withBest.bestBytes);
    const between = withoutBest.totalBytes + withBest.bestBytes / 2;
    expect(() => checkMemory(withBest, between)).toThrow(/use --keep last/);
    expect(() => checkMemory(withoutBest, between)).not.toThrow();
    expect(() => checkMemory(withBest, withoutBest.totalBytes / 2)).toThrow(/use fewer --bins/);
  });
});

describe('checkpoints of the best iterate', () => {
  it('carry it and refuse one that is not the curve\'s first minimum, or a best iterate without --keep best', async () => {
    await hashReady;
    const c = { game: 'sis', params: { T: 8 }, bins: 8 };
    const problem = await problemOf(c);
    const half = await solve(c, problem, new InlineExecutor(), { algorithm: 'fpi', iterations: 6, keepBest: true });
    const b = half.best!;
    const id = {
      game: 'sis', params: { ...problem.game.params }, bins: 8, algorithm: 'fpi' as const, iterations: 12, checkpointEvery: 1, grid: 'midpoint' as const,
      horizon: 'finite' as const, discount: 0.99, tolerance: 1e-5, softmax: false, temperature: 0.1, inner: 1,
    };
    const write = async (keep: 'best' | 'last' | undefined, best?: { iteration: number; total: number }) => {
      const dir = mkdtempSync(join(tmpdir(), 'm3fg-best-ckpt-'));
      await writeCheckpoint(dir, problem, half.policies, { ...id, ...(keep ? { keep } : {}) }, 6, half.curve, best && { ...best, policies: b.policies });
      return dir;
    };
    const good = readCheckpoint(await write('best', { iteration: b.iteration, total: b.exploitability.total }));
    expect(good.saved.best!.iteration).toBe(b.iteration);
    expect(sameBits(await collectSource(good.saved.best!.policies.minorPolicy), await collectSource(b.policies.minorPolicy))).toBe(true);
    // fpi's 2-cycle: iteration 3 has the same total as the best (1), but is not the first minimum
    const later = half.curve.findIndex((p, i) => i > b.iteration && p.exploitability.total === b.exploitability.total);
    expect(later).toBeGreaterThan(b.iteration);
    const cases: Array<[string | undefined, { iteration: number; total: number } | undefined, RegExp]> = [
      ['best', { iteration: later, total: b.exploitability.total }, /is not the curve's first minimum/],
      ['best', { iteration: b.iteration, total: b.exploitability.total * 2 }, /is not the curve's first minimum/],
      ['best', { iteration: 6, total: b.exploitability.total }, /best iteration 6 outside the curve \[0, 6\)/],
      ['best', undefined, /a --keep best checkpoint without its best iterate/],
      [undefined, { iteration: b.iteration, total: b.exploitability.total }, /a best iterate in a checkpoint of a run with --keep last/],
    ];
    for (const [keep, best, message] of cases) {
      const dir = await write(keep as 'best' | undefined, best);
      expect(() => readCheckpoint(dir), String(message)).toThrow(message);
    }
  });
});

describe('the best iterate on an in-process cluster that loses a node', () => {
  it('recovery (snapshot with the best slot, replayed save and promote steps) keeps the same best iterate', async () => {
    let seed = 4242;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let recovered = 0;
    for (let trial = 0; trial < 6; trial++) {
      const c = CASES[trial % 2];
      const want = await runOn(new InlineExecutor(), c.game, c.options);
      const hub = new InProcessHub();
      const nodes = [0, 1, 2].map((i) => new ShardNode({ transport: hub.join(`node-${i}`), threads: 1, heartbeatMs: 50, pool: false }));
      for (const node of nodes) node.start();
      const victim = `node-${Math.floor(random() * 3)}`;
      // the cut lands while the run still iterates: reading the tables after the run is not recovered (as for
      // policies(), a node lost then fails the read)
      const killAfter = Math.floor(random() * 6);
      const delayMs = Math.floor(random() * 20);
      let iterations = 0;
      // a loaded machine (the full suite) may stall a live node past the heartbeat timeout too: that is one more
      // recovery, not a failure, so the budget of recoveries is generous
      const ex = new ClusterExecutor({ transport: hub.join(COORDINATOR), minNodes: 3, settleMs: 0, heartbeatTimeoutMs: 1000, maxRecoveries: 20, snapshotEvery: 3 });
      try {
        const got = await runOn(ex, c.game, {
          ...c.options,
          onIteration: () => {
            if (++iterations === killAfter + 1) setTimeout(() => hub.down.add(victim), delayMs);
          },
        });
        recovered += ex.stats().recoveries;
        expectSameBest(want.best, got.best, `trial ${trial}: ${c.label}, ${victim} cut after ${killAfter} iterations + ${delayMs} ms`);
        expectSameBits(want, got, `trial ${trial}`);
      } finally {
        for (const node of nodes) await node.stop();
      }
    }
    expect(recovered).toBeGreaterThanOrEqual(3);
  });
});
