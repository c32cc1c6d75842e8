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
// trace keeps both.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { InlineExecutor } from './inline-executor.ts';
import { LocalExecutor } from './local-executor.ts';
import { ensureDir, writeFileAtomic } from './results.ts';
import { solve, type SolveOptions, type StopReason } from './solver.ts';
import { writeStudyReport } from './experiment-algorithms-report.ts';

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
}

export interface StudyOptions {
  out: string;
  quick: boolean;
  /** Wall-clock budget per run (default 60 s, quick 2 s). */
  budget?: number;
  /** Iteration cap per run (default 5000, quick 6). */
  iterations?: number;
  threads: number;
  /** Only these games / methods (keys), e.g. to rerun one part. */
  games?: string[];
  methods?: string[];
  logger: Logger;
  print?: (line: string) => void;
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
  const games = (options.quick ? QUICK_GAMES : STUDY_GAMES).filter((g) => !options.games || options.games.includes(g.game));
  const methods = METHODS.filter((m) => (options.methods ? options.methods.includes(m.key) : !options.quick || QUICK_METHODS.includes(m.key)));
  ensureDir(join(options.out, 'runs'));
  const started = new Date();
  print(studyPlan(games.length, methods.length, budget, cap, started));
  const traces: Trace[] = [];
  const runs = games.length * methods.length;
  for (const g of games) {
    const problem = new Problem(buildGame(builtinGames[g.game], g.params), g.bins);
    for (const m of methods) {
      const trace = await runOne(g, problem, m, budget, cap, options.threads, options.logger);
      traces.push(trace);
      writeFileAtomic(join(options.out, 'runs', `${g.game}-${m.key}.json`), JSON.stringify(trace));
      const low = lowest(trace.points);
      const left = runs - traces.length;
      print(
        `[${traces.length}/${runs}] ${g.game} M=${g.bins} ${m.label}: ${trace.points.length} iterations, ${last(trace.points).seconds.toFixed(1)} s (${trace.stopReason}); ` +
          `lowest ${low.total.toPrecision(3)} at iteration ${low.iteration}${left ? `; at most ${minutes(left * budget)} to go` : ''}`,
      );
    }
  }
  const result = await writeStudy(options.out, traces, { budget, cap, threads: options.threads, quick: options.quick });
  print(`report: ${result.report}`);
  return result;
}

/**
 * What the study will do and its length before it starts: every run ends at its budget or its iteration cap,
 * whichever comes first, so runs x budget bounds the time (up to one iteration more per run, and the time to
 * build each game's model, a few seconds).
 */
export function studyPlan(games: number, methods: number, budget: number, cap: number, now: Date): string {
  const runs = games * methods;
  const end = new Date(now.getTime() + runs * budget * 1000);
  return (
    `algorithm study: ${games} game${games === 1 ? '' : 's'} x ${methods} method${methods === 1 ? '' : 's'} = ${runs} runs, ` +
    `each until ${budget} s or ${cap} iterations: at most ${minutes(runs * budget)} ` +
    `(plus up to one iteration per run and building each model; done by about ${end.toISOString().slice(11, 16)} UTC)`
  );
}

function minutes(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  const m = Math.ceil(seconds / 60);
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** study.json, table.md and the report of a set of traces. */
async function writeStudy(out: string, traces: Trace[], run: { budget: number; cap: number; threads: number; quick: boolean }): Promise<StudyResult> {
  const budgets = tableBudgets(run.budget);
  const table = studyTable(traces, budgets);
  ensureDir(out);
  writeFileAtomic(join(out, 'study.json'), JSON.stringify({ ...run, budgets, table, traces }));
  writeFileAtomic(join(out, 'table.md'), tableMarkdown(table, budgets));
  const report = await writeStudyReport(out, traces, table, { budget: run.budget, cap: run.cap, budgets });
  return { traces, table, report };
}

/** One study from the traces of several (e.g. a study split over games run as separate processes). */
export async function mergeStudies(out: string, dirs: readonly string[]): Promise<StudyResult> {
  const studies = dirs.map((d) => JSON.parse(readFileSync(join(d, 'study.json'), 'utf8')) as { budget: number; cap: number; threads: number; quick: boolean; traces: Trace[] });
  const budget = Math.min(...studies.map((s) => s.budget));
  const cap = Math.max(...studies.map((s) => s.cap));
  return writeStudy(out, studies.flatMap((s) => s.traces), { budget, cap, threads: studies[0].threads, quick: studies.some((s) => s.quick) });
}

async function runOne(g: StudyGame, problem: Problem, m: Method, budget: number, cap: number, threads: number, logger: Logger): Promise<Trace> {
  const executor = threads > 1 ? new LocalExecutor({ threads, logger }) : new InlineExecutor();
  const points: TracePoint[] = [];
  const started = performance.now();
  try {
    const result = await solve({ game: g.game, params: g.params, bins: g.bins }, problem, executor, {
      ...m.options,
      iterations: cap,
      timeLimit: budget,
      onIteration: (p) => {
        const { total, major, minor } = p.exploitability;
        points.push({ iteration: p.iteration, seconds: (performance.now() - started) / 1000, total, major, minor });
      },
    });
    return { game: g.game, bins: g.bins, method: m.key, label: m.label, stopReason: result.stopReason, points };
  } finally {
    await executor.close();
  }
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
      lowest: { total: low.total, iteration: low.iteration, seconds: low.seconds }, iterations: t.points.length, seconds: end,
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
