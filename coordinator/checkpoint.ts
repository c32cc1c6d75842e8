// Checkpoints: the solver state between two iterations, written atomically (temporary file, fsync, rename)
// as DIR/checkpoint.bin in the policy-file format with a `checkpoint` header section (next iteration,
// algorithm, target iterations, m3fg version, the curve so far). The state at the start of iteration n is
// exactly (n, average policies, curve[0..n)), so a resumed run repeats the remaining iterations bit for bit.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Problem } from '../shared/problem.ts';
import type { SolverTables } from '../shared/tables.ts';
import { encodePolicies, readPolicies, writeFileAtomic, type PolicyHeader } from './results.ts';
import type { CurvePoint, ResumeState } from './solver.ts';

export const M3FG_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function checkpointPath(dir: string): string {
  return join(dir, 'checkpoint.bin');
}

export interface CheckpointIdentity {
  game: string;
  params: Record<string, number>;
  bins: number;
  algorithm: string;
  iterations: number;
}

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
      minorPolicy: tables.minorPolicy,
      majorPolicy: tables.majorPolicy,
    },
  };
}

/** Refuses a checkpoint whose game, parameters, grid or algorithm differ from the run being resumed. */
export function checkCompatible(header: LoadedCheckpoint['header'], want: CheckpointIdentity, problem: Problem): void {
  const have = `game '${header.game}', M = ${header.bins}, algorithm ${header.checkpoint.algorithm}`;
  const asked = `game '${want.game}', M = ${want.bins}, algorithm ${want.algorithm}`;
  if (header.game !== want.game || header.bins !== want.bins || header.checkpoint.algorithm !== want.algorithm) {
    throw new CheckpointError(`--resume: the checkpoint is for ${have}, not ${asked}`);
  }
  const keys = new Set([...Object.keys(header.params), ...Object.keys(want.params)]);
  for (const k of keys) {
    if (!Object.is(header.params[k], want.params[k])) {
      throw new CheckpointError(`--resume: the checkpoint has ${k} = ${header.params[k]}, the run asks for ${want.params[k]}`);
    }
  }
  const s = header.sizes;
  const g = problem.game;
  if (s.T !== g.T || s.nX !== g.nX || s.nU !== g.nU || s.nX0 !== g.nX0 || s.nU0 !== g.nU0 || s.cells !== problem.cells) {
    throw new CheckpointError(`--resume: the checkpoint's table sizes do not match this problem`);
  }
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}
