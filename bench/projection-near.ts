// The nearest projection near the simplex's faces, nX = 4 (Cyber): the flow's inputs of one FP iteration
// that leave the 8-corner fast path (a coordinate below the first grid value, or box corners beyond the outer
// face), projected by the general search (projectGeneric: windows scanned cell by cell through cellIndex and
// distance(), the path every such input took before project3Near) and by project() (the inline windows),
// in alternating rounds of one process, CPU time, medians; both must give the same cell for every input.
// Usage: npx tsx bench/projection-near.ts [M]   (default 60)
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { MidpointGrid } from '../shared/grid.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';

const bins = Number(process.argv[2] ?? 60);
if (!(Number.isInteger(bins) && bins >= 2)) {
  console.error(`m3fg: bench/projection-near.ts: M must be an integer >= 2, got ${process.argv[2]}`);
  process.exit(2);
}
const problem = new Problem(buildGame(builtinGames.cyber), bins);
const grid = problem.grid as MidpointGrid;
const M = bins;
/** Whether project3 leaves its 8-corner box for this input (its own test, repeated). */
const nearFace = (mu: ArrayLike<number>, off: number, rowLen: Int32Array) => {
  const b = [0, 1, 2].map((i) => Math.floor(mu[off + i] * M - 0.5));
  if (b.some((x) => x < 0 || x + 1 >= M)) return true;
  const p = b[0] * M + b[1];
  return [p, p + 1, p + M, p + M + 1].some((q) => b[2] + 1 >= rowLen[q]);
};
const inner = grid as unknown as { project3(mu: ArrayLike<number>, off: number): number; projectGeneric(mu: ArrayLike<number>, off: number): number; rowLen: Int32Array };
const project3 = inner.project3;
const captured: number[] = [];
let all = 0;
// the second iteration's flow (the first starts from the initial policies)
let iteration = 0;
inner.project3 = function (mu, off) {
  if (iteration === 1) {
    all++;
    if (nearFace(mu, off, inner.rowLen)) for (let i = 0; i < 4; i++) captured.push(mu[off + i]);
  }
  return project3.call(this, mu, off);
};
await solve({ game: 'cyber', params: {}, bins }, problem, new InlineExecutor(), { algorithm: 'fp', iterations: 2, onIteration: () => void iteration++ });
inner.project3 = project3;
const mus = Float64Array.from(captured);
const n = mus.length / 4;
for (let i = 0; i < n; i++) {
  if (grid.project(mus, 4 * i) !== inner.projectGeneric.call(grid, mus, 4 * i)) throw new Error(`bench/projection-near.ts: the two paths differ at input ${i}`);
}
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const times = { general: [] as number[], inline: [] as number[] };
let sink = 0;
for (let round = 0; round < 9; round++) {
  for (const which of ['general', 'inline'] as const) {
    const t0 = cpuMs();
    for (let i = 0; i < n; i++) sink += which === 'general' ? inner.projectGeneric.call(grid, mus, 4 * i) : grid.project(mus, 4 * i);
    times[which].push(cpuMs() - t0);
  }
}
const median = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const [g, f] = [median(times.general), median(times.inline)];
console.log(`Cyber M = ${M}: ${n} of the ${all} projections of one FP iteration's flows leave the 8-corner box (${((100 * n) / Math.max(1, all)).toFixed(2)}%); same cells on both paths`);
console.log(`CPU ms for them, median of 9 alternating rounds: general search ${g.toFixed(1)}, inline windows ${f.toFixed(1)} (${(g / f).toFixed(2)}x)${sink < 0 ? '' : ''}`);
