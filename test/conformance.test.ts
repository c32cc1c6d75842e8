// Executor conformance: the same solves on the inline executor and on the local executor with 1, 2, 3 and 4
// threads, for every built-in game, FP and FPI, must give the same final policy tables (raw bytes) and the
// same curve (every number, Object.is). The local runs force an uneven split (2 * threads + 1 chunks per
// flow and per step), so rows really are sharded over every thread even on these small games. Then: the
// automatic sharding rule, failure injection (retry, restore, final error), and the CLI's --threads.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveGameFamily } from '../shared/game-source.ts';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { DEFAULT_CHUNK_RULE, LocalExecutor, planChunks, ShardError, type FaultPlan } from '../coordinator/local-executor.ts';
import { solve, type Algorithm, type SolveOptions } from '../coordinator/solver.ts';
import { expectSameBits, solveCollected, type Solved } from './helpers/same-bits.ts';
import type { ProblemSpec } from '../coordinator/executor.ts';
import { runCli } from './helpers/cli.ts';

const ITERATIONS = 4;
const CASES: ProblemSpec[] = [
  { game: 'sis', params: { T: 20 }, bins: 20 },
  { game: 'buffet', params: { T: 20 }, bins: 10 },
  { game: 'advertisement', params: { T: 20 }, bins: 20 },
  { game: 'cyber', params: { T: 20 }, bins: 8 },
];
const ALGORITHMS: Algorithm[] = ['fp', 'fpi'];

const problems = new Map<string, Problem>();
function problemOf(spec: ProblemSpec): Problem {
  let p = problems.get(spec.game);
  if (!p) {
    p = new Problem(buildGame(builtinGames[spec.game], spec.params), spec.bins);
    problems.set(spec.game, p);
  }
  return p;
}

const references = new Map<string, Solved>();
async function reference(spec: ProblemSpec, algorithm: Algorithm): Promise<Solved> {
  const key = `${spec.game}/${algorithm}`;
  let r = references.get(key);
  if (!r) {
    r = await solveCollected(spec, problemOf(spec), new InlineExecutor(), { algorithm, iterations: ITERATIONS });
    references.set(key, r);
  }
  return r;
}

describe('local executor conformance with the inline executor (bitwise)', () => {
  for (const threads of [1, 2, 3, 4]) {
    describe(`${threads} thread(s), ${2 * threads + 1} chunks per sweep`, () => {
      let ex: LocalExecutor;
      beforeAll(() => {
        ex = new LocalExecutor({ threads, chunks: 2 * threads + 1 });
      });
      afterAll(async () => {
        await ex?.close();
      });
      for (const spec of CASES) {
        for (const algorithm of ALGORITHMS) {
          it(`${spec.game} M=${spec.bins} ${algorithm}`, async () => {
            const expected = await reference(spec, algorithm);
            const actual = await solveCollected(spec, problemOf(spec), ex, { algorithm, iterations: ITERATIONS });
            expectSameBits(expected, actual, `${spec.game} ${algorithm} ${threads} thread(s)`);
          }, 30_000);
        }
      }
      it('split every sweep and used every thread', () => {
        const s = ex.stats();
        expect(s.maxChunks).toBe(2 * threads + 1);
        expect(s.calls.flow.inline + s.calls.step.inline).toBe(0);
        expect(s.threadsUsed).toBe(threads);
        expect(s.retries).toBe(0);
      });
    });
  }

  for (const threads of [2, 3]) {
    describe(`${threads} threads, team calls on every sweep, the workers alone`, () => {
      let ex: LocalExecutor;
      beforeAll(() => {
        ex = new LocalExecutor({ threads, rule: { inlineBelowMs: 0, minChunkMs: 1e-9, targetBlockMs: 1e-6 }, callerJoins: false });
      });
      afterAll(async () => {
        await ex?.close();
      });
      for (const spec of CASES) {
        for (const algorithm of ALGORITHMS) {
          it(`${spec.game} M=${spec.bins} ${algorithm}`, async () => {
            const actual = await solveCollected(spec, problemOf(spec), ex, { algorithm, iterations: ITERATIONS });
            expectSameBits(await reference(spec, algorithm), actual, `${spec.game} ${algorithm} ${threads} threads, team`);
          }, 30_000);
        }
      }
      it('ran every sweep on the workers, in blocks', () => {
        const s = ex.stats();
        expect(s.calls.flow.inline + s.calls.step.inline).toBe(0);
        expect(s.blocks.caller).toBe(0);
        expect(s.blocks.workers).toBeGreaterThan(s.calls.step.sharded); // several blocks per call
        expect(s.threadsUsed).toBe(threads - 1);
        expect(s.retries).toBe(0);
      });
    });
  }

  it('automatic sharding (inline for small sweeps, team calls for larger ones) gives the same bits', async () => {
    // default rule: these games are small, so most sweeps run inline; a rule scaled down 100x shards them
    for (const rule of [{}, { inlineBelowMs: 0.01, minChunkMs: 0.005, targetChunkMs: 0.05, targetBlockMs: 0.0025 }]) {
      const ex = new LocalExecutor({ threads: 2, rule });
      try {
        for (const spec of [CASES[1], CASES[3]]) {
          const actual = await solveCollected(spec, problemOf(spec), ex, { algorithm: 'fp', iterations: ITERATIONS });
          expectSameBits(await reference(spec, 'fp'), actual, `${spec.game} fp auto ${JSON.stringify(rule)}`);
        }
        const s = ex.stats();
        if (Object.keys(rule).length > 0) expect(s.calls.step.sharded).toBeGreaterThan(0);
      } finally {
        await ex.close();
      }
    }
  }, 30_000);
});

describe('variants on the local executor (bitwise equal to inline)', () => {
  const VARIANTS: Array<[string, Omit<SolveOptions, 'iterations'>]> = [
    ['omd', { algorithm: 'omd', temperature: 0.5 }],
    ['softmax fp', { algorithm: 'fp', softmax: true, temperature: 0.2 }],
    ['alternating', { algorithm: 'alternating', inner: 2 }],
    ['infinite-horizon fp', { algorithm: 'fp', horizon: 'infinite', discount: 0.9, tolerance: 1e-6 }],
  ];
  let ex: LocalExecutor;
  beforeAll(() => {
    ex = new LocalExecutor({ threads: 3, chunks: 4 });
  });
  afterAll(async () => {
    await ex?.close();
  });
  for (const spec of [CASES[1], CASES[3]]) {
    for (const [name, options] of VARIANTS) {
      it(`${spec.game} ${name}`, async () => {
        const run = { ...options, iterations: 4 };
        const expected = await solveCollected(spec, problemOf(spec), new InlineExecutor(), run);
        const actual = await solveCollected(spec, problemOf(spec), ex, run);
        expectSameBits(expected, actual, `${spec.game} ${name}`);
      }, 30_000);
    }
  }
  it('sharded the value-iteration sweeps and updates too', () => {
    const { calls } = ex.stats();
    expect(calls.backward.sharded).toBeGreaterThan(0);
    expect(calls.update.sharded).toBeGreaterThan(0);
    expect(calls.backward.inline + calls.update.inline).toBe(0);
  });
});

describe('how threads get the problem', () => {
  it('rebuild a user game from its module path (relative to the working directory)', async () => {
    const spec: ProblemSpec = { game: './examples/vaccination.ts', params: { T: 10 }, bins: 6 };
    const family = await resolveGameFamily(spec.game, (s) => import(pathToFileURL(resolve(s)).href));
    const problem = new Problem(buildGame(family, spec.params), spec.bins);
    const expected = await solveCollected(spec, problem, new InlineExecutor(), { algorithm: 'fp', iterations: 3 });
    const ex = new LocalExecutor({ threads: 2, chunks: 3 });
    try {
      expectSameBits(expected, await solveCollected(spec, problem, ex, { algorithm: 'fp', iterations: 3 }), 'vaccination fp');
    } finally {
      await ex.close();
    }
  }, 30_000);

  it('refuse a problem that differs from the coordinator\'s (fingerprint)', async () => {
    const spec = CASES[0];
    const other = new Problem(buildGame(builtinGames.sis, { T: 20, beta: 0.5 }), spec.bins); // not what the spec says
    const ex = new LocalExecutor({ threads: 1, chunks: 2, maxAttempts: 1 });
    try {
      const err = await solve(spec, other, ex, { algorithm: 'fp', iterations: 1 }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/attach run .*: the problem rebuilt from the spec differs from the coordinator's \(fingerprint [0-9a-f]{16}, expected [0-9a-f]{16}\)/);
    } finally {
      await ex.close();
    }
  }, 30_000);
});

describe('sharding rule', () => {
  const R = DEFAULT_CHUNK_RULE;
  it('runs small sweeps inline and never cuts chunks below minChunkMs', () => {
    expect(planChunks(240, 0.0005, 2, R)).toBe(0); // SIS M=120 step: 0.12 ms
    expect(planChunks(3000, 0.0006, 2, R, 0.1)).toBe(2); // Buffet M=120 step: 1.8 ms
    expect(planChunks(3000, 0.0006, 4, R, 0.1)).toBe(3); // 1.8 ms over 4 threads: 0.5 ms chunks at least
  });
  it('runs inline when the measured overhead eats the gain', () => {
    expect(planChunks(3000, 0.0006, 2, R, 0.6)).toBe(0); // 0.9 + 0.6 ms > 0.8 * 1.8 ms
    expect(planChunks(3000, 0.0006, 4, R, 0.6)).toBe(3); // 0.6 + 0.6 ms <= 1.44 ms
    expect(planChunks(36_000, 0.0008, 2, R, 5)).toBe(4); // Cyber M=60 step, even with 5 ms of overhead
  });
  it('grows to at most maxChunksPerThread chunks per thread for long sweeps', () => {
    expect(planChunks(36_000, 0.0008, 2, R)).toBe(4); // Cyber M=60 step: 29 ms
    expect(planChunks(3_600_000, 0.001, 2, R)).toBe(8); // Cyber M=60 flow: 3.6 s
    expect(planChunks(5, 10, 16, R)).toBe(5); // never more chunks than units
  });
});

describe('local executor failures', () => {
  const spec = CASES[1]; // buffet, 250 rows
  it('retries a chunk whose thread throws or dies mid-update, restoring its rows: same bits', async () => {
    const ex = new LocalExecutor({
      threads: 2,
      chunks: 5,
      faults: [
        { kind: 'flow', chunk: 2, times: 1, mode: 'throw', at: 'mid' },
        { kind: 'step', t: 7, chunk: 1, times: 1, mode: 'throw', at: 'mid' },
        { kind: 'step', t: 3, chunk: 4, times: 1, mode: 'exit', at: 'mid' },
      ],
    });
    try {
      const actual = await solveCollected(spec, problemOf(spec), ex, { algorithm: 'fp', iterations: ITERATIONS });
      expectSameBits(await reference(spec, 'fp'), actual, 'buffet fp with injected faults');
      const s = ex.stats();
      expect(s.retries).toBe(3);
      expect(s.restoredRows).toBe(100); // two step chunks of 50 rows had begun their update
    } finally {
      await ex.close();
    }
  }, 30_000);

  it('restores the OMD accumulators of a chunk that died mid-update, and retries an update call: same bits', async () => {
    const faults: FaultPlan[] = [
      { kind: 'step', t: 5, chunk: 3, times: 2, mode: 'throw', at: 'mid' },
      { kind: 'update', chunk: 0, times: 1, mode: 'exit', at: 'mid' },
      { kind: 'backward', chunk: 1, times: 1, mode: 'throw', at: 'mid' },
    ];
    const ex = new LocalExecutor({ threads: 2, chunks: 5, faults });
    try {
      for (const options of [{ algorithm: 'omd', temperature: 0.5 }, { algorithm: 'fp', horizon: 'infinite', discount: 0.9 }] as const) {
        const run = { ...options, iterations: 3 };
        const expected = await solveCollected(spec, problemOf(spec), new InlineExecutor(), run);
        expectSameBits(expected, await solveCollected(spec, problemOf(spec), ex, run), `buffet ${options.algorithm} with injected faults`);
      }
      expect(ex.stats().retries).toBe(4);
      expect(ex.stats().restoredRows).toBe(100); // 50 rows each by the successful retries of the step and the update chunk
    } finally {
      await ex.close();
    }
  }, 30_000);

  it('fails the call with the chunk identity after 3 attempts, without hanging', async () => {
    const ex = new LocalExecutor({ threads: 2, chunks: 5, faults: [{ kind: 'step', t: 4, chunk: 2, times: 3, mode: 'exit' }], maxAttempts: 3 });
    try {
      const err = await solve(spec, problemOf(spec), ex, { algorithm: 'fpi', iterations: 2 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShardError);
      const e = err as ShardError;
      expect(e.message).toMatch(/^local executor: step t=4 rows \[100, 150\) \(chunk 3 of 5\) failed 3 attempt\(s\): worker exited with code: 70$/);
      expect(e.task).toEqual({ kind: 'step', description: 'step t=4 rows [100, 150)', chunk: 2, chunks: 5 });
      expect(e.attempts).toBe(3);
      expect(ex.stats().retries).toBe(2);
    } finally {
      await ex.close();
    }
  }, 30_000);

  it('carries a thrown error across the thread boundary with the task identity', async () => {
    const ex = new LocalExecutor({ threads: 1, chunks: 3, maxAttempts: 2, faults: [{ kind: 'flow', chunk: 0, times: 2, mode: 'throw' }] });
    try {
      const err = await solve(spec, problemOf(spec), ex, { algorithm: 'fp', iterations: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShardError);
      expect((err as Error).message).toMatch(
        /^local executor: flow \(t, row\) \[0, 1666\) \(chunk 1 of 3\) failed 2 attempt\(s\): thread \d+, flow \(t, row\) \[0, 1666\), attempt 2: injected fault \(start\)$/,
      );
    } finally {
      await ex.close();
    }
  }, 30_000);

  it('validates its options, naming the field', () => {
    expect(() => new LocalExecutor({ threads: 0 })).toThrow(/local executor: threads must be an integer >= 1, got 0/);
    expect(() => new LocalExecutor({ chunks: 1.5 })).toThrow(/local executor: chunks must be an integer >= 1, got 1.5/);
    expect(() => new LocalExecutor({ rule: { minChunkMs: -1 } })).toThrow(/rule.minChunkMs must be a number >= 0/);
  });
});

describe('m3fg solve --threads', () => {
  it('writes the same curve and policies with --threads 1 (inline) and --threads 2 (local), and records the executor', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-threads-'));
    const files: Record<string, { curve: string; policies: Buffer; run: { executor: string; threads: number } }> = {};
    for (const threads of ['1', '2']) {
      const out = join(root, `t${threads}`);
      const res = runCli(['solve', '--game', 'buffet', '--bins', '10', '--param', 'T=20', '--iterations', '4', '--threads', threads, '--out', out, '--quiet']);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      files[threads] = {
        curve: readFileSync(join(out, 'curve.json'), 'utf8'),
        policies: readFileSync(join(out, 'policies.bin')),
        run: JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')),
      };
    }
    expect(files['1'].run).toMatchObject({ executor: 'inline', threads: 1 });
    expect(files['2'].run).toMatchObject({ executor: 'local', threads: 2 });
    expect(files['2'].curve).toBe(files['1'].curve);
    expect(files['2'].policies.equals(files['1'].policies)).toBe(true);
  }, 60_000);

  for (const bad of ['0', '-2', '1.5', 'all']) {
    it(`rejects --threads ${bad}`, () => {
      const res = runCli(['solve', '--threads', bad, '--iterations', '1', '--out', join(tmpdir(), 'm3fg-never')]);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      expect(res.stderr).toBe(`m3fg: --threads: expected a positive integer, got '${bad}'\n`);
    });
  }
});
