// The cost of the best iterate (--keep best): the copy of the policies into the saved slot before each sweep
// (a memcpy), against the iteration itself. `npx tsx bench/best-copy.ts [game] [bins] [iterations]`.
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { builtinGames } from '../shared/games/index.ts';
import { solve } from '../coordinator/solver.ts';

const [game = 'sis', binsText = '60', itText = '10'] = process.argv.slice(2);
const bins = Number(binsText);
const iterations = Number(itText);
const problem = new Problem(buildGame(builtinGames[game], {}), bins);
const spec = { game, params: {}, bins };
for (const keepBest of [false, true, false, true]) {
  const ex = new InlineExecutor();
  const t0 = performance.now();
  await solve(spec, problem, ex, { algorithm: 'fp', iterations, keepBest });
  const perIteration = (performance.now() - t0) / iterations;
  let copy = NaN;
  if (keepBest) {
    const t1 = performance.now();
    for (let i = 0; i < 20; i++) await ex.saveInput();
    copy = (performance.now() - t1) / 20;
  }
  const bytes = ex.heldTables.minorPolicy.byteLength + ex.heldTables.majorPolicy.byteLength;
  await ex.close();
  console.log(JSON.stringify({ game, bins, keepBest, msPerIteration: +perIteration.toFixed(2), msPerCopy: +copy.toFixed(3), policyMiB: +(bytes / 2 ** 20).toFixed(1) }));
}
