// What a report is made from: the runs found under a directory, each read from its results files.
//
// A run directory holds curve.json and run.json (and policies.bin for the heatmaps); a run still in progress
// holds only checkpoint.bin (the current policies) and checkpoint.curve (the curve so far). The policy tables
// are read (and checked) only when a chart uses them: the heatmaps of two-state games.
// `m3fg report DIR` accepts a run directory or a folder with run directories below it (any depth; the
// folders named `report` that earlier reports wrote are skipped).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { OptionError } from '../../shared/errors.ts';
import type { Exploitability, StartValues } from '../../shared/kernels/exploitability.ts';
import { checkpointPath, readCheckpoint } from '../checkpoint.ts';
import { resultPaths, type PolicyHeader } from '../results.ts';
import { readPolicies, readPolicyHeader } from '../policy-file.ts';
import type { GameLabels } from '../../shared/model.ts';

/**
 * Bad input to a report: a directory without results, or a results file that cannot be read. An OptionError,
 * so that the CLI prints it as one line and exits with status 2.
 */
export class ReportError extends OptionError {
  override name = 'ReportError';
}

export interface ReportCurvePoint {
  iteration: number;
  exploitability: Exploitability;
  value: StartValues;
}

/** An iterate of a run (run.json `result` and `last`): the policies after `iteration` updates. */
export interface RunIterate {
  iteration: number;
  exploitability: Exploitability;
  value: StartValues;
}

/** run.json as the report reads it: every field optional, because older or partial runs lack some. */
export interface RunInfo {
  game?: string;
  params?: Record<string, number>;
  overrides?: Record<string, number>;
  algorithm?: string;
  bins?: number;
  iterations?: number;
  executor?: unknown;
  threads?: number;
  workers?: number;
  nodes?: number;
  sizes?: { nX: number; nU: number; nX0: number; nU0: number; T: number; cells: number; rows?: number };
  seconds?: number;
  secondsPerIteration?: number;
  grid?: string;
  /** 'interpolate' or 'nearest' (absent in runs written before the option: nearest). */
  projection?: string;
  horizon?: string;
  discount?: number;
  softmax?: boolean;
  temperature?: number;
  inner?: number;
  init?: string;
  /** 'best' or 'last' (absent in runs written before --keep: the last iterate). */
  keep?: string;
  /** Why the run stopped: 'target', 'time-limit', 'iterations' or 'stopped'. */
  stopReason?: string;
  /** The written policies: the iterate (the policies after that many updates) and their exploitability. */
  result?: RunIterate;
  /** With --keep best: the last iterate, written to last/. */
  last?: RunIterate;
  [key: string]: unknown;
}

export interface RunPolicies {
  header: PolicyHeader;
  minorPolicy: Float64Array;
  majorPolicy: Float64Array;
  gridPoints: Float64Array;
}

export interface RunData {
  /** The run's name in the report: its path relative to the report directory ('.' for the directory itself). */
  name: string;
  dir: string;
  info: RunInfo;
  curve: ReportCurvePoint[];
  policies?: RunPolicies;
  /** True when the run was read from checkpoint.bin (not finished). */
  inProgress: boolean;
  /** Names of states and actions from the game module (labels.ts), when it has them. */
  labels?: GameLabels;
}

const MAX_DEPTH = 4;

/** The run directories at or below `dir`, sorted by path. Throws ReportError when there are none. */
export function findRunDirs(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ReportError(`${dir}: not a directory`);
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    if (isRunDir(d)) {
      found.push(d);
      return;
    }
    if (depth >= MAX_DEPTH) return;
    const entries = readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'report' && e.name !== 'node_modules' && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    for (const name of entries) walk(join(d, name), depth + 1);
  };
  walk(dir, 0);
  if (found.length === 0) {
    throw new ReportError(`${dir}: no results found (expected curve.json and run.json, or checkpoint.bin, here or in a folder below)`);
  }
  return found;
}

function isRunDir(d: string): boolean {
  return existsSync(resultPaths(d).curve) || existsSync(checkpointPath(d));
}

/** Reads one run directory. */
export function loadRun(dir: string, root: string): RunData {
  const paths = resultPaths(dir);
  const name = relative(root, dir).split(sep).join('/') || '.';
  if (existsSync(paths.curve)) {
    const curve = readJson(paths.curve) as ReportCurvePoint[];
    if (!Array.isArray(curve)) throw new ReportError(`${paths.curve}: expected an array of curve points`);
    const info = existsSync(paths.run) ? (readJson(paths.run) as RunInfo) : {};
    const policies = existsSync(paths.policies) ? loadPolicies(paths.policies) : undefined;
    return { name, dir, info: fillFromHeader(info, policies?.header), curve, policies, inProgress: false };
  }
  const file = checkpointPath(dir);
  let checkpoint;
  try {
    checkpoint = readCheckpoint(dir, 'report');
  } catch (err) {
    throw new ReportError((err as Error).message, { cause: err });
  }
  const policies = loadPolicies(file);
  const cp = checkpoint.header.checkpoint;
  const info = fillFromHeader({ algorithm: cp.algorithm, iterations: cp.iterations }, policies.header);
  return { name, dir, info, curve: checkpoint.saved.curve as ReportCurvePoint[], policies, inProgress: true };
}

/** Every run under `dir`. */
export function loadRuns(dir: string): RunData[] {
  return findRunDirs(dir).map((d) => loadRun(d, dir));
}

/** The header now (checked); the tables on first use, read and checked then (only the heatmaps use them). */
function loadPolicies(path: string): RunPolicies {
  const read = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw new ReportError((err as Error).message, { cause: err });
    }
  };
  const header = read(() => readPolicyHeader(path));
  let tables: Record<string, Float64Array> | undefined;
  const table = (name: string) => (tables ??= read(() => readPolicies(path).tables))[name];
  return {
    header,
    get minorPolicy() {
      return table('minorPolicy');
    },
    get majorPolicy() {
      return table('majorPolicy');
    },
    get gridPoints() {
      return table('gridPoints');
    },
  };
}

function fillFromHeader(info: RunInfo, header: PolicyHeader | undefined): RunInfo {
  if (!header) return info;
  return {
    ...info,
    game: info.game ?? header.game,
    params: info.params ?? header.params,
    bins: info.bins ?? header.bins,
    sizes: info.sizes ?? header.sizes,
  };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ReportError(`${path}: ${(err as Error).message}`, { cause: err });
  }
}
