// Does Anderson acceleration help? A measurement, not a solver method (docs/algorithms-study.md, "Anderson
// acceleration"). Inline executor, one thread. Each iteration: x = the current policies; one sweep replaces
// them by the response G(x) and reads out the exploitability of x; then
//   type-II Anderson with memory m and mixing beta:  gamma = argmin |f_k - dF gamma|  (f = G(x) - x, dF/dX the
//   last m differences), x+ = x_k + beta f_k - (dX + beta dF) gamma,
// safeguarded: every policy row clipped at 0 and renormalised, and the history cleared whenever the total
// exploitability rose. m = 0 is damped FPI with step beta. Prints the lowest total within K iterations.
//
//   npx tsx bench/anderson-probe.ts GAME M K m beta [greedy|softmax:TAU] [nearest|interpolate]

import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { exploitability } from '../shared/kernels/exploitability.ts';
import type { Response } from '../shared/kernels/update.ts';
import { arraySource, collectSource } from '../shared/table-source.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';

const [gameName = 'sis', binsText = '30', itText = '100', memText = '3', betaText = '0.3', respText = 'greedy', projection = 'nearest'] = process.argv.slice(2);
const bins = Number(binsText);
const K = Number(itText);
const m = Number(memText);
const beta = Number(betaText);
const response: Response = respText.startsWith('softmax:') ? { kind: 'softmax', temperature: Number(respText.slice(8)) } : { kind: 'greedy' };
const game = buildGame(builtinGames[gameName], {});
const problem = projection === 'interpolate' ? new Problem(game, bins, 'lattice', 'interpolate') : new Problem(game, bins);
const executor = new InlineExecutor();
await executor.open({ game: gameName, params: {}, bins, projection: problem.projection }, problem, { omd: false, slices: game.T });
await executor.initPolicies(response.kind === 'softmax' ? 'uniform' : 'first');

const read = async () => {
  const p = executor.policies();
  const minor = await collectSource(p.minorPolicy);
  const major = await collectSource(p.majorPolicy);
  const x = new Float64Array(minor.length + major.length);
  x.set(minor);
  x.set(major, minor.length);
  return { x, minorLength: minor.length };
};

/** Clip at 0 and renormalise each row of `width` entries (a policy row: a distribution over actions). */
function project(x: Float64Array, from: number, to: number, width: number): void {
  for (let r = from; r < to; r += width) {
    let s = 0;
    for (let i = r; i < r + width; i++) s += x[i] = Math.max(0, x[i]);
    if (s > 0) for (let i = r; i < r + width; i++) x[i] /= s;
    else for (let i = r; i < r + width; i++) x[i] = 1 / width;
  }
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** Solves the m x m system A g = b (Gaussian elimination with partial pivoting, A regularised). */
function solveSmall(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const g = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * g[k];
    g[r] = s / M[r][r];
  }
  return g;
}

const dX: Float64Array[] = [];
const dF: Float64Array[] = [];
let prev: { x: Float64Array; f: Float64Array } | undefined;
let prevTotal = Infinity;
let lowest = { total: Infinity, iteration: -1 };
const marks = [10, 20, 50, 100, 200, 300, 500, 1000].filter((k) => k <= K);
const atMarks: string[] = [];
const t0 = performance.now();
for (let n = 0; n < K; n++) {
  const { x, minorLength } = await read();
  await executor.iterate({ kind: 'replace', response });
  const total = exploitability(await executor.startValues()).total;
  if (total < lowest.total) lowest = { total, iteration: n };
  if (marks.includes(n + 1)) atMarks.push(`≤${n + 1}: ${lowest.total.toPrecision(3)}`);
  const g = (await read()).x;
  const f = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) f[i] = g[i] - x[i];
  if (total > prevTotal) {
    dX.length = 0; // safeguard: a rise restarts the history
    dF.length = 0;
  } else if (prev && m > 0) {
    dX.push(x.map((v, i) => v - prev!.x[i]));
    dF.push(f.map((v, i) => v - prev!.f[i]));
    if (dX.length > m) {
      dX.shift();
      dF.shift();
    }
  }
  prevTotal = total;
  prev = { x, f };
  const next = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) next[i] = x[i] + beta * f[i];
  if (dF.length > 0) {
    const A = dF.map((a) => dF.map((b) => dot(a, b)));
    const scale = Math.max(...A.map((r, i) => r[i])) || 1;
    for (let i = 0; i < A.length; i++) A[i][i] += 1e-10 * scale;
    const gamma = solveSmall(A, dF.map((a) => dot(a, f)));
    for (let j = 0; j < gamma.length; j++) for (let i = 0; i < x.length; i++) next[i] -= gamma[j] * (dX[j][i] + beta * dF[j][i]);
  }
  project(next, 0, minorLength, game.nU);
  project(next, minorLength, next.length, game.nU0);
  await executor.loadPolicies({ minorPolicy: arraySource(next.subarray(0, minorLength)), majorPolicy: arraySource(next.subarray(minorLength)) });
}
await executor.close();
const ms = ((performance.now() - t0) / K).toFixed(0);
console.log(`${gameName} M=${bins} ${projection} ${respText} m=${m} beta=${beta}: lowest ${lowest.total.toPrecision(3)} @${lowest.iteration}; ${atMarks.join(', ')}; ${ms} ms/it`);
