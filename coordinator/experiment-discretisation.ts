// `m3fg experiment discretisation`: does the finite game confirm each scheme's mean-field prediction?
// For SIS, Advertisement and Buffet, both projections (nearest, the paper's; interpolate) on the same lattice
// grid over M, greedy FP; for every solved run, its mean-field prediction (the discretised values of its
// final policies at the start, in its own scheme) and the N-player objectives of the same policies
// (N = 50, 200, 1000, 5000; the players act on the scheme's policy cell, shared/episodes.ts).
//
//   DIR/runs/<key>/, DIR/nplayer/<key>.json   the study's jobs (coordinator/jobs/: same keys as `experiment
//                                             paper` and `sweep`; a finished job is reused, never recomputed);
//   DIR/table.md, DIR/table.csv               one row per (game, player, M, scheme): the prediction, every N's
//                                             mean and 95% half-width, and whether the prediction lies within
//                                             the interval of the largest N or within 1% of its mean;
//   DIR/figures/discretisation-<game>.png/svg one chart per game (experiment-discretisation-figure.ts);
//   DIR/summary.json                          the settings, every job's status and seconds, the rows.
//
// The comparison holds for any policy (each run's prediction is compared with the finite game played with the
// same policies), so FP need not have converged: the iteration counts only make the policies the paper's kind.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { OptionError } from '../shared/errors.ts';
import type { Projection } from '../shared/policy-cell.ts';
import type { NplayerResult } from './nplayer.ts';
import { ensureDir, writeFileAtomic } from './results.ts';
import { toCsv } from './report/csv.ts';
import { LocalBackend } from './jobs/pool.ts';
import { fmtSeconds } from './jobs/progress.ts';
import { assignThreads, nplayerFile, nplayerJobSpec, solveJobSpec, type JobSpec, type NplayerJobSpec, type SolveJobSpec } from './jobs/spec.ts';
import { runStudy, StudyError, type JobBackend } from './jobs/study.ts';
import { discretisationFigure } from './experiment-discretisation-figure.ts';

export const DISCRETISATION_GAMES = ['sis', 'advertisement', 'buffet'] as const;
export const SCHEMES: readonly Projection[] = ['nearest', 'interpolate'];

export interface DiscretisationSettings {
  games: string[];
  bins: number[];
  players: number[];
  /** FP iterations per game. */
  iterations: Record<string, number>;
  /** Episodes per N, per game. */
  episodes: Record<string, number>;
  seed: number;
}

/**
 * Full: M = 15, 30, 60, 120; FP 1000 iterations for SIS and Advertisement, 300 for Buffet (its 25 major states
 * make a row 12x wider; the and the preview's settings); N = 50, 200, 1000, 5000 with 5000 episodes per
 * N (Buffet 20000: its uniform initial major state spreads the returns ~8x wider). Episodes use the counts
 * sampler, O(1) in N, so the N-player part costs seconds to minutes per run; the solves dominate (all M: 37 min
 * on 2 threads of a loaded 2-core machine). Quick: M = 4, 8; FP 10; N = 50, 200; 200 episodes.
 */
export function discretisationSettings(quick: boolean, overrides: { games?: string[]; bins?: number[]; iterations?: number; episodes?: number } = {}): DiscretisationSettings {
  const games = overrides.games ?? [...DISCRETISATION_GAMES];
  for (const g of games) {
    if (!(DISCRETISATION_GAMES as readonly string[]).includes(g)) throw new OptionError(`--games: unknown game '${g}' (this experiment: ${DISCRETISATION_GAMES.join(', ')})`);
  }
  const per = (full: Record<string, number>, quickValue: number, given?: number) =>
    Object.fromEntries(games.map((g) => [g, given ?? (quick ? quickValue : full[g])]));
  return {
    games,
    bins: overrides.bins ?? (quick ? [4, 8] : [15, 30, 60, 120]),
    players: quick ? [50, 200] : [50, 200, 1000, 5000],
    iterations: per({ sis: 1000, advertisement: 1000, buffet: 300 }, 10, overrides.iterations),
    episodes: per({ sis: 5000, advertisement: 5000, buffet: 20000 }, 200, overrides.episodes),
    seed: 1,
  };
}

export interface DiscretisationRun {
  game: string;
  bins: number;
  scheme: Projection;
  solve: SolveJobSpec;
  nplayer: NplayerJobSpec;
}

export function planDiscretisation(s: DiscretisationSettings): DiscretisationRun[] {
  const runs: DiscretisationRun[] = [];
  for (const game of s.games) {
    for (const bins of s.bins) {
      for (const scheme of SCHEMES) {
        const solve = solveJobSpec({ game, algorithm: 'fp', bins: String(bins), iterations: String(s.iterations[game]), grid: 'lattice', projection: scheme });
        runs.push({ game, bins, scheme, solve, nplayer: nplayerJobSpec(solve, s.players, s.episodes[game], s.seed) });
      }
    }
  }
  return runs;
}

// ----------------------------------------------------------------------------------------------- table

export interface Estimate {
  players: number;
  mean: number;
  halfWidth95: number;
}

export interface DiscretisationRow {
  game: string;
  player: 'major' | 'minor';
  bins: number;
  scheme: Projection;
  prediction: number;
  estimates: Estimate[];
  /** The largest N's estimate minus the prediction. */
  gap: number;
  /** The prediction lies within the largest N's 95% interval, or within 1% of its mean. */
  agrees: boolean;
}

/** The agreement rule of issue #16: inside the 95% interval, or within 1% of the estimate. */
export function agrees(prediction: number, e: Estimate): boolean {
  const d = Math.abs(prediction - e.mean);
  return d <= e.halfWidth95 || d <= 0.01 * Math.abs(e.mean);
}

export function tableRows(runs: DiscretisationRun[], results: NplayerResult[]): DiscretisationRow[] {
  const rows: DiscretisationRow[] = [];
  for (const player of ['major', 'minor'] as const) {
    runs.forEach((run, i) => {
      const r = results[i];
      const estimates = r.rows.map((row) => ({ players: row.players, mean: row[player].mean, halfWidth95: row[player].halfWidth95 }));
      const last = estimates[estimates.length - 1];
      const prediction = r.mfPrediction[player];
      rows.push({ game: run.game, player, bins: run.bins, scheme: run.scheme, prediction, estimates, gap: last.mean - prediction, agrees: agrees(prediction, last) });
    });
  }
  const order = (g: string) => DISCRETISATION_GAMES.indexOf(g as (typeof DISCRETISATION_GAMES)[number]);
  return rows.sort((a, b) => order(a.game) - order(b.game) || a.player.localeCompare(b.player) || a.bins - b.bins || a.scheme.localeCompare(b.scheme));
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(2));

/** The Markdown table: one line per (game, player, M, scheme). */
export function markdownTable(rows: DiscretisationRow[]): string {
  const ns = rows[0]?.estimates.map((e) => e.players) ?? [];
  const head = ['game', 'player', 'M', 'scheme', 'MF prediction', ...ns.map((n) => `N = ${n}`), `gap (N = ${ns[ns.length - 1]})`, 'agrees'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [r.game, r.player, String(r.bins), r.scheme, fmt(r.prediction), ...r.estimates.map((e) => `${fmt(e.mean)} ± ${fmt(e.halfWidth95)}`), fmt(r.gap), r.agrees ? 'yes' : '**no**'];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

function csvRows(rows: DiscretisationRow[]): Array<Record<string, unknown>> {
  return rows.flatMap((r) =>
    r.estimates.map((e) => ({ game: r.game, player: r.player, bins: r.bins, scheme: r.scheme, prediction: r.prediction, players: e.players, mean: e.mean, halfWidth95: e.halfWidth95, agrees: r.agrees })),
  );
}

// ----------------------------------------------------------------------------------------------- run

export interface DiscretisationOptions {
  out: string;
  quick: boolean;
  threads: number;
  logger: Logger;
  games?: string[];
  bins?: number[];
  iterations?: number;
  episodes?: number;
  print?: (line: string) => void;
  backend?: JobBackend;
  bar?: boolean;
}

export interface DiscretisationSummary {
  out: string;
  quick: boolean;
  settings: DiscretisationSettings;
  jobs: Array<{ key: string; kind: JobSpec['kind']; status: 'ran' | 'reused'; seconds: number }>;
  ran: number;
  reused: number;
  rows: DiscretisationRow[];
  figures: string[];
  wallSeconds: number;
}

export async function runDiscretisationExperiment(options: DiscretisationOptions): Promise<DiscretisationSummary> {
  const started = performance.now();
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const root = options.out;
  const settings = discretisationSettings(options.quick, options);
  const runs = planDiscretisation(settings);
  ensureDir(join(root, 'nplayer'));
  const specs: JobSpec[] = runs.flatMap((r) => [r.solve, r.nplayer]);
  assignThreads(specs, options.threads);
  const backend = options.backend ?? new LocalBackend({ threads: options.threads, logger: options.logger });
  print(`experiment discretisation${options.quick ? ' (quick)' : ''}: ${specs.length} jobs, results in ${root}`);
  let records;
  try {
    records = await runStudy(specs, { root, backend, print, bar: options.bar, label: 'experiment discretisation', slots: backend.name === 'local' ? options.threads : undefined });
  } finally {
    await backend.close();
  }
  const failed = records.filter((r) => r.status === 'failed' || r.status === 'skipped');
  if (failed.length > 0) throw new StudyError(failed);
  const results = runs.map((r) => JSON.parse(readFileSync(nplayerFile(root, r.nplayer.key), 'utf8')) as NplayerResult);
  const rows = tableRows(runs, results);
  writeFileAtomic(join(root, 'table.md'), markdownTable(rows));
  writeFileAtomic(join(root, 'table.csv'), toCsv(csvRows(rows)));
  const figures = await writeFigures(root, settings, rows);
  const jobs = records.map((r) => ({ key: r.job.key, kind: r.job.kind, status: r.status === 'reused' ? ('reused' as const) : ('ran' as const), seconds: r.status === 'reused' ? 0 : r.seconds }));
  const summary: DiscretisationSummary = {
    out: root,
    quick: options.quick,
    settings,
    jobs,
    ran: jobs.filter((j) => j.status === 'ran').length,
    reused: jobs.filter((j) => j.status === 'reused').length,
    rows,
    figures,
    wallSeconds: (performance.now() - started) / 1000,
  };
  writeFileAtomic(join(root, 'summary.json'), JSON.stringify(summary, null, 1));
  print(markdownTable(rows));
  print(`table: ${join(root, 'table.md')}; figures: ${join(root, 'figures')}`);
  print(`${summary.ran} jobs ran, ${summary.reused} reused; total wall time ${fmtSeconds(summary.wallSeconds)}`);
  return summary;
}

async function writeFigures(root: string, settings: DiscretisationSettings, rows: DiscretisationRow[]): Promise<string[]> {
  const { renderSvg, svgToPng } = await import('./report/render.ts');
  const dir = join(root, 'figures');
  ensureDir(dir);
  const written: string[] = [];
  for (const game of settings.games) {
    const spec = discretisationFigure(game, rows.filter((r) => r.game === game), settings);
    const svg = await renderSvg(spec);
    const file = join(dir, `discretisation-${game}`);
    writeFileAtomic(`${file}.svg`, svg);
    writeFileAtomic(`${file}.png`, svgToPng(svg));
    written.push(`${file}.png`);
  }
  return written;
}

