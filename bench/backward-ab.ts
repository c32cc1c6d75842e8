// Before/after of the nearest backward step alone, in alternating rounds of one process: a whole backward
// sweep (t = T-1 .. 0, every row) by another tree of this repository (e.g. before a kernel change) and by this
// one, on the same problem and the same tables (uniform policies, next cells from this tree's flow, random
// start values), next to this tree's flow over the same (t, row) range. Prints CPU nanoseconds per (t, row),
// medians, and checks that both trees' values and greedy actions agree to the bit. Then whole FP iterations
// (inline, one thread) of both trees, the same way; AB_PROJECTION=interpolate: only those, on the lattice
// grid with the interpolated scheme.
// Usage: git archive <rev> | tar -x -C DIR && ln -s "$PWD/node_modules" DIR/node_modules
//        npx tsx bench/backward-ab.ts DIR      (AB_CASES=buffet:30,sis:500 AB_ROUNDS=5 optional)
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

if (!process.argv[2]) {
  console.error('m3fg: bench/backward-ab.ts: give the other tree\'s directory (see the header)');
  process.exit(2);
}
const before = resolve(process.argv[2]);
const after = resolve(fileURLToPath(new URL('..', import.meta.url)));
async function load(root: string) {
  return {
    backwardRange: (await import(`${root}/shared/kernels/backward.ts`)).backwardRange,
    backwardScratch: (await import(`${root}/shared/kernels/backward.ts`)).backwardScratch,
    Problem: (await import(`${root}/shared/problem.ts`)).Problem,
    Inline: (await import(`${root}/coordinator/inline-executor.ts`)).InlineExecutor,
    solve: (await import(`${root}/coordinator/solver.ts`)).solve,
  };
}
const B = await load(before), A = await load(after);
const { builtinGames } = await import('../shared/games/index.ts');
const { Problem } = await import('../shared/problem.ts');
const { buildGame } = await import('../shared/validate.ts');
const { allocateTables } = await import('../shared/tables.ts');
const { flowRange } = await import('../shared/kernels/flow.ts');
const { SeededRandom } = await import('../shared/random.ts');

// game:bins[:param=value...], e.g. buffet:60:L=3
const cases = (process.env.AB_CASES ?? 'buffet:120,buffet:30:L=3,sis:500,advertisement:500,cyber:20').split(',').map((c) => {
  const [name, bins, ...params] = c.split(':');
  return [name, Number(bins), Object.fromEntries(params.map((p) => [p.split('=')[0], Number(p.split('=')[1])]))] as const;
});
const rounds = Number(process.env.AB_ROUNDS ?? 5);
// this process's CPU seconds, not wall time: on a machine shared with other jobs the wall clock mostly measures
// the waits for a core; cache and memory contention still show
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const median = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const interpolate = process.env.AB_PROJECTION === 'interpolate';
for (const [name, bins, params] of cases) {
  const game = buildGame(builtinGames[name], params);
  if (!interpolate) stepOnly(name, bins, params, game);
  await fpIterations(name, bins, params, game);
}

function stepOnly(name: string, bins: number, params: Record<string, number>, game: ReturnType<typeof buildGame>) {
  const problem = new Problem(game, bins);
  const { nX, nU, nU0, T } = game;
  const { rows } = problem;
  const tables = [allocateTables(problem), allocateTables(problem)];
  const rng = new SeededRandom(7), random = () => rng.next();
  for (const tb of tables) {
    tb.minorPolicy.fill(1 / nU);
    tb.majorPolicy.fill(1 / nU0);
  }
  flowRange(problem, tables[0].minorPolicy, tables[0].nextCell, 0, T * rows);
  tables[1].nextCell.set(tables[0].nextCell);
  const start = { br: Float64Array.from({ length: rows * nX }, () => random()), m: Float64Array.from({ length: rows }, () => random()) };
  const sweep = (L: typeof A, tb: (typeof tables)[0]) => {
    const scratch = L.backwardScratch(problem);
    const last = (T - 1) & 1;
    for (const v of [tb.minorBR, tb.minorEval]) v.set(start.br, (last ^ 1) * rows * nX);
    for (const v of [tb.majorBR, tb.majorEval]) v.set(start.m, (last ^ 1) * rows);
    for (let t = T - 1; t >= 0; t--) L.backwardRange(problem, tb, t, 0, rows, scratch);
  };
  const flow = () => flowRange(problem, tables[0].minorPolicy, tables[0].nextCell, 0, T * rows);
  const runs = [() => sweep(B, tables[0]), () => sweep(A, tables[1]), flow];
  const w0 = cpuSeconds();
  for (const r of runs) r();
  const repeat = Math.max(1, Math.round(0.3 / ((cpuSeconds() - w0) / 3)));
  const s: number[][] = [[], [], []];
  // the order alternates between rounds, so that neither tree always runs right after the other
  for (let round = 0; round < rounds; round++) for (const k of round & 1 ? [1, 0, 2] : [0, 1, 2]) {
    const t0 = cpuSeconds();
    for (let i = 0; i < repeat; i++) runs[k]();
    s[k].push((cpuSeconds() - t0) / repeat);
  }
  const same = (['minorBR', 'minorEval', 'majorBR', 'majorEval', 'minorGreedy', 'majorGreedy'] as const).every((k) => {
    const a = new Uint8Array(tables[0][k].buffer, tables[0][k].byteOffset, tables[0][k].byteLength);
    const b = new Uint8Array(tables[1][k].buffer, tables[1][k].byteOffset, tables[1][k].byteLength);
    return a.every((x, i) => x === b[i]);
  });
  const ns = s.map((a) => (median(a) / (T * rows)) * 1e9);
  console.log(`${(name + Object.entries(params).map(([k, v]) => ` ${k}=${v}`).join('')).padEnd(14)} M=${String(bins).padEnd(4)} rows=${String(rows).padEnd(7)} nX/nU/nU0=${nX}/${nU}/${nU0} ns/(t,row): ` +
    `backward before ${ns[0].toFixed(0)}  after ${ns[1].toFixed(0)}  flow ${ns[2].toFixed(0)}   before/after ${(ns[0] / ns[1]).toFixed(2)}   bitwise ${same ? 'equal' : 'DIFFERENT'}`);
  if (!same) process.exitCode = 1;
}

/** Whole FP iterations, each tree with its own problem (AB_PROJECTION=interpolate: the lattice, interpolated). */
async function fpIterations(name: string, bins: number, params: Record<string, number>, game: ReturnType<typeof buildGame>) {
  const fp = [B, A].map((L) => {
    const problem = interpolate ? new L.Problem(game, bins, 'lattice', 'interpolate') : new L.Problem(game, bins);
    const spec = interpolate ? { game: name, params, bins, projection: 'interpolate' } : { game: name, params, bins };
    return (iterations: number) => L.solve(spec, problem, new L.Inline(), { algorithm: 'fp', iterations });
  });
  const f0 = cpuSeconds();
  for (const r of fp) await r(2);
  const fpIterations = Math.max(2, Math.round((0.5 / ((cpuSeconds() - f0) / 2)) * 2));
  const f: number[][] = [[], []];
  for (let round = 0; round < rounds; round++) for (const k of round & 1 ? [1, 0] : [0, 1]) {
    const t0 = cpuSeconds();
    await fp[k](fpIterations);
    f[k].push((cpuSeconds() - t0) / fpIterations);
  }
  const ms = f.map((a) => median(a) * 1e3);
  console.log(`${interpolate ? `${name} M=${bins} interpolate`.padEnd(14) : ' '.repeat(14)} FP iteration ms: before ${ms[0].toFixed(1)}  after ${ms[1].toFixed(1)}   before/after ${(ms[0] / ms[1]).toFixed(2)}`);
}
