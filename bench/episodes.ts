// N-player episodes per second (shared/episodes.ts) on SIS with FP policies (M = 120, 100 iterations), for
// N = 10, 1e3, 1e5, 1e7: the counts sampler and the per-player sampler on one thread, and the counts sampler
// on 2 worker threads (Piscina). The per-player sampler at N = 1e7 (1.5e9 player steps per episode) is skipped
// unless --full, which times a single episode.
// Usage: npm run bench:episodes [-- --quick] [-- --full] [-- --threads T]
// Prints a table; writes bench/results/episodes.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import type { Sampler } from '../shared/episodes.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';
import { collectSource } from '../shared/table-source.ts';
import { InlineEpisodeRunner, PiscinaEpisodeRunner, type EpisodeJob, type EpisodeRunner } from '../coordinator/nplayer.ts';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const full = argv.includes('--full');
const threadsArg = argv.indexOf('--threads');
const poolThreads = threadsArg >= 0 ? Number(argv[threadsArg + 1]) : 2;
const budget = quick ? 0.5 : 3; // seconds per case

const bins = 120;
const game = buildGame(builtinGames.sis);
const problem = new Problem(game, bins);
const t0 = performance.now();
const { policies: solved } = await solve({ game: 'sis', params: {}, bins }, problem, new InlineExecutor(), { algorithm: 'fp', iterations: 100 });
const policies = { minorPolicy: await collectSource(solved.minorPolicy), majorPolicy: await collectSource(solved.majorPolicy) };
console.log(`SIS M=${bins}, FP 100 iterations: ${((performance.now() - t0) / 1000).toFixed(1)} s; T = ${game.T}; node ${process.version}`);

interface Row {
  players: number;
  sampler: Sampler;
  threads: number;
  episodes: number;
  seconds: number;
  episodesPerSecond: number;
  playerStepsPerSecond: number;
  note?: string;
}
const rows: Row[] = [];

async function measure(runner: EpisodeRunner, players: number, sampler: Sampler, maxEpisodes = Infinity): Promise<Row> {
  const job = (episodes: number, seed: number): EpisodeJob => ({
    spec: { game: 'sis', params: {}, bins },
    policies,
    players,
    sampler,
    seed,
    episodes,
  });
  // warm-up (JIT, worker start) for about 0.3 s, doubling the batch; also the first rate estimate
  let rate = 0;
  let w = 0;
  for (let warm = Math.max(runner.threads, 2), spent = 0; spent < 0.3 && warm <= maxEpisodes; warm *= 2) {
    w = performance.now();
    await runner.run(job(warm, 1));
    const s = (performance.now() - w) / 1000;
    spent += s;
    rate = warm / Math.max(1e-3, s);
  }
  if (rate === 0) rate = 1;
  let episodes = 0;
  let seconds = 0;
  let seed = 2;
  while (seconds < budget && episodes < maxEpisodes) {
    const batch = Math.max(runner.threads, Math.min(maxEpisodes - episodes, Math.ceil(rate * Math.min(1, budget - seconds))));
    w = performance.now();
    await runner.run(job(batch, seed++));
    const s = (performance.now() - w) / 1000;
    episodes += batch;
    seconds += s;
    rate = batch / s;
  }
  const episodesPerSecond = episodes / seconds;
  return { players, sampler, threads: runner.threads, episodes, seconds, episodesPerSecond, playerStepsPerSecond: episodesPerSecond * players * game.T };
}

function print(r: Row): void {
  rows.push(r);
  const rate = r.episodesPerSecond >= 100 ? r.episodesPerSecond.toFixed(0) : r.episodesPerSecond.toPrecision(3);
  console.log(
    `N=${String(r.players).padEnd(9)} ${r.sampler.padEnd(8)} ${r.threads} thread${r.threads === 1 ? ' ' : 's'}  ` +
      `${rate.padStart(9)} episodes/s  (${r.episodes} episodes in ${r.seconds.toFixed(2)} s; ${r.playerStepsPerSecond.toExponential(2)} player-steps/s)` +
      (r.note ? `  ${r.note}` : ''),
  );
}

const inline = new InlineEpisodeRunner();
const pool = new PiscinaEpisodeRunner({ threads: poolThreads });
try {
  for (const players of [10, 1e3, 1e5, 1e7]) {
    print(await measure(inline, players, 'counts'));
    if (players <= 1e5) {
      print(await measure(inline, players, 'players'));
    } else if (full) {
      print({ ...(await measure(inline, players, 'players', 1)), note: '(one episode)' });
    } else {
      const perPlayer = rows.find((r) => r.players === 1e5 && r.sampler === 'players');
      const estimate = perPlayer ? (players * game.T) / perPlayer.playerStepsPerSecond : NaN;
      console.log(`N=${String(players).padEnd(9)} players  skipped: about ${estimate.toFixed(0)} s per episode at the N = 1e5 rate (run with --full to time one)`);
    }
    print(await measure(pool, players, 'counts'));
  }
} finally {
  await pool.close();
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/episodes.json',
  JSON.stringify({ date: new Date().toISOString(), node: process.version, game: 'sis', bins, T: game.T, budgetSeconds: budget, rows }, null, 1),
);
