// The peak RSS of one inline FP iteration (no results written): what a cluster node's peak RSS is compared
// with (docs/cluster.md, "Memory").   npx tsx bench/inline-rss.ts [game] [bins]   (default cyber 120)
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';

const [game = 'cyber', binsArg = '120'] = process.argv.slice(2);
const bins = Number(binsArg);
const problem = new Problem(buildGame(builtinGames[game], {}), bins);
await solve({ game, params: {}, bins }, problem, new InlineExecutor(), { algorithm: 'fp', iterations: 1 });
console.log(`inline ${game} M=${bins}, 1 FP iteration: peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
