// `m3fg sweep`: a parameter study, the cartesian product of comma lists and ranges of solve settings.
//
//   --game sis,advertisement --algorithm fp,omd --bins 20,60 --iterations 200 --param beta=0.4:0.8:0.2
//   --game sis,buffet --algorithm auto --bins 20,60        (auto chooses per game, as `m3fg solve` does)
//   --algorithm damped --schedule adaptive --step 0.2,0.3
//
// Lists: `a,b,c`. Ranges (numeric settings and parameters): `a:b:step`, a, a + step, ... up to b inclusive
// (a descending range takes a negative step). Every configuration is one ordinary results directory
// DIR/runs/<readable-key>-<hash>/ with the key scheme of `m3fg experiment` (coordinator/jobs/spec.ts);
// DIR/sweep.json lists every configuration with its status, seconds and final numbers; DIR/report/ holds the
// combined report (coordinator/sweep-report.ts). Bad input is refused, one line, before anything runs.

import { OptionError } from '../shared/errors.ts';
import { builtinGames } from '../shared/games/index.ts';
import type { GameFamily } from '../shared/model.ts';
import { loadSolveSettings, type RawSolveFlags } from './options.ts';
import { solveJobSpec, type SolveJobSpec } from './jobs/spec.ts';

/** More configurations than this need --yes. */
export const MAX_CONFIGURATIONS = 10_000;
/** A single range longer than this is refused outright (it would not fit in memory as a study). */
const MAX_RANGE_VALUES = 1_000_000;

export interface SweepFlags {
  game?: string;
  algorithm?: string;
  bins?: string;
  iterations?: string;
  grid?: string;
  projection?: string;
  init?: string;
  temperature?: string;
  step?: string;
  schedule?: string;
  inner?: string;
  softmax?: boolean;
  param?: string[];
  yes?: boolean;
}

/** The solve flags a sweep takes as lists, in the order the product is taken (the first varies slowest). */
const SETTINGS = ['game', 'algorithm', 'bins', 'iterations', 'grid', 'projection', 'init', 'temperature', 'step', 'schedule', 'inner'] as const;
const NUMERIC: ReadonlySet<string> = new Set(['bins', 'iterations', 'temperature', 'step', 'inner']);

/** One swept setting: its name in the report ('bins', 'beta', ...) and its values as flag text. */
export interface Axis {
  name: string;
  /** The solve flag it sets; 'param' for a game parameter. */
  flag: (typeof SETTINGS)[number] | 'param';
  values: string[];
  numeric: boolean;
}

export interface SweepConfig {
  job: SolveJobSpec;
  /** The value of every axis, by axis name. */
  point: Record<string, string>;
}

export interface SweepPlan {
  axes: Axis[];
  configs: SweepConfig[];
}

/** `a,b,c` with `a:b:step` ranges where `numeric`; refuses empty items, step 0, a step of the wrong sign. */
export function parseValues(flag: string, text: string, numeric: boolean): string[] {
  if (text.trim() === '') throw new OptionError(`${flag}: empty (expected a comma list${numeric ? ' or a range a:b:step' : ''})`);
  const out: string[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') throw new OptionError(`${flag}: empty item in '${text}'`);
    if (!item.includes(':')) {
      if (numeric && (!Number.isFinite(Number(item)))) throw new OptionError(`${flag}: '${item}' is not a finite number`);
      out.push(item);
      continue;
    }
    if (!numeric) throw new OptionError(`${flag}: '${item}': a range a:b:step is only for numbers`);
    out.push(...parseRange(flag, item));
  }
  return [...new Set(out)];
}

function parseRange(flag: string, item: string): string[] {
  const parts = item.split(':');
  if (parts.length !== 3 || parts.some((p) => p.trim() === '' || !Number.isFinite(Number(p)))) {
    throw new OptionError(`${flag}: range '${item}': expected a:b:step with three finite numbers`);
  }
  const [a, b, step] = parts.map(Number);
  if (step === 0) throw new OptionError(`${flag}: range '${item}': step 0`);
  if (b !== a && Math.sign(b - a) !== Math.sign(step)) {
    throw new OptionError(`${flag}: range '${item}' is empty: step ${step} moves away from ${b} (${b < a ? 'a descending range needs a negative step' : 'use a positive step'})`);
  }
  // a small tolerance so that 0.4:0.8:0.2 includes 0.8 despite 0.4 + 2 * 0.2 = 0.8000000000000002
  const count = Math.floor((b - a) / step + 1e-9) + 1;
  if (count > MAX_RANGE_VALUES) throw new OptionError(`${flag}: range '${item}' has ${count} values (at most ${MAX_RANGE_VALUES})`);
  return Array.from({ length: count }, (_, i) => String(Number((a + i * step).toPrecision(12))));
}

/** The axes of a sweep, in the order the product is taken (the first varies slowest). */
export function parseAxes(flags: SweepFlags): Axis[] {
  const axes: Axis[] = [];
  const add = (flag: Axis['flag'], name: string, text: string | undefined, numeric: boolean) => {
    if (text === undefined) return;
    axes.push({ name, flag, values: parseValues(`--${flag === 'param' ? `param ${name}` : flag}`, text, numeric), numeric });
  };
  for (const flag of SETTINGS) add(flag, flag, flag === 'game' ? (flags.game ?? 'sis') : flags[flag], NUMERIC.has(flag));
  const seen = new Set<string>();
  for (const item of flags.param ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new OptionError(`--param: expected name=values, got '${item}'`);
    const name = item.slice(0, eq).trim();
    if (seen.has(name)) throw new OptionError(`--param ${name}: given twice`);
    seen.add(name);
    if ((SETTINGS as readonly string[]).includes(name)) {
      throw new OptionError(`--param ${name}: '${name}' is a setting, not a game parameter (use --${name})`);
    }
    add('param', name, item.slice(eq + 1), true);
  }
  return axes;
}

export function configurationCount(axes: Axis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1);
}

/**
 * Parses, checks and expands a sweep: every configuration validated (its game, flags, parameter values) before
 * anything runs. Throws OptionError (one line) for bad input.
 */
export async function planSweep(flags: SweepFlags): Promise<SweepPlan> {
  const axes = parseAxes(flags);
  const n = configurationCount(axes);
  if (n > MAX_CONFIGURATIONS && !flags.yes) {
    throw new OptionError(`the sweep has ${n.toLocaleString('en-US')} configurations (more than ${MAX_CONFIGURATIONS.toLocaleString('en-US')}); pass --yes to run them all`);
  }
  // the games first: an unknown game, or a parameter a game lacks, is named before anything else
  const families = new Map<string, { game: string; family: GameFamily }>();
  for (const name of axes[0].values) {
    const { game, family } = await loadSolveSettings({ game: name, threads: '1' });
    families.set(name, { game, family });
  }
  for (const axis of axes.filter((a) => a.flag === 'param')) {
    for (const [game, { family }] of families) {
      if (!Object.hasOwn(family.params, axis.name)) {
        const known = Object.keys(family.params).join(', ');
        throw new OptionError(`--param ${axis.name}: game '${isBuiltin(game) ? game : family.name}' has no parameter '${axis.name}' (its parameters: ${known})`);
      }
    }
  }
  const configs: SweepConfig[] = [];
  const keys = new Set<string>();
  for (const point of product(axes)) {
    // parsed by solve's own parser (solveJobSpec): --algorithm auto resolves per game and parameters here
    const flagsOf: RawSolveFlags = { param: [], ...(flags.softmax ? { softmax: true } : {}) };
    for (const axis of axes) {
      const v = point[axis.name];
      if (axis.flag === 'param') flagsOf.param!.push(`${axis.name}=${v}`);
      else (flagsOf as Record<string, unknown>)[axis.flag] = v;
    }
    const { game, family } = families.get(point.game)!;
    const job = jobOf({ ...flagsOf, game }, family, axes, point);
    if (keys.has(job.key)) continue; // 0.5 and 0.50: one configuration
    keys.add(job.key);
    configs.push({ job, point });
  }
  return { axes, configs };
}

/** solveJobSpec, its refusal naming the configuration when several are swept (`--step` given with fp,damped). */
function jobOf(flags: RawSolveFlags, family: GameFamily, axes: Axis[], point: Record<string, string>): SolveJobSpec {
  try {
    return solveJobSpec(flags, family);
  } catch (err) {
    const swept = axes.filter((a) => a.values.length > 1);
    if (!(err instanceof OptionError) || swept.length === 0) throw err;
    throw new OptionError(`${err.message} (in the configuration ${swept.map((a) => `${a.name}=${point[a.name]}`).join(', ')})`);
  }
}

function isBuiltin(game: string): boolean {
  return Object.hasOwn(builtinGames, game);
}

function* product(axes: Axis[]): Generator<Record<string, string>> {
  const idx = axes.map(() => 0);
  if (axes.some((a) => a.values.length === 0)) return;
  while (true) {
    yield Object.fromEntries(axes.map((a, i) => [a.name, a.values[idx[i]]]));
    let k = axes.length - 1;
    while (k >= 0 && ++idx[k] === axes[k].values.length) idx[k--] = 0;
    if (k < 0) return;
  }
}
