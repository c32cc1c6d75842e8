// Checkpoints: the solver state between two iterations, in two files of DIR:
//   checkpoint.bin    the policy file format (policy-file.ts) with a `checkpoint` header section (next
//                     iteration, algorithm, target iterations, m3fg version, the run's identity, how many
//                     curve rows belong to it and their xxh64); for OMD also the accumulators minorY, majorY.
//                     Written atomically (temporary file, fsync, rename).
//   checkpoint.curve  the curve so far, 8 float64 per iteration (npy.ts CURVE_COLUMNS), appended to: a
//                     checkpoint costs time proportional to the tables, not to the iterations so far.
//                     Rows past the checkpoint's count (a kill between the append and the rename) are ignored.
// The state at the start of iteration n is exactly (n, policies, accumulators, curve[0..n)), so a resumed run
// repeats the remaining iterations bit for bit. Anything damaged is refused with one line naming the file.

import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Problem } from '../shared/problem.ts';
import type { PolicySources } from '../shared/table-source.ts';
import { ALGORITHMS, type RunIdentity } from './options.ts';
import { hasher, hex64, openPolicyFile, PolicyFileError, writePolicyFile, type PolicyHeader } from './policy-file.ts';
import { policyHeader, policyTables, writeFileAtomic } from './results.ts';
import { writeAll } from './atomic.ts';
import { CURVE_COLUMNS, curveFromMatrix, curveMatrix, type CurveRow } from './npy.ts';
import type { CurvePoint } from './solver.ts';
import { OptionError } from '../shared/errors.ts';

import { M3FG_VERSION } from './version.ts';


const ROW_BYTES = CURVE_COLUMNS.length * 8;

export function checkpointPath(dir: string): string {
  return join(dir, 'checkpoint.bin');
}

export function checkpointCurvePath(dir: string): string {
  return join(dir, 'checkpoint.curve');
}

export type CheckpointIdentity = RunIdentity & { iterations: number; checkpointEvery: number; target?: number; timeLimit?: number };

/** A run's saved state: the solver's ResumeState in the shape of the solver/writers contract. */
export interface SavedState {
  iteration: number;
  curve: CurvePoint[];
  policies: PolicySources;
}

export async function writeCheckpoint(
  dir: string,
  problem: Problem,
  policies: PolicySources,
  id: CheckpointIdentity,
  nextIteration: number,
  curve: CurvePoint[],
): Promise<void> {
  const curveXxh64 = appendCurve(dir, curve, nextIteration);
  const header = policyHeader(problem, policies, { game: id.game, params: id.params, bins: id.bins, grid: id.grid }, {
    iteration: nextIteration,
    algorithm: id.algorithm,
    iterations: id.iterations,
    m3fgVersion: M3FG_VERSION,
    curveRows: nextIteration,
    curveXxh64,
    run: { ...id },
  });
  await writePolicyFile(checkpointPath(dir), header, policyTables(problem, policies));
}

// Per curve file: the rows this process has on disk and the running hash over them.
const curveFiles = new Map<string, { rows: number; hash: ReturnType<typeof hasher.create64> }>();

/** Makes checkpoint.curve hold curve[0..n) (appending when this process wrote its first rows); its xxh64. */
function appendCurve(dir: string, curve: readonly CurveRow[], n: number): string {
  if (curve.length < n) throw new RangeError(`checkpoint: the curve has ${curve.length} points, the checkpoint needs ${n}`);
  const path = checkpointCurvePath(dir);
  const key = resolve(path);
  let state = curveFiles.get(key);
  const size = existsSync(path) ? statSync(path).size : -1;
  if (!state || state.rows > n || size !== state.rows * ROW_BYTES) {
    const bytes = asBytes(curveMatrix(curve.slice(0, n)));
    writeFileAtomic(path, bytes);
    state = { rows: n, hash: hasher.create64().update(bytes) };
    curveFiles.set(key, state);
  } else if (state.rows < n) {
    const bytes = asBytes(curveMatrix(curve.slice(state.rows, n)));
    const fd = openSync(path, 'r+');
    try {
      writeAll(fd, bytes, state.rows * ROW_BYTES);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    state.hash.update(bytes);
    state.rows = n;
  }
  return hex64(state.hash.digest());
}

const asBytes = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export interface LoadedCheckpoint {
  header: PolicyHeader & { checkpoint: NonNullable<PolicyHeader['checkpoint']> };
  saved: SavedState;
}

/**
 * Reads and checks DIR/checkpoint.bin and DIR/checkpoint.curve (every table read once, in constant memory);
 * the saved state's policy sources read the file again. Throws a one-line CheckpointError.
 */
export function readCheckpoint(dir: string, flag = '--resume'): LoadedCheckpoint {
  const path = checkpointPath(dir);
  if (!existsSync(path)) throw new CheckpointError(`${flag}: no checkpoint in ${dir} (expected ${path})`);
  let opened;
  try {
    opened = openPolicyFile(path);
  } catch (err) {
    if (err instanceof PolicyFileError) throw new CheckpointError(`${flag}: ${err.message}`);
    throw err;
  }
  const { header, sources } = opened;
  const fail = (what: string): never => {
    throw new CheckpointError(`${flag}: ${path}: ${what}`);
  };
  const cp = header.checkpoint;
  if (!cp) fail('a policy file, not a checkpoint');
  if (cp!.m3fgVersion !== M3FG_VERSION) fail(`written by m3fg ${String(cp!.m3fgVersion)}; this is m3fg ${M3FG_VERSION}`);
  checkSection(header, fail);
  const omd = cp!.algorithm === 'omd';
  if (omd !== Boolean(sources.minorY)) fail(omd ? 'an OMD checkpoint without its accumulators' : `accumulators in a checkpoint of ${cp!.algorithm}`);
  const curve = readCurve(dir, cp!.curveRows, cp!.curveXxh64, flag);
  return {
    header: header as LoadedCheckpoint['header'],
    saved: {
      iteration: cp!.iteration,
      curve,
      policies: { minorPolicy: sources.minorPolicy, majorPolicy: sources.majorPolicy, ...(omd ? { minorY: sources.minorY, majorY: sources.majorY } : {}) },
    },
  };
}

function checkSection(header: PolicyHeader, fail: (what: string) => never): void {
  const cp = header.checkpoint!;
  const run = cp.run as Partial<CheckpointIdentity>;
  if (!Number.isSafeInteger(cp.iterations) || cp.iterations < 1) fail(`iterations ${String(cp.iterations)} is not a positive integer`);
  if (!Number.isSafeInteger(cp.iteration) || cp.iteration < 1 || cp.iteration > cp.iterations) fail(`iteration ${String(cp.iteration)} outside [1, ${cp.iterations}]`);
  if (!(ALGORITHMS as readonly string[]).includes(cp.algorithm)) fail(`unknown algorithm ${String(cp.algorithm)}`);
  if (cp.curveRows !== cp.iteration) fail(`${String(cp.curveRows)} curve rows for iteration ${cp.iteration}`);
  if (typeof cp.curveXxh64 !== 'string' || !/^[0-9a-f]{16}$/.test(cp.curveXxh64)) fail('no curve checksum');
  if (typeof run !== 'object' || run === null) fail('no run section');
  if (run.game !== header.game || run.bins !== header.bins || run.algorithm !== cp.algorithm || run.iterations !== cp.iterations) {
    fail('the run section disagrees with the header (game, bins, algorithm or iterations)');
  }
  if (!Number.isSafeInteger(run.checkpointEvery) || run.checkpointEvery! < 1) fail(`checkpointEvery ${String(run.checkpointEvery)} is not a positive integer`);
}

function readCurve(dir: string, rows: number, xxh64: string, flag: string): CurvePoint[] {
  const path = checkpointCurvePath(dir);
  const fail = (what: string): never => {
    throw new CheckpointError(`${flag}: ${path}: ${what}`);
  };
  if (!existsSync(path)) fail('missing (the checkpoint needs its curve)');
  const fd = openSync(path, 'r');
  const data = new Float64Array(rows * CURVE_COLUMNS.length);
  const bytes = asBytes(data);
  try {
    const size = fstatSync(fd).size;
    if (size < bytes.length) fail(`truncated: ${size} bytes, the checkpoint needs ${bytes.length}`);
    let done = 0;
    while (done < bytes.length) done += readSync(fd, bytes, done, bytes.length - done, done);
  } finally {
    closeSync(fd);
  }
  if (hex64(hasher.h64Raw(bytes)) !== xxh64) fail('checksum mismatch (the curve is damaged)');
  const curve = curveFromMatrix(data);
  curve.forEach((p, i) => {
    if (p.iteration !== i) fail(`row ${i} is iteration ${p.iteration}`);
    const values = [p.exploitability.major, p.exploitability.minor, p.exploitability.total, ...Object.values(p.value)];
    if (!values.every(Number.isFinite)) fail(`row ${i} holds a value that is not finite`);
  });
  return curve;
}

/**
 * Refuses a resume that asks for another game, grid, algorithm, parameter or variant setting than the
 * checkpoint's. `asked` holds only what the user set explicitly.
 */
export function checkCompatible(saved: CheckpointIdentity, asked: Partial<RunIdentity>): void {
  const describe = (g: string, M: number, a: string) => `game '${g}', M = ${M}, algorithm ${a}`;
  const game = asked.game ?? saved.game;
  const bins = asked.bins ?? saved.bins;
  const algorithm = asked.algorithm ?? saved.algorithm;
  if (game !== saved.game || bins !== saved.bins || algorithm !== saved.algorithm) {
    throw new CheckpointError(`--resume: the checkpoint is for ${describe(saved.game, saved.bins, saved.algorithm)}, not ${describe(game, bins, algorithm)}`);
  }
  for (const [k, v] of Object.entries(asked.params ?? {})) {
    if (!Object.is(saved.params[k], v)) throw new CheckpointError(`--resume: the checkpoint has ${k} = ${saved.params[k]}, the run asks for ${v}`);
  }
  for (const key of ['grid', 'horizon', 'discount', 'tolerance', 'softmax', 'temperature', 'inner', 'init', 'step', 'schedule'] as const) {
    if (asked[key] !== undefined && asked[key] !== saved[key]) {
      throw new CheckpointError(`--resume: the checkpoint has ${key} = ${String(saved[key])}, the run asks for ${String(asked[key])}`);
    }
  }
  const projection = saved.projection ?? 'nearest'; // checkpoints written before the option are nearest
  if (asked.projection !== undefined && asked.projection !== projection) {
    throw new CheckpointError(`--resume: the checkpoint has projection = ${projection}, the run asks for ${asked.projection}`);
  }
}

export class CheckpointError extends OptionError {
  override name = 'CheckpointError';
}
