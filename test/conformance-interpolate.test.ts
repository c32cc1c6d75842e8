// The interpolated scheme (--projection interpolate) in the solver:
//   1. every algorithm (fp, fpi, omd, softmax, alternating, damped, auto's method, the infinite horizon) on all
//      four built-in games (lattice grid, small M): the local executor (team calls; the Piscina chunk path)
//      gives the inline executor's curves and tables to the bit;
//   2. the slow obvious check: a tiny game's FP iterations against a dense dynamic program (every next
//      (x', x0', c') summed with P P0 W, W the vertex weights as a dense matrix): the curve's start values
//      within 1e-12, and each iteration's averaged policy where the greedy action is clear;
//   3. interpolate differs from nearest on the same lattice (the option reaches the kernels), and the Problem
//      refuses interpolate on the midpoint grid;
//   4. the in-process cluster with 1-3 nodes (pools and an event-loop node): the inline executor's bits;
//   5. the CLI: --projection without --grid lattice is one m3fg: line (exit 2, nothing written); a run records
//      its projection (run.json, policies.bin, the directory name, the checkpoint) and a resume must match it.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import type { LatticeGrid } from '../shared/lattice-grid.ts';
import { allocateTables } from '../shared/tables.ts';
import { buildGame } from '../shared/validate.ts';
import { collectSource } from '../shared/table-source.ts';
import { LatticeInterpolator } from '../shared/kernels/interpolate.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { LocalExecutor, type LocalExecutorOptions } from '../coordinator/local-executor.ts';
import { solve, type SolveOptions } from '../coordinator/solver.ts';
import { AUTO_METHOD } from '../coordinator/auto.ts';
import type { ProblemSpec } from '../coordinator/executor.ts';
import { expectSameBits, sameBits, solveCollected, type Solved } from './helpers/same-bits.ts';
import { runCli } from './helpers/cli.ts';
import { InProcessHub } from '../shared/cluster-transport.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';
import { ShardNode } from '../worker/shard-node.ts';
import { ClusterExecutor } from '../coordinator/cluster-executor.ts';
import { readPolicyHeader } from '../coordinator/policy-file.ts';
import { parseSolveFlags } from '../coordinator/options.ts';
import { planSweep } from '../coordinator/sweep.ts';
import { solve as librarySolve } from '../index.ts';
import { solveJobSpec } from '../coordinator/jobs/spec.ts';
import { denseStep, denseWeights, emptyValues, type DenseValues } from './helpers/dense-interpolated.ts';

const GAMES: Array<{ game: string; params: Record<string, number>; bins: number }> = [
  { game: 'sis', params: { T: 8 }, bins: 10 },
  { game: 'advertisement', params: { T: 8 }, bins: 10 },
  { game: 'buffet', params: { T: 6, L: 3, F: 3 }, bins: 5 },
  { game: 'cyber', params: { T: 6 }, bins: 4 },
];

const METHODS: Array<[string, SolveOptions]> = [
  ['fp', { algorithm: 'fp', iterations: 3 }],
  ['fpi', { algorithm: 'fpi', iterations: 3 }],
  ['omd', { algorithm: 'omd', iterations: 3, temperature: 0.2 }],
  ['softmax fp', { algorithm: 'fp', iterations: 3, softmax: true, temperature: 0.1 }],
  ['alternating', { algorithm: 'alternating', iterations: 3, inner: 1 }],
  ['damped', { algorithm: 'damped', iterations: 3, step: 0.3 }],
  ['auto', { ...AUTO_METHOD, iterations: 3 }],
  ['infinite fp', { algorithm: 'fp', iterations: 2, horizon: 'infinite', discount: 0.9 }],
  ['infinite omd', { algorithm: 'omd', iterations: 2, horizon: 'infinite', discount: 0.9 }],
];

const problems = new Map<string, Problem>();
function problemOf(g: (typeof GAMES)[number], projection: 'nearest' | 'interpolate' = 'interpolate'): Problem {
  const key = `${g.game}/${g.bins}/${projection}`;
  let p = problems.get(key);
  if (!p) {
    p = new Problem(buildGame(builtinGames[g.game], g.params), g.bins, 'lattice', projection);
    problems.set(key, p);
  }
  return p;
}
const specOf = (g: (typeof GAMES)[number]): ProblemSpec => ({ game: g.game, params: g.params, bins: g.bins, projection: 'interpolate' });

const references = new Map<string, Solved>();
async function reference(g: (typeof GAMES)[number], label: string, options: SolveOptions): Promise<Solved> {
  const key = `${g.game}/${label}`;
  let r = references.get(key);
  if (!r) {
    r = await solveCollected(specOf(g), problemOf(g), new InlineExecutor(), options);
    references.set(key, r);
  }
  return r;
}

const TEAM_EVERYWHERE = { inlineBelowMs: 0, minChunkMs: 1e-9, targetBlockMs: 1e-6 };
const CONFIGS: Array<[string, LocalExecutorOptions]> = [
  ['2 threads, team calls on every sweep', { threads: 2, rule: TEAM_EVERYWHERE }],
  ['2 threads, Piscina chunks', { threads: 2, chunks: 5 }],
];

describe('interpolate: local executor conforms to inline (bitwise)', () => {
  for (const [label, options] of CONFIGS) {
    describe(label, () => {
      let ex: LocalExecutor;
      beforeAll(() => {
        ex = new LocalExecutor(options);
      });
      afterAll(async () => {
        await ex?.close();
      });
      for (const g of GAMES) {
        for (const [method, solveOptions] of METHODS) {
          it(`${g.game} lattice M=${g.bins} ${method}`, async () => {
            const want = await reference(g, method, solveOptions);
            const got = await solveCollected(specOf(g), problemOf(g), ex, solveOptions);
            expectSameBits(want, got, `${g.game} ${method} (${label})`);
            expect(got.curve).toHaveLength(solveOptions.iterations);
          }, 60_000);
        }
      }
      it('sharded the sweeps', () => {
        const s = ex.stats();
        expect(s.calls.flow.inline + s.calls.step.inline).toBe(0);
        expect(s.retries).toBe(0);
      });
    });
  }
});

const CLUSTER_METHODS = new Set(['fp', 'omd', 'alternating', 'infinite fp']);
for (const n of [1, 2, 3]) {
  describe(`interpolate: in-process cluster, ${n} node(s), conforms to inline (bitwise)`, () => {
    let nodes: ShardNode[];
    let hub: InProcessHub;
    let coordinator: ReturnType<InProcessHub['join']>;
    beforeAll(() => {
      hub = new InProcessHub();
      coordinator = hub.join(COORDINATOR);
      // node-0 on a pool of 1 thread, node-1 on 2 threads, node-2 on its own event loop
      nodes = Array.from({ length: n }, (_, i) => new ShardNode({ transport: hub.join(`node-${i}`), threads: 1 + (i % 2), heartbeatMs: 50, pool: i !== 2 }));
      for (const node of nodes) node.start();
    });
    afterAll(async () => {
      for (const node of nodes) await node.stop();
    });
    for (const g of GAMES) {
      it(`${g.game} lattice M=${g.bins}: ${[...CLUSTER_METHODS].join(', ')}`, async () => {
        const ex = new ClusterExecutor({ transport: coordinator, minNodes: n, settleMs: 0, waitForNodesMs: 10_000 });
        try {
          for (const [method, options] of METHODS) {
            if (!CLUSTER_METHODS.has(method)) continue;
            const want = await reference(g, method, options);
            expectSameBits(want, await solveCollected(specOf(g), problemOf(g), ex, options), `${g.game} ${method} on ${n} node(s)`);
          }
        } finally {
          await ex.close();
        }
      }, 120_000);
    }
    // mu0's vertices on two shards (shards are cut at multiples of 4 cells): SIS M = 4 has them at cells 3 and
    // 4, Cyber M = 3 at 11, 12, 14, 17; each owner sends its own, the coordinator interpolates
    const split: Array<(typeof GAMES)[number]> = [
      { game: 'sis', params: { T: 6 }, bins: 4 },
      { game: 'cyber', params: { T: 4 }, bins: 3 },
    ];
    for (const g of split) {
      it(`${g.game} lattice M=${g.bins} (mu0 between cells): fp`, async () => {
        const ex = new ClusterExecutor({ transport: coordinator, minNodes: n, settleMs: 0, waitForNodesMs: 10_000 });
        try {
          const options: SolveOptions = { algorithm: 'fp', iterations: 3 };
          const want = await solveCollected(specOf(g), problemOf(g), new InlineExecutor(), options);
          expectSameBits(want, await solveCollected(specOf(g), problemOf(g), ex, options), `${g.game} M=${g.bins} on ${n} node(s)`);
        } finally {
          await ex.close();
        }
      }, 60_000);
    }
  });
}

describe('interpolate is its own scheme', () => {
  it('differs from nearest on the same lattice, and both are finite', async () => {
    const g = GAMES[0];
    const options: SolveOptions = { algorithm: 'fp', iterations: 3 };
    const interp = await reference(g, 'fp', options);
    const near = await solveCollected({ ...specOf(g), projection: 'nearest' }, problemOf(g, 'nearest'), new InlineExecutor(), options);
    expect(sameBits(interp.minorPolicy, near.minorPolicy) && sameBits(interp.majorPolicy, near.majorPolicy)).toBe(false);
    expect(interp.curve[0].value.majorPolicy).not.toBe(near.curve[0].value.majorPolicy);
    for (const c of [...interp.curve, ...near.curve]) expect(Number.isFinite(c.exploitability.total)).toBe(true);
  });

  it('needs the lattice grid; solve() refuses a spec whose projection differs from the problem', async () => {
    const game = buildGame(builtinGames.sis, { T: 4 });
    expect(() => new Problem(game, 6, 'midpoint', 'interpolate')).toThrow(/lattice/);
    const problem = new Problem(game, 6, 'lattice', 'interpolate');
    await expect(solve({ game: 'sis', params: { T: 4 }, bins: 6 }, problem, new InlineExecutor(), { algorithm: 'fp', iterations: 1 })).rejects.toThrow(/projection/);
  });
});

describe('interpolated FP iterations vs a dense dynamic program', () => {
  const cases: Array<[string, Record<string, number>, number]> = [
    ['sis', { T: 4 }, 6],
    ['advertisement', { T: 4 }, 5],
    ['buffet', { T: 3, L: 3, F: 2 }, 3],
    ['cyber', { T: 3 }, 3],
  ];
  for (const [name, params, bins] of cases) {
    it(`${name} ${JSON.stringify(params)}, lattice M = ${bins}: 3 FP iterations`, async () => {
      const game = buildGame(builtinGames[name], params);
      const problem = new Problem(game, bins, 'lattice', 'interpolate');
      const grid = problem.grid as LatticeGrid;
      const { nX, nU, nX0, nU0, T, mu0, nu0 } = game;
      const rows = problem.rows;
      const C = grid.cells;
      // the policies after each iteration, as the solver hands them out
      const after: Array<{ minor: Float64Array; major: Float64Array }> = [];
      const result = await solve({ game: name, params, bins, projection: 'interpolate' }, problem, new InlineExecutor(), {
        algorithm: 'fp',
        iterations: 3,
        onIteration: async (_point, p) => {
          after.push({ minor: await collectSource(p.minorPolicy), major: await collectSource(p.majorPolicy) });
        },
      });
      const tables = allocateTables(problem);
      // iteration 0's input: one-hot on the first action
      tables.minorPolicy.fill(0);
      tables.majorPolicy.fill(0);
      for (let i = 0; i < tables.minorPolicy.length; i += nU) tables.minorPolicy[i] = 1;
      for (let i = 0; i < tables.majorPolicy.length; i += nU0) tables.majorPolicy[i] = 1;

      // mu0's vertices, for the start values
      const vc = new Int32Array(nX);
      const vw = new Float64Array(nX);
      new LatticeInterpolator(grid).place(mu0, 0, vc, vw, 0);
      const atMu0 = (v: Float64Array, x0: number, x = -1) => {
        let s = 0;
        for (let j = 0; j < nX; j++) s += vw[j] * (x < 0 ? v[x0 * C + vc[j]] : v[(x * nX0 + x0) * C + vc[j]]);
        return s;
      };
      let checkedPolicy = 0;
      for (let n = 0; n < 3; n++) {
        const inp = { game, grid, tables, rows };
        const W = denseWeights(inp);
        const dense: DenseValues[] = [];
        dense[T] = emptyValues(nX, rows);
        for (let t = T - 1; t >= 0; t--) dense[t] = denseStep(inp, W, t, dense[t + 1]);
        // the curve's start values: V(0) interpolated at mu0, averaged over nu0 (and mu0 for the minor player)
        const d0 = dense[0];
        let majorBR = 0, majorPol = 0, minorBR = 0, minorPol = 0;
        for (let x0 = 0; x0 < nX0; x0++) {
          majorBR += nu0[x0] * atMu0(d0.v0BR, x0);
          majorPol += nu0[x0] * atMu0(d0.v0Ev, x0);
        }
        for (let x = 0; x < nX; x++) {
          let br = 0, pol = 0;
          for (let x0 = 0; x0 < nX0; x0++) {
            br += nu0[x0] * atMu0(d0.vBR, x0, x);
            pol += nu0[x0] * atMu0(d0.vEv, x0, x);
          }
          minorBR += mu0[x] * br;
          minorPol += mu0[x] * pol;
        }
        const v = result.curve[n].value;
        const close = (got: number, want: number, what: string) => {
          if (!(Math.abs(got - want) <= 1e-11 * Math.max(1, Math.abs(want)))) expect.fail(`iteration ${n} ${what}: solver ${got} vs dense ${want}`);
        };
        close(v.majorBestResponse, majorBR, 'major best response');
        close(v.majorPolicy, majorPol, 'major policy value');
        close(v.minorBestResponse, minorBR, 'minor best response');
        close(v.minorPolicy, minorPol, 'minor policy value');
        // FP: pi <- (pi (n + 1) + greedy) / (n + 2), checked where the dense greedy action is clear
        const { minor, major } = after[n];
        for (let t = 0; t < T; t++) for (let r = 0; r < rows; r++) {
          const d = dense[t];
          if (d.gap0[r] > 1e-9) {
            for (let a = 0; a < nU0; a++) {
              const i = (t * rows + r) * nU0 + a;
              const want = (tables.majorPolicy[i] * (n + 1) + (a === d.g0[r] ? 1 : 0)) / (n + 2);
              close(major[i], want, `major policy t=${t} row ${r} action ${a}`);
            }
            checkedPolicy++;
          }
          for (let x = 0; x < nX; x++) {
            const k = x * rows + r;
            if (!(d.gap[k] > 1e-9)) continue;
            for (let u = 0; u < nU; u++) {
              const i = ((t * rows + r) * nX + x) * nU + u;
              const want = (tables.minorPolicy[i] * (n + 1) + (u === d.g[k] ? 1 : 0)) / (n + 2);
              close(minor[i], want, `minor policy t=${t} row ${r} x ${x} action ${u}`);
            }
            checkedPolicy++;
          }
        }
        // the next iteration's input is the solver's own output (ties, where unchecked, stay consistent)
        tables.minorPolicy.set(minor);
        tables.majorPolicy.set(major);
      }
      expect(checkedPolicy).toBeGreaterThan(0.3 * 3 * T * rows);
    }, 120_000);
  }
});

describe('--projection on the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'm3fg-interp-'));

  it('names the directory and refuses interpolate without the lattice grid', () => {
    expect(parseSolveFlags({ game: 'sis', grid: 'lattice', projection: 'interpolate' }).out).toBe('results/sis-fp-m20-lattice-interpolate');
    expect(parseSolveFlags({ game: 'sis', grid: 'lattice' }).projection).toBe('nearest');
    const out = join(dir, 'refused');
    const res = runCli(['solve', '--game', 'sis', '--projection', 'interpolate', '--bins', '6', '--out', out]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^m3fg: --projection interpolate: needs --grid lattice/);
    expect(existsSync(out)).toBe(false);
    const bad = runCli(['solve', '--game', 'sis', '--grid', 'lattice', '--projection', 'linear', '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^m3fg: --projection: unknown value 'linear'/);
  });

  it('records the projection; a resume keeps it and refuses another', async () => {
    const out = join(dir, 'run');
    const args = ['solve', '--game', 'sis', '--param', 'T=6', '--grid', 'lattice', '--projection', 'interpolate', '--bins', '8', '--threads', '1', '--quiet', '--out', out];
    const res = runCli([...args, '--iterations', '2', '--checkpoint-every', '1']);
    expect(res.code, res.stderr).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.projection).toBe('interpolate');
    expect(run.grid).toBe('lattice');
    // the memory estimate counts the interpolated next tables: nextVertex (i32) + nextWeight (f64), nX each
    const game = buildGame(builtinGames.sis, { T: 6 });
    const p = new Problem(game, 8, 'lattice', 'interpolate');
    const entries = game.T * p.rows * game.nU0;
    const policies = entries * game.nX * game.nU * 8 + entries * 8;
    expect(run.memory.tableBytes).toBeGreaterThanOrEqual(policies + entries * game.nX * 12);
    // the curve is the library's
    const lib = await solveCollected({ game: 'sis', params: { T: 6 }, bins: 8, projection: 'interpolate' }, p, new InlineExecutor(), { algorithm: 'fp', iterations: 2 });
    expect(JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(lib.curve)));
    const header = readPolicyHeader(join(out, 'policies.bin'));
    expect(header.projection).toBe('interpolate');
    // resume: another projection is refused, the same one continues
    const other = runCli(['solve', '--resume', out, '--projection', 'nearest', '--iterations', '3']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/projection/);
    const more = runCli(['solve', '--resume', out, '--iterations', '3', '--quiet']);
    expect(more.code, more.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).projection).toBe('interpolate');
    // a nearest run into the same directory is another run
    const near = runCli(['solve', '--game', 'sis', '--param', 'T=6', '--grid', 'lattice', '--bins', '8', '--iterations', '3', '--threads', '1', '--quiet', '--out', out]);
    expect(near.code).toBe(2);
    expect(near.stderr).toMatch(/differs in projection/);
  }, 120_000);
});

describe('--projection in studies', () => {
  it('is a sweep axis; job keys and hashes tell the projections apart, nearest hashes as before', async () => {
    const plan = await planSweep({ game: 'sis', bins: '6', iterations: '2', grid: 'lattice', projection: 'nearest,interpolate' });
    expect(plan.configs).toHaveLength(2);
    const [near, interp] = plan.configs.map((c) => c.job);
    expect(near.hash).not.toBe(interp.hash);
    expect(interp.key).toMatch(/-interpolate-/);
    expect(near.key).not.toMatch(/interpolate/);
    // a nearest job hashes as it did before the option existed (finished studies are reused)
    expect(near.hash).toBe(solveJobSpec({ game: 'sis', bins: '6', iterations: '2', grid: 'lattice' }).hash);
    await expect(planSweep({ game: 'sis', bins: '6', projection: 'interpolate' })).rejects.toThrow(/--grid lattice/);
  });
});

describe('projection in the library', () => {
  it("solve({ grid: 'lattice', projection: 'interpolate' }) is the solver's interpolated run; other grids are refused", async () => {
    const g = GAMES[0];
    const got = await librarySolve({ game: g.game, params: g.params, bins: g.bins, grid: 'lattice', projection: 'interpolate', iterations: 3 });
    expect(got.problem.projection).toBe('interpolate');
    const want = await reference(g, 'fp', { algorithm: 'fp', iterations: 3 });
    expectSameBits(want, { curve: got.curve, minorPolicy: got.minorPolicy, majorPolicy: got.majorPolicy }, 'library solve');
    await expect(librarySolve({ game: 'sis', projection: 'interpolate' })).rejects.toThrow(/^solve: projection interpolate: needs grid lattice/);
  });
});
