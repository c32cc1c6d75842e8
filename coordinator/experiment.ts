// `m3fg experiment paper`: every run the paper's Figures 1-5 (and the appendix's initial-policy ablation)
// need, then one combined report and the figures as PNGs.
//
//   DIR/runs/<key>/        one ordinary solve results directory per configuration (runSolve);
//   DIR/nplayer/<key>.json one N-player check per (solved run, players, episodes, sampler, seed) (runNplayer);
//   DIR/report/            the existing report over every run (`m3fg report DIR`, beside the figures);
//   DIR/figures/           figure1-fpi-<game>.png, figure2-fp-<game>.png, figure3-bins.png, figure4-nplayer.png,
//                          figure5-sis-policy*.png, figure5-sis-trajectory.png, figure6-init.png (+ .svg);
//   DIR/summary.json       every job with 'ran' or 'reused', its seconds, the wall time.
//
// A key is a readable prefix plus a hash of the full configuration (game, all parameters, bins, grid,
// algorithm, iterations, variant settings). A job whose results are complete and whose recorded configuration
// hashes to the same key is reused, not recomputed.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Logger } from 'pino';
import { builtinGames } from '../shared/games/index.ts';
import { makeGrid, Problem } from '../shared/problem.ts';
import { policyCell } from '../shared/policy-cell.ts';
import { schemeTrajectory } from './report/scheme-trajectory.ts';
import { parseSolveFlags, type RawSolveFlags, type SolveSettings } from './options.ts';
import { loadSolved, type NplayerResult } from './nplayer.ts';
import { ensureDir, writeFileAtomic } from './results.ts';
import { CONFIG, OKABE_ITO, SCHEMA, exploitabilityChart, policyHeatmaps, type Chart } from './report/charts.ts';
import { loadRun, type RunData } from './report/data.ts';
import { writeReport } from './report/index.ts';
import { toCsv } from './report/csv.ts';
import { doneOutcome } from './jobs/execute.ts';
import { LocalBackend } from './jobs/pool.ts';
import { fmtSeconds } from './jobs/progress.ts';
import { assignThreads, chainPrefixes, nplayerFile, nplayerJobSpec, solveDir, solveJobSpec, type NplayerJobSpec, type SolveJobSpec } from './jobs/spec.ts';
import { runStudy, StudyError, type JobBackend } from './jobs/study.ts';
import type { CurvePoint } from './solver.ts';

export const PAPER_GAMES = ['sis', 'buffet', 'advertisement'] as const;

export interface SolveJob {
  kind: 'solve';
  key: string;
  /** Which figures use it, for the summary. */
  figures: string[];
  flags: RawSolveFlags;
  settings: SolveSettings;
  hash: string;
  spec: SolveJobSpec;
}

export interface NplayerJob {
  kind: 'nplayer';
  key: string;
  figures: string[];
  from: SolveJob;
  players: number[];
  episodes: number;
  seed: number;
  hash: string;
  spec: NplayerJobSpec;
}

export type Job = SolveJob | NplayerJob;

export interface ExperimentPlan {
  quick: boolean;
  fig1: Record<string, SolveJob>;
  fig2: Record<string, SolveJob>;
  fig3: SolveJob[];
  fig4: NplayerJob[];
  fig5: SolveJob;
  ablation: SolveJob[];
  /** Deduplicated, in running order. */
  jobs: Job[];
  /** Iterations of the Figure 3 runs, per game. */
  fig3Iterations: Record<string, number>;
  trajectoryPlayers: number;
}

export interface ExperimentOptions {
  out: string;
  quick: boolean;
  threads: number;
  logger: Logger;
  /** One line of progress (default: stdout). */
  print?: (line: string) => void;
  /** Where the runs run (default: this machine's threads, LocalBackend). */
  backend?: JobBackend;
  /** A live progress bar on stderr. */
  bar?: boolean;
  /** One job at a time, each on every thread (the baseline to measure the side-by-side schedule against). */
  sequential?: boolean;
  /** Print only the final line (jobs ran and reused; wall time). */
  quiet?: boolean;
}

export interface JobSummary {
  key: string;
  kind: Job['kind'];
  figures: string[];
  status: 'ran' | 'reused';
  /** A solve's iterations; an N-player check's whole run. */
  seconds: number;
  /** The whole job on its thread: settings, model, iterations, writing the results. */
  jobSeconds?: number;
  final?: { exploitability: number; major: number; minor: number };
  /** The cluster node that computed it (`--nats`). */
  node?: string;
}

export interface ExperimentSummary {
  out: string;
  quick: boolean;
  threads: number;
  jobs: JobSummary[];
  ran: number;
  reused: number;
  figures: string[];
  report: string;
  wallSeconds: number;
}

// ----------------------------------------------------------------------------------------------- keys

export { configHash } from './jobs/spec.ts';

function solveJob(root: string, threads: number, flags: RawSolveFlags, figure: string): SolveJob {
  const spec = solveJobSpec(flags);
  const settings = parseSolveFlags({ ...flags, threads: String(threads), out: solveDir(root, spec.key) });
  return { kind: 'solve', key: spec.key, figures: [figure], flags, settings, hash: spec.hash, spec };
}

function nplayerJob(from: SolveJob, players: number[], episodes: number, figure: string): NplayerJob {
  const spec = nplayerJobSpec(from.spec, players, episodes, 1);
  return { kind: 'nplayer', key: spec.key, figures: [figure], from, players, episodes, seed: spec.seed, hash: spec.hash, spec };
}

// ----------------------------------------------------------------------------------------------- plan

/**
 * The runs. Full: Figures 1-2 at M = 120 (FPI 100, FP 1000 iterations); Figure 3 over M = 10..200 with FP 1000
 * for SIS and Advertisement and FP 200 for Buffet (its M = 120 run alone takes ~2.5 min at 1000); Figure 4 from
 * the M = 120 FP runs (N up to 200 with 1000 episodes; Buffet up to 40 with 5000); Figure 5 from the SIS FP run;
 * the ablation: SIS M = 120 FP 200 iterations from first, last and uniform initial policies.
 */
export function planPaper(root: string, quick: boolean, threads: number): ExperimentPlan {
  const M = quick ? 10 : 120;
  const fpi = quick ? 10 : 100;
  const fp = quick ? 20 : 1000;
  const binsList = quick ? [5, 10] : [10, 20, 40, 80, 120, 160, 200];
  const fig3Iterations: Record<string, number> = quick
    ? { sis: fp, buffet: fp, advertisement: fp }
    : { sis: 1000, buffet: 200, advertisement: 1000 };
  const job = (flags: RawSolveFlags, figure: string) => solveJob(root, threads, flags, figure);
  const fig1: Record<string, SolveJob> = {};
  const fig2: Record<string, SolveJob> = {};
  for (const game of PAPER_GAMES) {
    fig1[game] = job({ game, algorithm: 'fpi', bins: String(M), iterations: String(fpi) }, 'figure1');
    fig2[game] = job({ game, algorithm: 'fp', bins: String(M), iterations: String(fp) }, 'figure2');
  }
  const fig3: SolveJob[] = [];
  for (const game of PAPER_GAMES) {
    for (const bins of binsList) fig3.push(job({ game, algorithm: 'fp', bins: String(bins), iterations: String(fig3Iterations[game]) }, 'figure3'));
  }
  const players = quick ? [2, 5, 10] : [2, 5, 10, 20, 50, 100, 200];
  const fig4 = PAPER_GAMES.map((game) =>
    game === 'buffet'
      ? nplayerJob(fig2[game], quick ? [2, 5] : [2, 5, 10, 20, 40], quick ? 100 : 5000, 'figure4')
      : nplayerJob(fig2[game], players, quick ? 100 : 1000, 'figure4'),
  );
  const ablationIterations = quick ? 10 : 200;
  const ablation = (['first', 'last', 'uniform'] as const).map((init) =>
    job({ game: 'sis', algorithm: 'fp', bins: String(M), iterations: String(ablationIterations), init }, 'ablation'),
  );
  // one job per key, figures merged; the expensive Figure 1-2 runs first so Figure 4 can start early
  const byKey = new Map<string, Job>();
  const add = (j: Job) => {
    const seen = byKey.get(j.key);
    if (seen) {
      for (const f of j.figures) if (!seen.figures.includes(f)) seen.figures.push(f);
    } else byKey.set(j.key, j);
  };
  for (const game of PAPER_GAMES) add(fig1[game]);
  for (const game of PAPER_GAMES) add(fig2[game]);
  for (const j of fig3) add(j);
  for (const j of ablation) add(j);
  for (const j of fig4) add(j);
  // the canonical job objects (a Figure 3 job may be the Figure 2 one)
  const canon = <T extends Job>(j: T) => byKey.get(j.key) as T;
  const fig5 = canon(fig2.sis);
  if (!fig5.figures.includes('figure5')) fig5.figures.push('figure5');
  return {
    quick,
    fig1: Object.fromEntries(Object.entries(fig1).map(([g, j]) => [g, canon(j)])),
    fig2: Object.fromEntries(Object.entries(fig2).map(([g, j]) => [g, canon(j)])),
    fig3: fig3.map(canon),
    fig4: fig4.map(canon),
    fig5,
    ablation: ablation.map(canon),
    jobs: [...byKey.values()],
    fig3Iterations,
    trajectoryPlayers: quick ? 100 : 1000,
  };
}

// ----------------------------------------------------------------------------------------------- reuse

function readJson(path: string): any {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True when DIR holds a complete results set of exactly this configuration. */
export function solveDone(job: SolveJob): boolean {
  return doneOutcome(dirname(dirname(job.settings.out)), job.spec) !== undefined;
}

function nplayerPath(root: string, job: NplayerJob): string {
  return nplayerFile(root, job.key);
}

// ----------------------------------------------------------------------------------------------- run

export async function runPaperExperiment(options: ExperimentOptions): Promise<ExperimentSummary> {
  const started = performance.now();
  const final = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const print = options.quiet ? () => {} : final;
  const root = options.out;
  const plan = planPaper(root, options.quick, options.threads);
  ensureDir(join(root, 'nplayer'));
  const specs = plan.jobs.map((j) => j.spec);
  const backend = options.backend ?? new LocalBackend({ threads: options.threads, logger: options.logger });
  if (backend.name === 'local') chainPrefixes(specs); // Buffet M = 120 FP: the 200-iteration run is the 1000's start
  assignThreads(specs, options.threads, options.sequential);
  const where = backend.name === 'local' ? `${options.threads} thread${options.threads === 1 ? '' : 's'}${options.sequential ? ', one job at a time' : ''}` : backend.name;
  print(`experiment paper${options.quick ? ' (quick)' : ''}: ${specs.length} jobs on ${where}, results in ${root}`);
  let records;
  try {
    records = await runStudy(specs, { root, backend, print, bar: options.bar, label: 'experiment paper', slots: backend.name === 'local' ? options.threads : undefined });
  } finally {
    await backend.close();
  }
  const failed = records.filter((r) => r.status === 'failed' || r.status === 'skipped');
  if (failed.length > 0) throw new StudyError(failed);
  const jobs: JobSummary[] = records.map((r, i) => ({
    key: r.job.key,
    kind: r.job.kind,
    figures: plan.jobs[i].figures,
    status: r.status === 'reused' ? 'reused' : 'ran',
    seconds: r.status === 'reused' ? 0 : r.seconds,
    ...(r.status !== 'reused' && r.outcome?.jobSeconds !== undefined ? { jobSeconds: r.outcome.jobSeconds } : {}),
    ...(r.outcome?.final ? { final: { exploitability: r.outcome.final.exploitability, major: r.outcome.final.major, minor: r.outcome.final.minor } } : {}),
    ...(r.outcome?.node ? { node: r.outcome.node } : {}),
  }));

  print('figures and report ...');
  const drawing = performance.now();
  // the report in a process of its own while this one draws the figures: both are CPU-bound rendering
  const figures = await writeFigures(root, plan);
  const report = await writeReport(root, {
    title: `m3fg experiment paper${plan.quick ? ' (quick)' : ''}: the paper's figures`,
    charts: (runs) => paperFigures(root, plan, runs).map(chartOf),
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const summary: ExperimentSummary = {
    out: root,
    quick: options.quick,
    threads: options.threads,
    jobs,
    ran: jobs.filter((j) => j.status === 'ran').length,
    reused: jobs.filter((j) => j.status === 'reused').length,
    figures,
    report: report.html,
    wallSeconds,
  };
  writeFileAtomic(join(root, 'summary.json'), JSON.stringify(summary, null, 1));
  print(`figures: ${join(root, 'figures')} (${figures.length}); report: ${report.html} (${fmtSeconds((performance.now() - drawing) / 1000)})`);
  final(`${summary.ran} jobs ran, ${summary.reused} reused; total wall time ${fmtSeconds(wallSeconds)}`);
  return summary;
}

// ----------------------------------------------------------------------------------------------- figures

interface Figure {
  file: string;
  spec: TopLevelSpec;
  /** The report's heading for the figure, and its caption. */
  section: string;
  caption: string;
}

/**
 * The paper's figures from the experiment's runs, in the paper's order: per game the FPI (Figure 1) and FP
 * (Figure 2) exploitability, the objectives over M (Figure 3), the N-player objectives over N (Figure 4), the
 * SIS policy and one simulated trajectory (Figure 5), and the appendix's initial-policy ablation.
 * `runs` (the report's, with the games' state and action names) is used where given.
 */
function paperFigures(root: string, plan: ExperimentPlan, runs?: RunData[]): Figure[] {
  const load = (job: SolveJob): RunData => {
    const loaded = loadRun(job.settings.out, join(root, 'runs'));
    const known = runs?.find((r) => r.dir === loaded.dir);
    return known ? { ...loaded, labels: known.labels } : loaded;
  };
  const figs: Figure[] = [];
  const f1 = 'Figure 1: fixed-point iteration (FPI), exploitability per game';
  const f2 = 'Figure 2: fictitious play (FP), exploitability per game';
  // one panel per game, three in a row as in the paper: narrow plots, legend below
  const panel = (spec: TopLevelSpec, title: string) => {
    const s = spec as { width?: number; height?: number; encoding?: { color?: object } };
    return { ...s, title, width: 260, height: 180, encoding: { ...s.encoding, color: { ...s.encoding?.color, legend: { orient: 'bottom', direction: 'horizontal' } } } } as TopLevelSpec;
  };
  for (const game of PAPER_GAMES) {
    const c = exploitabilityChart([load(plan.fig1[game])]);
    figs.push({ file: `figure1-fpi-${game}`, spec: panel(c.spec, `${game}, FPI, M = ${plan.fig1[game].settings.bins}`), section: f1, caption: `${game}. ${c.caption} FPI need not converge.` });
  }
  for (const game of PAPER_GAMES) {
    const c = exploitabilityChart([load(plan.fig2[game])]);
    figs.push({ file: `figure2-fp-${game}`, spec: panel(c.spec, `${game}, FP, M = ${plan.fig2[game].settings.bins}`), section: f2, caption: `${game}. ${c.caption}` });
  }
  figs.push({
    file: 'figure3-bins',
    spec: binsFigure(plan.fig3.map(load), plan.fig3Iterations),
    section: 'Figure 3: final exploitability and objectives over the grid bins M',
    caption: 'Per game (rows): the final exploitability and the objectives (the policy values at the initial state) of the major and a minor player, against the bins M of the mean-field grid.',
  });
  const nplayer = plan.fig4.map((j) => readJson(nplayerPath(root, j)) as NplayerResult);
  figs.push({
    file: 'figure4-nplayer',
    spec: nplayerFigure(nplayer),
    section: 'Figure 4: N-player objectives over N',
    caption: 'The objectives of the FP policies played in the finite game with N minor players (mean of the simulated episodes, 95% confidence band), converging to the mean-field prediction (dashed) as N grows.',
  });
  const sisRun = load(plan.fig5);
  const [minor, major] = policyHeatmaps(sisRun);
  const f5 = 'Figure 5: SIS, the FP policy and a simulated trajectory';
  if (minor) figs.push({ file: 'figure5-sis-policy', spec: minor.spec, section: f5, caption: minor.caption });
  if (major) figs.push({ file: 'figure5-sis-policy-major', spec: major.spec, section: f5, caption: major.caption });
  figs.push({
    file: 'figure5-sis-trajectory',
    spec: trajectoryFigure(simulateTrajectory(plan.fig5.settings.out, plan.trajectoryPlayers, 1), plan.trajectoryPlayers),
    section: f5,
    caption: `One episode of the SIS game with N = ${plan.trajectoryPlayers} minor players following the FP policies: the share infected, the share taking precaution and the season.`,
  });
  const ablationRuns = plan.ablation.map((j) => ({ ...load(j), name: `init ${j.settings.init}` }));
  const ablation = exploitabilityChart(ablationRuns);
  figs.push({
    file: 'figure6-init',
    spec: { ...(ablation.spec as object), title: `Initial-policy ablation: SIS FP M = ${plan.ablation[0].settings.bins}` } as TopLevelSpec,
    section: 'Appendix: the initial policy',
    caption: `SIS FP from the initial policies first (one-hot on action 0), last and uniform. ${ablation.caption}`,
  });
  return figs;
}

/** A figure as a report chart: its data (for the CSV) is the spec's inline data. */
function chartOf(f: Figure): Chart {
  const values = (f.spec as { data?: { values?: unknown } }).data?.values;
  return { id: f.file, title: f.section, caption: f.caption, section: f.section, spec: f.spec, rows: Array.isArray(values) ? (values as Array<Record<string, unknown>>) : [] };
}

async function writeFigures(root: string, plan: ExperimentPlan): Promise<string[]> {
  const { renderSvg, svgToPng } = await import('./report/render.ts');
  const figs = paperFigures(root, plan);
  const dir = join(root, 'figures');
  ensureDir(dir);
  const written: string[] = [];
  for (const f of figs) {
    const svg = await renderSvg(f.spec);
    writeFileAtomic(join(dir, `${f.file}.svg`), svg);
    writeFileAtomic(join(dir, `${f.file}.png`), svgToPng(svg));
    writeFileAtomic(join(dir, `${f.file}.csv`), toCsv(chartOf(f).rows));
    written.push(join(dir, `${f.file}.png`));
  }
  return written;
}

/** Figure 3: final exploitability and the objectives (policy values at the start) against M, per game. */
export function binsFigure(runs: RunData[], iterations: Record<string, number>): TopLevelSpec {
  const rows = runs.flatMap((r) => {
    const last = r.curve[r.curve.length - 1];
    const game = `${r.info.game} (FP ${r.info.iterations})`;
    const bins = r.info.bins as number;
    return [
      { game, bins, measure: 'final exploitability', value: last.exploitability.total },
      { game, bins, measure: 'major objective', value: last.value.majorPolicy },
      { game, bins, measure: 'minor objective', value: last.value.minorPolicy },
    ];
  });
  rows.sort((a, b) => a.bins - b.bins);
  const its = [...new Set(Object.values(iterations))].length === 1
    ? `${Object.values(iterations)[0]} FP iterations`
    : Object.entries(iterations).map(([g, k]) => `${g} ${k}`).join(', ') + ' FP iterations';
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: { text: 'Final exploitability and objectives vs grid bins M', subtitle: `after ${its}` },
    data: { values: rows },
    facet: {
      row: { field: 'game', type: 'nominal', title: null },
      column: { field: 'measure', type: 'nominal', title: null, sort: ['final exploitability', 'major objective', 'minor objective'] },
    },
    spec: {
      width: 220,
      height: 150,
      mark: { type: 'line', point: true, strokeWidth: 1.5 },
      encoding: {
        x: { field: 'bins', type: 'quantitative', title: 'grid bins M', scale: { zero: false, padding: 8 }, axis: { format: 'd', tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false, padding: 8 } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** Figure 4: N-player objectives (mean, 95% CI band) vs N, with the mean-field prediction dashed. */
export function nplayerFigure(results: NplayerResult[]): TopLevelSpec {
  const rows = results.flatMap((r) =>
    r.rows.flatMap((row) =>
      (['major', 'minor'] as const).map((p) => ({
        game: r.game,
        bins: r.bins,
        episodes: row.episodes,
        player: `${p} player`,
        N: row.players,
        mean: row[p].mean,
        lo: row[p].lo,
        hi: row[p].hi,
        mf: r.mfPrediction[p],
      })),
    ),
  );
  const ns = rows.map((r) => r.N);
  const x = {
    field: 'N', type: 'quantitative' as const, title: 'minor players N',
    scale: { type: 'log' as const, domain: [Math.min(...ns), Math.max(...ns)], nice: false }, axis: { format: 'd' },
  };
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: {
      text: 'N-player objectives vs the mean-field prediction',
      subtitle: [
        'mean with 95% confidence band; dashed: mean-field prediction',
        results.map((r) => `${r.game}: M = ${r.bins}, ${r.rows[0]?.episodes ?? '?'} episodes per N`).join('; '),
      ],
    },
    data: { values: rows },
    facet: {
      row: { field: 'player', type: 'nominal', title: null, sort: ['major player', 'minor player'] },
      column: { field: 'game', type: 'nominal', title: null },
    },
    spec: {
      width: 220,
      height: 160,
      layer: [
        { mark: { type: 'area', opacity: 0.25, color: OKABE_ITO[0] }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'objective', scale: { zero: false } }, y2: { field: 'hi' } } },
        { mark: { type: 'line', point: true, strokeWidth: 1.5, color: OKABE_ITO[0] }, encoding: { x, y: { field: 'mean', type: 'quantitative' } } },
        { mark: { type: 'line', strokeDash: [6, 4], strokeWidth: 1.5, color: OKABE_ITO[1] }, encoding: { x, y: { field: 'mf', type: 'quantitative' } } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

// ----------------------------------------------------------------------------------------------- trajectory

export interface TrajectoryPoint {
  t: number;
  /** Empirical share of minor players in state 1 (infected, for SIS). */
  mu1: number;
  /** Major state. */
  x0: number;
  /** Share of minor players taking the last action at t. */
  lastAction: number;
  /** The run's scheme: E[mu_t(1)] of its chain given the episode's major path, and its spread (scheme-trajectory.ts). */
  scheme?: { mu1: number; sd1: number };
}

/** splitmix32-style generator: deterministic for a seed, only for this illustration. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return ((z ^ (z >>> 15)) >>> 0) / 4294967296;
  };
}

function draw(p: ArrayLike<number>, off: number, n: number, u: number): number {
  let acc = 0;
  for (let k = 0; k < n - 1; k++) {
    acc += p[off + k];
    if (u < acc) return k;
  }
  return n - 1;
}

/**
 * One simulated episode of N players with a run's final policies (actions at the policy cell of the empirical
 * mean field, shared/policy-cell.ts: the projection, or for interpolated runs one vertex drawn with its weight by
 * one extra uniform per step; kernels at the mean field itself, as shared/episodes.ts), recording the mean field
 * over t, and beside it the mean field the run's scheme predicts along the episode's season path
 * (report/scheme-trajectory.ts).
 */
export function simulateTrajectory(dir: string, players: number, seed: number): TrajectoryPoint[] {
  const solved = loadSolved(dir);
  const { game } = solved;
  const grid = makeGrid(solved.spec.grid ?? 'midpoint', game.nX, solved.spec.bins);
  const projection = solved.spec.projection ?? 'nearest';
  const cell = policyCell(grid, projection);
  const interpolate = projection === 'interpolate';
  const { nX, nU, nX0, nU0, T } = game;
  const cells = grid.cells;
  const rows = nX0 * cells;
  const rng = random(seed);
  const states = new Int32Array(players);
  for (let i = 0; i < players; i++) states[i] = draw(game.mu0, 0, nX, rng());
  let x0 = draw(game.nu0, 0, nX0, rng());
  const mu = new Float64Array(nX);
  const row = new Float64Array(Math.max(nX, nX0));
  const out: TrajectoryPoint[] = [];
  for (let t = 0; t < T; t++) {
    mu.fill(0);
    for (let i = 0; i < players; i++) mu[states[i]] += 1 / players;
    const c = cell.cellAt(mu, 0, interpolate ? rng() : 0);
    const u0 = draw(solved.policies.majorPolicy, (t * rows + x0 * cells + c) * nU0, nU0, rng());
    let last = 0;
    for (let i = 0; i < players; i++) {
      const x = states[i];
      const u = draw(solved.policies.minorPolicy, ((t * rows + x0 * cells + c) * nX + x) * nU, nU, rng());
      if (u === nU - 1) last++;
      game.minorKernel(x, u, x0, u0, mu, row, 0);
      states[i] = draw(row, 0, nX, rng());
    }
    out.push({ t, mu1: mu[1], x0, lastAction: last / players });
    game.majorKernel(x0, u0, mu, row, 0);
    x0 = draw(row, 0, nX0, rng());
  }
  const problem = new Problem(game, solved.spec.bins, solved.spec.grid ?? 'midpoint', projection);
  const predicted = schemeTrajectory(problem, solved.policies.minorPolicy, solved.policies.majorPolicy, out.map((p) => p.x0));
  for (const p of predicted) Object.assign(out[p.t], { scheme: { mu1: p.mu1, sd1: p.sd1 } });
  return out;
}

export function trajectoryFigure(points: TrajectoryPoint[], players: number): TopLevelSpec {
  const rows = points.flatMap((p) => [
    ...(p.scheme ? [{ t: p.t, series: 'μ(I) predicted by the scheme (± 1 sd)', value: p.scheme.mu1, lo: p.scheme.mu1 - p.scheme.sd1, hi: p.scheme.mu1 + p.scheme.sd1 }] : []),
    { t: p.t, series: 'share infected μ(I)', value: p.mu1 },
    { t: p.t, series: 'share taking precaution', value: p.lastAction },
    { t: p.t, series: 'season x0 (0 = L, 1 = H)', value: p.x0 },
  ]);
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: { text: 'SIS: one simulated episode with the FP policies', subtitle: `empirical mean field of the game with N = ${players} minor players over time` },
    width: 560,
    height: 260,
    data: { values: rows },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'time t', scale: { domain: [0, points.length], nice: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'horizontal' } },
    },
    layer: [
      // the scheme's spread over cells (numerical diffusion), a band around its predicted mean field
      { transform: [{ filter: 'isValid(datum.lo)' }], mark: { type: 'area', opacity: 0.2, interpolate: 'step-after' }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
      { mark: { type: 'line', strokeWidth: 1.5, interpolate: 'step-after' }, encoding: { y: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] } } } },
    ],
  } as TopLevelSpec;
}

export function paperGameNames(): string[] {
  return PAPER_GAMES.filter((g) => Object.hasOwn(builtinGames, g));
}
