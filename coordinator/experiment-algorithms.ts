// `m3fg experiment algorithms`: which algorithm reaches a low total exploitability fastest. For each game of
// the study and each method, one solve with a wall-clock budget (--time-limit) and an iteration cap, recording
// (iteration, wall seconds, exploitability) after every iteration; then one report (./experiment-algorithms-report.ts).
//
//   DIR/runs/<game>-<method>.json  the trace of one run;
//   DIR/study.json                 every trace and the table (lowest total exploitability within 10 s and 60 s);
//   DIR/report/index.html          a log-scale chart per game (against seconds and against iterations), the table;
//   DIR/figures/algorithms-<game>.png|svg, DIR/table.md.
//
// Wall seconds on a shared machine are noisy; the iterations are exact (the curve is deterministic), so every
// trace keeps both. `--parallel P` runs P runs side by side, each inline on a thread of its own (the seconds
// are then those of one thread with P - 1 other runs beside it); a run stops early once its total is at most
// STOP_BELOW (1e-12: nothing more to learn).

import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { workerExecArgv } from '../runtime/thread-pool.ts';
import { OptionError } from '../shared/errors.ts';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { ensureDir, writeFileAtomic } from './results.ts';
import type { SolveOptions, StopReason } from './solver.ts';
import { studyConditions, writeStudyReport } from './experiment-algorithms-report.ts';
import { runStudyRun, STOP_BELOW, type StudyRun } from './experiment-algorithms-run.ts';

/** A method of the study: an algorithm with its settings. */
export interface Method {
  key: string;
  label: string;
  options: Pick<SolveOptions, 'algorithm' | 'softmax' | 'temperature' | 'inner' | 'step' | 'schedule'>;
}

export const METHODS: readonly Method[] = [
  { key: 'fp', label: 'FP', options: { algorithm: 'fp' } },
  { key: 'fpi', label: 'FPI', options: { algorithm: 'fpi' } },
  { key: 'alternating', label: 'alternating (k = 1)', options: { algorithm: 'alternating', inner: 1 } },
  { key: 'softmax-fp-0.01', label: 'softmax FP τ=0.01', options: { algorithm: 'fp', softmax: true, temperature: 0.01 } },
  { key: 'softmax-fp-0.1', label: 'softmax FP τ=0.1', options: { algorithm: 'fp', softmax: true, temperature: 0.1 } },
  { key: 'omd-0.01', label: 'OMD τ=0.01', options: { algorithm: 'omd', temperature: 0.01 } },
  { key: 'omd-0.1', label: 'OMD τ=0.1', options: { algorithm: 'omd', temperature: 0.1 } },
  { key: 'omd-1', label: 'OMD τ=1', options: { algorithm: 'omd', temperature: 1 } },
  { key: 'omd-sqrt-0.1', label: 'OMD τ=0.1, η=1/√(n+1)', options: { algorithm: 'omd', temperature: 0.1, schedule: 'sqrt' } },
  { key: 'omd-anneal-1', label: 'OMD τ=1/√(n+1)', options: { algorithm: 'omd', temperature: 1, schedule: 'anneal' } },
  { key: 'omd-anneal-0.1', label: 'OMD τ=0.1/√(n+1)', options: { algorithm: 'omd', temperature: 0.1, schedule: 'anneal' } },
  { key: 'damped-0.05', label: 'damped FPI α=0.05', options: { algorithm: 'damped', step: 0.05 } },
  { key: 'damped-0.2', label: 'damped FPI α=0.2', options: { algorithm: 'damped', step: 0.2 } },
  { key: 'damped-adaptive-0.3', label: 'damped FPI, adaptive α ≤ 0.3', options: { algorithm: 'damped', step: 0.3, schedule: 'adaptive' } },
  { key: 'damped-softmax-0.2', label: 'damped softmax FPI α=0.2 τ=0.01', options: { algorithm: 'damped', step: 0.2, softmax: true, temperature: 0.01 } },
];

/** The quick study's methods (a test runs it): one of each kind. */
const QUICK_METHODS = ['fp', 'omd-0.1', 'omd-anneal-1', 'damped-0.2'];

export interface StudyGame {
  game: string;
  bins: number;
  params: Record<string, number>;
}

export const STUDY_GAMES: readonly StudyGame[] = [
  { game: 'sis', bins: 120, params: {} },
  { game: 'buffet', bins: 120, params: {} },
  { game: 'advertisement', bins: 120, params: {} },
  { game: 'cyber', bins: 20, params: {} },
];

const QUICK_GAMES: readonly StudyGame[] = [
  { game: 'sis', bins: 8, params: { T: 10 } },
  { game: 'advertisement', bins: 8, params: { T: 10 } },
];

export interface TracePoint {
  iteration: number;
  /** Wall seconds from the start of the solve to the end of this iteration. */
  seconds: number;
  total: number;
  major: number;
  minor: number;
}

export interface Trace {
  game: string;
  bins: number;
  method: string;
  label: string;
  stopReason: StopReason;
  points: TracePoint[];
}

/** The budgets of the table (seconds): 10 s and 60 s, or the run's own budget where it is shorter. */
export function tableBudgets(budget: number): number[] {
  return [...new Set([10, 60].map((s) => Math.min(s, budget)))];
}

export interface TableRow {
  game: string;
  method: string;
  label: string;
  /** Lowest total exploitability within each budget (undefined when the run did not reach that budget). */
  best: Array<{ seconds: number; total: number; iteration: number } | undefined>;
  /** Lowest over the whole trace, with its iteration. */
  lowest: { total: number; iteration: number; seconds: number };
  iterations: number;
  seconds: number;
  /** Why the run ended ('target': its total fell to STOP_BELOW). */
  stopReason: StopReason;
}

export interface StudyOptions {
  out: string;
  quick: boolean;
  /** Wall-clock budget per run (default 60 s, quick 2 s). */
  budget?: number;
  /** Iteration cap per run (default 5000, quick 6). */
  iterations?: number;
  threads: number;
  /** Runs side by side, each inline on a thread of its own (default 1: one after the other, each on `threads`). */
  parallel?: number;
  /** Only these games / methods (keys), e.g. to rerun one part. */
  games?: string[];
  methods?: string[];
  logger: Logger;
  print?: (line: string) => void;
}

/** How a study ran (study.json, the report's header). */
export interface StudyRunInfo {
  budget: number;
  cap: number;
  threads: number;
  /** Runs side by side, each on one thread (1: one after the other). */
  parallel: number;
  stopBelow: number;
  quick: boolean;
}

export interface StudyResult {
  traces: Trace[];
  table: TableRow[];
  report: string;
}

export async function runAlgorithmsStudy(options: StudyOptions): Promise<StudyResult> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const budget = options.budget ?? (options.quick ? 2 : 60);
  const cap = options.iterations ?? (options.quick ? 6 : 5000);
  const parallel = options.parallel ?? 1;
  if (parallel > 1 && options.threads > 1) throw new OptionError('--parallel: each run is on one thread (leave --threads at 1)');
  const games = (options.quick ? QUICK_GAMES : STUDY_GAMES).filter((g) => !options.games || options.games.includes(g.game));
  const methods = METHODS.filter((m) => (options.methods ? options.methods.includes(m.key) : !options.quick || QUICK_METHODS.includes(m.key)));
  ensureDir(join(options.out, 'runs'));
  print(studyPlan(games.length, methods.length, budget, cap, new Date(), parallel));
  const runs = games.flatMap((game) => methods.map((method): StudyRun => ({ game, method, budget, cap })));
  let done = 0;
  const finished = (trace: Trace) => {
    writeFileAtomic(join(options.out, 'runs', `${trace.game}-${trace.method}.json`), JSON.stringify(trace));
    done++;
    const low = lowest(trace.points);
    const left = Math.ceil((runs.length - done) / parallel);
    const stop = trace.stopReason === 'target' ? `total ≤ ${STOP_BELOW}` : trace.stopReason;
    print(
      `[${done}/${runs.length}] ${trace.game} M=${trace.bins} ${trace.label}: ${trace.points.length} iterations, ${last(trace.points).seconds.toFixed(1)} s (${stop}); ` +
        `lowest ${low.total.toPrecision(3)} at iteration ${low.iteration}${left ? `; at most ${minutes(left * budget)} to go` : ''}`,
    );
  };
  const traces = parallel > 1 ? await runSideBySide(runs, parallel, options.logger, finished) : await runInProcess(runs, options.threads, options.logger, finished);
  const result = await writeStudy(options.out, traces, { budget, cap, threads: options.threads, parallel, stopBelow: STOP_BELOW, quick: options.quick });
  print(`report: ${result.report}`);
  return result;
}

/** One run after the other in this process, each with `threads` threads. */
async function runInProcess(runs: readonly StudyRun[], threads: number, logger: Logger, finished: (t: Trace) => void): Promise<Trace[]> {
  const traces: Trace[] = [];
  let problem: { game: StudyGame; problem: Problem } | undefined;
  for (const run of runs) {
    const g = run.game;
    if (problem?.game !== g) problem = { game: g, problem: new Problem(buildGame(builtinGames[g.game], g.params), g.bins) };
    const trace = await runStudyRun(run, problem.problem, threads, logger);
    traces.push(trace);
    finished(trace);
  }
  return traces;
}

/**
 * `parallel` runs at a time, each inline on a thread of its own (./experiment-algorithms-thread.ts), started in
 * the study's order; the traces come back in that order whatever order the runs finish in.
 */
async function runSideBySide(runs: readonly StudyRun[], parallel: number, logger: Logger, finished: (t: Trace) => void): Promise<Trace[]> {
  const filename = new URL(`./experiment-algorithms-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
  const pool = new Piscina<StudyRun & { logLevel: string }, Trace>({
    filename,
    minThreads: parallel,
    maxThreads: parallel,
    concurrentTasksPerWorker: 1,
    execArgv: workerExecArgv(filename),
  });
  try {
    return await Promise.all(
      runs.map(async (run) => {
        const trace = await pool.run({ ...run, logLevel: logger.level });
        finished(trace);
        return trace;
      }),
    );
  } finally {
    await pool.destroy();
  }
}

/**
 * What the study will do and its length before it starts: every run ends at its budget, its iteration cap or
 * STOP_BELOW, whichever comes first, so ceil(runs / parallel) x budget bounds the time (up to one iteration more per run, and the time to
 * build each game's model, a few seconds).
 */
export function studyPlan(games: number, methods: number, budget: number, cap: number, now: Date, parallel = 1): string {
  const runs = games * methods;
  const seconds = Math.ceil(runs / parallel) * budget;
  const end = new Date(now.getTime() + seconds * 1000);
  return (
    `algorithm study: ${games} game${games === 1 ? '' : 's'} x ${methods} method${methods === 1 ? '' : 's'} = ${runs} runs, ` +
    `each until ${budget} s, ${cap} iterations or a total ≤ ${STOP_BELOW}` +
    `${parallel > 1 ? `, ${parallel} side by side on one thread each` : ''}: at most ${minutes(seconds)} ` +
    `(plus up to one iteration per run and building each model; done by about ${end.toISOString().slice(11, 16)} UTC)`
  );
}

function minutes(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  const m = Math.ceil(seconds / 60);
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** study.json, table.md and the report of a set of traces. */
async function writeStudy(out: string, traces: Trace[], run: StudyRunInfo): Promise<StudyResult> {
  const budgets = tableBudgets(run.budget);
  const table = studyTable(traces, budgets);
  ensureDir(out);
  writeFileAtomic(join(out, 'study.json'), JSON.stringify({ ...run, budgets, table, traces }));
  writeFileAtomic(join(out, 'table.md'), `${studyConditions(run)}\n\n${tableMarkdown(table, budgets)}`);
  const report = await writeStudyReport(out, traces, table, { ...run, budgets });
  return { traces, table, report };
}

/** One study from the traces of several (e.g. a study split over games run as separate processes). */
export async function mergeStudies(out: string, dirs: readonly string[]): Promise<StudyResult> {
  const studies = dirs.map((d) => JSON.parse(readFileSync(join(d, 'study.json'), 'utf8')) as StudyRunInfo & { traces: Trace[] });
  const budget = Math.min(...studies.map((s) => s.budget));
  const cap = Math.max(...studies.map((s) => s.cap));
  // studies written before --parallel ran one run at a time
  const parallel = Math.max(...studies.map((s) => s.parallel ?? 1));
  return writeStudy(out, studies.flatMap((s) => s.traces), { budget, cap, threads: studies[0].threads, parallel, stopBelow: STOP_BELOW, quick: studies.some((s) => s.quick) });
}

function last<T>(a: readonly T[]): T {
  return a[a.length - 1];
}

/** The point with the lowest total exploitability (the first one on ties). */
export function lowest(points: readonly TracePoint[]): TracePoint {
  let best = points[0];
  for (const p of points) if (p.total < best.total) best = p;
  return best;
}

/** Lowest total exploitability within each budget, per (game, method). */
export function studyTable(traces: readonly Trace[], budgets: readonly number[]): TableRow[] {
  return traces.map((t) => {
    const end = last(t.points).seconds;
    const best = budgets.map((s) => {
      // a budget the run did not reach (it stopped earlier on its own cap) still counts what it did;
      // one it was cut short of (time limit below the budget) is unknown
      if (end < s && t.stopReason === 'time-limit') return undefined;
      const within = t.points.filter((p) => p.seconds <= s);
      if (within.length === 0) return undefined;
      const b = lowest(within);
      return { seconds: s, total: b.total, iteration: b.iteration };
    });
    const low = lowest(t.points);
    return {
      game: t.game, method: t.method, label: t.label, best,
      lowest: { total: low.total, iteration: low.iteration, seconds: low.seconds }, iterations: t.points.length, seconds: end, stopReason: t.stopReason,
    };
  });
}

function fmt(v: number | undefined): string {
  return v === undefined ? 'n/a' : v.toPrecision(3);
}

/** The table as Markdown: one row per method, per game the lowest total within 10 s / 60 s. */
export function tableMarkdown(table: readonly TableRow[], budgets: readonly number[]): string {
  const games = [...new Set(table.map((r) => r.game))];
  const methods = [...new Set(table.map((r) => r.method))];
  const head = `| method | ${games.map((g) => `${g} ${budgets.map((s) => `≤${s} s`).join(' / ')}`).join(' | ')} |`;
  const rule = `|---|${games.map(() => '---').join('|')}|`;
  const rows = methods.map((m) => {
    const label = table.find((r) => r.method === m)?.label ?? m;
    const cells = games.map((g) => {
      const r = table.find((x) => x.game === g && x.method === m);
      return r ? r.best.map((b) => fmt(b?.total)).join(' / ') : '';
    });
    return `| ${label} | ${cells.join(' | ')} |`;
  });
  return `${[head, rule, ...rows].join('\n')}\n`;
}
