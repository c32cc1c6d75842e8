// Checkpoints: the solver state between two iterations, written atomically (temporary file, fsync, rename)
// as DIR/checkpoint.bin in the policy-file format with a `checkpoint` header section (next iteration,
// algorithm, target iterations, m3fg version, the curve so far). The state at the start of iteration n is
// exactly (n, average policies, curve[0..n)), so a resumed run repeats the remaining iterations bit for bit.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptionError } from '../shared/errors.ts';
import type { Problem } from '../shared/problem.ts';
import type { SolverTables } from '../shared/tables.ts';
import { encodePolicies, readPolicies, writeFileAtomic, type PolicyHeader } from './results.ts';
import type { CurvePoint, ResumeState } from './solver.ts';
import { arraySource } from '../shared/table-source.ts';
import type { RunIdentity } from './options.ts';

export const M3FG_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function checkpointPath(dir: string): string {
  return join(dir, 'checkpoint.bin');
}

export type CheckpointIdentity = RunIdentity & { iterations: number; checkpointEvery: number; target?: number; timeLimit?: number };

export function writeCheckpoint(
  dir: string,
  problem: Problem,
  tables: Pick<SolverTables, 'minorPolicy' | 'majorPolicy'>,
  id: CheckpointIdentity,
  nextIteration: number,
  curve: CurvePoint[],
): void {
  const bytes = encodePolicies(problem, tables, { game: id.game, params: id.params, bins: id.bins }, {
    iteration: nextIteration,
    algorithm: id.algorithm,
    iterations: id.iterations,
    m3fgVersion: M3FG_VERSION,
    curve: curve.slice(0, nextIteration),
    run: { ...id },
  });
  writeFileAtomic(checkpointPath(dir), bytes);
}

export interface LoadedCheckpoint {
  header: PolicyHeader & { checkpoint: NonNullable<PolicyHeader['checkpoint']> };
  resume: ResumeState;
}

/** Reads DIR/checkpoint.bin; throws a one-line Error when it is missing, damaged or from another version. */
export function readCheckpoint(dir: string): LoadedCheckpoint {
  const path = checkpointPath(dir);
  if (!existsSync(path)) throw new CheckpointError(`--resume: no checkpoint in ${dir} (expected ${path})`);
  let parsed;
  try {
    parsed = readPolicies(path);
  } catch (err) {
    throw new CheckpointError(`--resume: ${path} is not a readable m3fg checkpoint (${(err as Error).message})`);
  }
  const { header, tables } = parsed;
  const cp = header.checkpoint;
  if (!cp) throw new CheckpointError(`--resume: ${path} is a policy file, not a checkpoint`);
  if (cp.m3fgVersion !== M3FG_VERSION) {
    throw new CheckpointError(`--resume: ${path} was written by m3fg ${cp.m3fgVersion}; this is m3fg ${M3FG_VERSION}`);
  }
  return {
    header: header as LoadedCheckpoint['header'],
    resume: {
      iteration: cp.iteration,
      curve: cp.curve as CurvePoint[],
      policies: { minorPolicy: arraySource(tables.minorPolicy), majorPolicy: arraySource(tables.majorPolicy) },
    },
  };
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
}

export class CheckpointError extends OptionError {
  override name = 'CheckpointError';
}
