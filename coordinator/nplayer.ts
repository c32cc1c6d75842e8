// The N-player experiment (the paper's Figure 4): simulate the finite game with the solved policies for several
// numbers of minor players N and compare the mean objectives with the mean-field prediction.
//
//   loadSolved(dir)   policies.bin (+ run.json when present), checked against the rebuilt game and grid;
//   mfPrediction      the discretised values of the saved policies at the start: one evaluation sweep
//                     (shared/policy-value.ts). Not run.json's last curve point, which belongs to the policy
//                     *before* the solver's last update (the saved one is after it);
//   EpisodeRunner     where episodes run: InlineEpisodeRunner on the calling thread, PiscinaEpisodeRunner over
//                     worker threads (worker/episode-worker.ts) in chunks of episode indices;
//   runNplayer        for each N: per-episode returns (index order), their means and 95% intervals.
// Episode k uses the random stream of (seed, k) and its returns land at index k, and the summaries reduce in
// index order, so every number is bitwise identical for any thread count and any split. The same seed serves
// every N (common random numbers across N; each N's interval is valid on its own).

import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { Piscina } from 'piscina';
import { createThreadPool } from '../runtime/thread-pool.ts';
import type { Logger } from 'pino';
import { OptionError } from '../shared/errors.ts';
import { builtinGames } from '../shared/games/index.ts';
import type { GridKind, MeanFieldGrid } from '../shared/grid.ts';
import type { Projection } from '../shared/policy-cell.ts';
import type { GameDefinition } from '../shared/model.ts';
import { makeGrid, Problem } from '../shared/problem.ts';
import { policyStartValues } from '../shared/policy-value.ts';
import { buildGame } from '../shared/validate.ts';
import {
  EpisodeSimulator,
  summarize,
  type EpisodePolicies,
  type EpisodeTask,
  type EpisodeTaskResult,
  type GameSpec,
  type Sampler,
  type Summary,
} from '../shared/episodes.ts';
import { ensureDir, readPolicies, resultPaths, writeFileAtomic, type PolicyHeader } from './results.ts';
import { PolicyFileError } from './policy-file.ts';

// ---------------------------------------------------------------------------------------------------------
// Runners

/** One batch of episodes: episodes 0..episodes-1 of `seed` with `players` minors. */
export interface EpisodeJob {
  readonly spec: GameSpec;
  readonly policies: EpisodePolicies;
  readonly players: number;
  readonly sampler: Sampler;
  readonly seed: number;
  readonly episodes: number;
}

/** Per-episode returns, index k = episode k. */
export interface EpisodeReturns {
  readonly major: Float64Array;
  readonly minor: Float64Array;
}

export interface EpisodeRunner {
  readonly name: string;
  readonly threads: number;
  run(job: EpisodeJob): Promise<EpisodeReturns>;
  close(): Promise<void>;
}

/** Builds game and grid from a spec (cached for repeated jobs of one spec). */
function gameCache(): (spec: GameSpec) => { game: GameDefinition; grid: MeanFieldGrid } {
  let last: { key: string; game: GameDefinition; grid: MeanFieldGrid } | undefined;
  return (spec) => {
    const key = JSON.stringify([spec.game, spec.params, spec.bins, spec.grid ?? 'midpoint']);
    if (last?.key !== key) {
      const family = builtinGames[spec.game];
      if (!family) throw new OptionError(`unknown game '${spec.game}' (built-in: ${Object.keys(builtinGames).join(', ')})`);
      const game = buildGame(family, spec.params);
      last = { key, game, grid: makeGrid(spec.grid ?? 'midpoint', game.nX, spec.bins) };
    }
    return last;
  };
}

/** Every episode on the calling thread. */
export class InlineEpisodeRunner implements EpisodeRunner {
  readonly name = 'inline';
  readonly threads = 1;
  private readonly build = gameCache();

  async run(job: EpisodeJob): Promise<EpisodeReturns> {
    checkJob(job);
    const { game, grid } = this.build(job.spec);
    const sim = new EpisodeSimulator(game, grid, job.policies, job.players, job.sampler, job.spec.projection ?? 'nearest');
    const major = new Float64Array(job.episodes);
    const minor = new Float64Array(job.episodes);
    sim.runRange(job.seed, 0, job.episodes, major, minor);
    return { major, minor };
  }

  async close(): Promise<void> {}
}

export interface PiscinaRunnerOptions {
  readonly threads: number;
  /** Episodes per task; default: about 4 tasks per thread. Changes timing only, never results. */
  readonly chunkSize?: number;
}

/** Episodes in chunks of indices over Piscina worker threads; tables and outputs on SharedArrayBuffers. */
export class PiscinaEpisodeRunner implements EpisodeRunner {
  readonly name = 'piscina';
  readonly threads: number;
  private readonly chunkSize?: number;
  private readonly pool: Piscina<EpisodeTask, EpisodeTaskResult>;
  private readonly shared = new WeakMap<Float64Array, Float64Array>();
  private jobs = 0;
  private readonly id = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

  constructor(options: PiscinaRunnerOptions) {
    if (!Number.isSafeInteger(options.threads) || options.threads < 1) {
      throw new OptionError(`threads: expected a positive integer, got ${options.threads}`);
    }
    if (options.chunkSize !== undefined && (!Number.isSafeInteger(options.chunkSize) || options.chunkSize < 1)) {
      throw new OptionError(`chunkSize: expected a positive integer, got ${options.chunkSize}`);
    }
    this.threads = options.threads;
    this.chunkSize = options.chunkSize;
    this.pool = createThreadPool<EpisodeTask, EpisodeTaskResult>('episode-worker', this.threads);
  }

  async run(job: EpisodeJob): Promise<EpisodeReturns> {
    checkJob(job);
    const n = job.episodes;
    const major = new Float64Array(new SharedArrayBuffer(n * 8));
    const minor = new Float64Array(new SharedArrayBuffer(n * 8));
    const minorPolicy = this.toShared(job.policies.minorPolicy);
    const majorPolicy = this.toShared(job.policies.majorPolicy);
    const jobId = `${this.id}-${++this.jobs}`;
    const chunk = this.chunkSize ?? Math.max(1, Math.ceil(n / (this.threads * 4)));
    const tasks: Array<Promise<EpisodeTaskResult>> = [];
    for (let from = 0; from < n; from += chunk) {
      const task: EpisodeTask = {
        job: jobId,
        spec: job.spec,
        minorPolicy,
        majorPolicy,
        players: job.players,
        sampler: job.sampler,
        seed: job.seed,
        from,
        to: Math.min(n, from + chunk),
        major,
        minor,
      };
      tasks.push(this.pool.run(task));
    }
    // wait for every chunk before reporting a failure, so nothing still writes when the caller sees it
    const settled = await Promise.allSettled(tasks);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return { major, minor };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  /** The table itself when it is on a SharedArrayBuffer, else one shared copy per table (kept for reuse). */
  private toShared(table: Float64Array): Float64Array {
    if (table.buffer instanceof SharedArrayBuffer) return table;
    let copy = this.shared.get(table);
    if (!copy) {
      copy = new Float64Array(new SharedArrayBuffer(table.byteLength));
      copy.set(table);
      this.shared.set(table, copy);
    }
    return copy;
  }
}

function checkJob(job: EpisodeJob): void {
  if (!Number.isSafeInteger(job.episodes) || job.episodes < 1) throw new OptionError(`episodes: expected a positive integer, got ${job.episodes}`);
}

/** Inline for one thread, Piscina otherwise. */
export function createEpisodeRunner(threads: number, chunkSize?: number): EpisodeRunner {
  return threads === 1 ? new InlineEpisodeRunner() : new PiscinaEpisodeRunner({ threads, chunkSize });
}

export function defaultThreads(): number {
  return availableParallelism();
}

// ---------------------------------------------------------------------------------------------------------
// Solved policies and the mean-field prediction

export interface SolvedPolicies {
  readonly dir: string;
  readonly spec: GameSpec;
  readonly game: GameDefinition;
  readonly header: PolicyHeader;
  readonly policies: EpisodePolicies;
  /** run.json's last curve point, when run.json exists: the values of the policy *before* the last update. */
  readonly lastCurvePoint?: unknown;
}

/** Reads DIR/policies.bin (and DIR/run.json when present) and checks them against the rebuilt game. */
export function loadSolved(dir: string): SolvedPolicies {
  const paths = resultPaths(dir);
  if (!existsSync(paths.policies)) throw new OptionError(`--from: no policies.bin in '${dir}' (the results directory of an m3fg solve run)`);
  let header: PolicyHeader;
  let tables: Record<string, Float64Array>;
  try {
    ({ header, tables } = readPolicies(paths.policies));
  } catch (err) {
    // a damaged file's message names the file and what is wrong (policy-file.ts)
    throw new OptionError(err instanceof PolicyFileError ? `--from: ${err.message}` : `--from: cannot read ${paths.policies}: ${(err as Error).message}`, { cause: err });
  }
  const family = builtinGames[header.game];
  if (!family) throw new OptionError(`--from: ${paths.policies} is for unknown game '${header.game}'`);
  // the grid kind and projection, where the run recorded them (older results: the midpoint grid, nearest)
  const gridKind = ((header as { grid?: GridKind }).grid ?? 'midpoint') as GridKind;
  const projection = (header as { projection?: Projection }).projection ?? 'nearest';
  if (projection !== 'nearest' && projection !== 'interpolate') throw new OptionError(`--from: ${paths.policies} names unknown projection '${String(projection)}'`);
  if (projection === 'interpolate' && gridKind !== 'lattice') throw new OptionError(`--from: ${paths.policies} is interpolated on the ${gridKind} grid (interpolate needs the lattice grid)`);
  const spec: GameSpec = { game: header.game, params: header.params ?? {}, bins: header.bins, grid: gridKind, ...(projection === 'interpolate' ? { projection } : {}) };
  let lastCurvePoint: unknown;
  if (existsSync(paths.run)) {
    let run: { game?: string; bins?: number; final?: unknown };
    try {
      run = JSON.parse(readFileSync(paths.run, 'utf8'));
    } catch (err) {
      throw new OptionError(`--from: cannot read ${paths.run}: ${(err as Error).message}`, { cause: err });
    }
    if (run.game !== header.game || run.bins !== header.bins) {
      throw new OptionError(`--from: run.json (${run.game}, M = ${run.bins}) and policies.bin (${header.game}, M = ${header.bins}) disagree`);
    }
    lastCurvePoint = run.final;
  }
  const game = buildGame(family, spec.params);
  let grid: MeanFieldGrid;
  try {
    grid = makeGrid(gridKind, game.nX, spec.bins);
  } catch (err) {
    throw new OptionError(`--from: ${paths.policies}: ${(err as Error).message}`, { cause: err });
  }
  const s = header.sizes;
  if (s.T === 1 && game.T > 1) {
    throw new OptionError(`--from: ${paths.policies} holds stationary (infinite-horizon) policies; nplayer simulates the finite-horizon game only`);
  }
  if (s.T !== game.T || s.nX !== game.nX || s.nU !== game.nU || s.nX0 !== game.nX0 || s.nU0 !== game.nU0 || s.cells !== grid.cells) {
    throw new OptionError(`--from: the sizes in ${paths.policies} do not match the rebuilt game ${header.game} at M = ${header.bins}`);
  }
  const minorPolicy = tables.minorPolicy;
  const majorPolicy = tables.majorPolicy;
  const rows = game.nX0 * grid.cells;
  if (!minorPolicy || minorPolicy.length !== game.T * rows * game.nX * game.nU || !majorPolicy || majorPolicy.length !== game.T * rows * game.nU0) {
    throw new OptionError(`--from: ${paths.policies} lacks policy tables of the expected sizes`);
  }
  // the cells the policies are indexed by must be the rebuilt grid's, to the bit
  const points = tables.gridPoints;
  if (points && (points.length !== grid.points.length || points.some((v, i) => !Object.is(v, grid.points[i])))) {
    throw new OptionError(`--from: the grid points in ${paths.policies} differ from the rebuilt ${gridKind} grid at M = ${spec.bins}`);
  }
  return { dir, spec, game, header, policies: { minorPolicy, majorPolicy }, lastCurvePoint };
}

/** Discretised start values of the saved policies, in the run's own scheme: { major, minor }. */
export function mfPrediction(solved: SolvedPolicies): { major: number; minor: number } {
  const problem = new Problem(solved.game, solved.spec.bins, solved.spec.grid ?? 'midpoint', solved.spec.projection ?? 'nearest');
  const v = policyStartValues(problem, solved.policies.minorPolicy, solved.policies.majorPolicy);
  return { major: v.majorPolicy, minor: v.minorPolicy };
}

// ---------------------------------------------------------------------------------------------------------
// The experiment

export interface NplayerSettings {
  readonly from: string;
  readonly players: readonly number[];
  readonly episodes: number;
  readonly sampler: Sampler;
  readonly seed: number;
  readonly threads: number;
  readonly out: string;
}

export interface Objective extends Summary {
  /** mean - halfWidth95, mean + halfWidth95 */
  lo: number;
  hi: number;
}

export interface NplayerRow {
  players: number;
  episodes: number;
  major: Objective;
  minor: Objective;
  seconds: number;
}

export interface NplayerResult {
  game: string;
  params: Record<string, number>;
  bins: number;
  /** The policy cell the players act on (the run's scheme); absent in results from before interpolation. */
  projection: Projection;
  from: string;
  sampler: Sampler;
  seed: number;
  episodes: number;
  threads: number;
  /** The discretised values of the saved policies at the start (the dashed lines of the paper's Figure 4). */
  mfPrediction: { major: number; minor: number };
  /** run.json's last curve point (values of the policy before the last update), for reference. */
  lastCurvePoint?: unknown;
  rows: NplayerRow[];
  seconds: number;
}

function objective(values: Float64Array): Objective {
  const s = summarize(values);
  return { ...s, lo: s.mean - s.halfWidth95, hi: s.mean + s.halfWidth95 };
}

export async function runNplayer(
  settings: NplayerSettings,
  deps: { logger?: Logger; runner?: EpisodeRunner } = {},
): Promise<NplayerResult> {
  const started = performance.now();
  const solved = loadSolved(settings.from);
  const log = deps.logger?.child({ component: 'nplayer', game: solved.spec.game, bins: solved.spec.bins });
  const prediction = mfPrediction(solved);
  log?.info({ mfPrediction: prediction }, 'mean-field prediction of the saved policies');
  const runner = deps.runner ?? createEpisodeRunner(settings.threads);
  const rows: NplayerRow[] = [];
  try {
    for (const players of settings.players) {
      const t0 = performance.now();
      const returns = await runner.run({
        spec: solved.spec,
        policies: solved.policies,
        players,
        sampler: settings.sampler,
        seed: settings.seed,
        episodes: settings.episodes,
      });
      const row: NplayerRow = {
        players,
        episodes: settings.episodes,
        major: objective(returns.major),
        minor: objective(returns.minor),
        seconds: (performance.now() - t0) / 1000,
      };
      rows.push(row);
      log?.info({ players, major: row.major.mean, minor: row.minor.mean, seconds: row.seconds }, 'players done');
    }
  } finally {
    if (!deps.runner) await runner.close();
  }
  const result: NplayerResult = {
    game: solved.spec.game,
    params: { ...solved.game.params },
    bins: solved.spec.bins,
    projection: solved.spec.projection ?? 'nearest',
    from: settings.from,
    sampler: settings.sampler,
    seed: settings.seed,
    episodes: settings.episodes,
    threads: runner.threads,
    mfPrediction: prediction,
    ...(solved.lastCurvePoint !== undefined ? { lastCurvePoint: solved.lastCurvePoint } : {}),
    rows,
    seconds: (performance.now() - started) / 1000,
  };
  ensureDir(dirname(settings.out));
  writeFileAtomic(settings.out, JSON.stringify(result, null, 1));
  return result;
}

export function defaultOut(from: string): string {
  return join(from, 'nplayer.json');
}

/** The table printed by `m3fg nplayer`. */
export function formatTable(result: NplayerResult): string {
  const f = (v: number) => v.toFixed(3);
  const cell = (o: Objective) => `${f(o.mean)} ± ${f(o.halfWidth95)}`;
  const lines = [
    `${result.game} M=${result.bins}${result.projection === 'interpolate' ? ' interpolated' : ''} (${result.from}): ${result.episodes} episodes per N, ${result.sampler} sampler, ` +
      `seed ${result.seed}, ${result.threads} thread${result.threads === 1 ? '' : 's'}`,
    `mean-field prediction of the saved policies: major ${f(result.mfPrediction.major)}, minor ${f(result.mfPrediction.minor)}`,
  ];
  const header = ['N', 'major (95% CI)', 'MF major', 'minor (95% CI)', 'MF minor', 'seconds'];
  const body = result.rows.map((r) => [
    String(r.players),
    cell(r.major),
    f(result.mfPrediction.major),
    cell(r.minor),
    f(result.mfPrediction.minor),
    r.seconds.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const fmt = (row: string[]) => row.map((c, i) => c.padStart(widths[i])).join('  ');
  lines.push(fmt(header), ...body.map(fmt));
  return lines.join('\n') + '\n';
}
