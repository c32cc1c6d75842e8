// Before/after in alternating rounds of one process: whole FP iterations of the interpolated scheme from
// another tree of this repository (e.g. before a kernel change) and from this one, next to this tree's nearest
// scheme on the same lattice; nanoseconds per (t, row), medians, and the ratios. Both trees are loaded side by
// side, so a load change on a shared machine hits them alike.
// Usage: git archive <rev> | tar -x -C DIR && ln -s "$PWD/node_modules" DIR/node_modules
//        npx tsx bench/interpolate-ab.ts DIR      (AB_CASES=sis:120,cyber:20 AB_ROUNDS=5 optional)
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

if (!process.argv[2]) {
  console.error('m3fg: bench/interpolate-ab.ts: give the other tree\'s directory (see the header)');
  process.exit(2);
}
const before = resolve(process.argv[2]);
const after = resolve(fileURLToPath(new URL('..', import.meta.url)));
async function load(root: string) {
  return {
    games: (await import(`${root}/shared/games/index.ts`)).builtinGames,
    Problem: (await import(`${root}/shared/problem.ts`)).Problem,
    buildGame: (await import(`${root}/shared/validate.ts`)).buildGame,
    Inline: (await import(`${root}/coordinator/inline-executor.ts`)).InlineExecutor,
    solve: (await import(`${root}/coordinator/solver.ts`)).solve,
  };
}
const B = await load(before), A = await load(after);
const cases: Array<[string, number]> = (process.env.AB_CASES ?? 'sis:120,sis:500,advertisement:120,buffet:20,cyber:20').split(',').map((c) => [c.split(':')[0], Number(c.split(':')[1])]);
const median = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
for (const [name, bins] of cases) {
  const runs = ([[A, 'nearest'], [B, 'interpolate'], [A, 'interpolate']] as const).map(([L, projection]) => {
    const game = L.buildGame(L.games[name]);
    const problem = new L.Problem(game, bins, 'lattice', projection);
    const spec = { game: name, params: {}, bins, projection };
    return { T: game.T, rows: problem.rows, once: (k: number) => L.solve(spec, problem, new L.Inline(), { algorithm: 'fp', iterations: k }) };
  });
  const w0 = performance.now();
  for (const r of runs) await r.once(3);
  const guess = (performance.now() - w0) / 1000 / 9;
  const iterations = Math.max(2, Math.min(500, Math.round(1 / guess)));
  const s: number[][] = [[], [], []];
  for (let round = 0; round < Number(process.env.AB_ROUNDS ?? 5); round++) for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    await runs[k].once(iterations);
    s[k].push((performance.now() - t0) / 1000 / iterations);
  }
  const ns = s.map((a) => (median(a) / (runs[0].T * runs[0].rows)) * 1e9);
  console.log(`${name.padEnd(14)} M=${String(bins).padEnd(4)} ns/(t,row): nearest ${ns[0].toFixed(0)}  interpolate before ${ns[1].toFixed(0)}  after ${ns[2].toFixed(0)}   ` +
    `interp/nearest before ${(ns[1] / ns[0]).toFixed(2)} after ${(ns[2] / ns[0]).toFixed(2)}   before/after ${(ns[1] / ns[2]).toFixed(2)}`);
}
