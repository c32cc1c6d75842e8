// The results directory of a solve run:
//   curve.json     array, element i = { iteration, exploitability: {major, minor, total}, value: {...} }
//   policies.bin   the final policy tables in the policy file format (coordinator/policy-file.ts)
//   *.npy          the same tables and the curve for numpy users
//   run.json       settings, problem sizes, the memory estimate, timings, `result`: which iterate the policies
//                  are and their exploitability, and with --keep best `last`
//   last/          with --keep best (the default): the last iterate, policies.bin and result.json
// The result is the best iterate (the lowest total exploitability seen, ties: the earliest) with --keep best,
// the last iterate with --keep last. Iteration i means the policies after i updates (curve[i] is theirs).
// Every file is written atomically (coordinator/atomic.ts); the tables are streamed from TableSources.

import { mkdirSync, rmdirSync } from 'node:fs';
import type { Exploitability, StartValues } from '../shared/kernels/exploitability.ts';
import { join } from 'node:path';
import type { Problem } from '../shared/problem.ts';
import { arraySource, type PolicySources } from '../shared/table-source.ts';
import { writePolicyFile, type CheckpointInfo, type HeaderBase, type TableSpec } from './policy-file.ts';

export { writeFileAtomic } from './atomic.ts';
export { readPolicies, POLICY_MAGIC, type PolicyHeader, type TableEntry, type CheckpointInfo } from './policy-file.ts';

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** The folder of the last iterate (with --keep best) and its files. */
export const LAST_DIR = 'last';
export const LAST_FILES = ['policies.bin', 'result.json'] as const;

/** Which iterate a policies.bin holds and its exploitability (run.json `result` and `last`, last/result.json). */
export interface ResultIterate {
  iteration: number;
  exploitability: Exploitability;
  value: StartValues;
}

/** Removes `dir` when it exists and is empty (a failed run's last/). */
export function removeDirIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // absent or not empty: nothing to do
  }
}

export interface PolicySpec {
  game: string;
  params: Record<string, number>;
  bins: number;
  grid?: string;
}

/** The tables of a policy file: the policies, the grid points they are indexed by and (OMD) the accumulators. */
export function policyTables(problem: Problem, policies: PolicySources): TableSpec[] {
  const { nX, nU, nX0, nU0 } = problem.game;
  const cells = problem.cells;
  // policy slices: the horizon T, or 1 for the stationary policies of an infinite horizon
  const T = policies.minorPolicy.length / (problem.rows * nX * nU);
  const minorShape = [T, nX0, cells, nX, nU];
  const majorShape = [T, nX0, cells, nU0];
  const tables: TableSpec[] = [
    { name: 'minorPolicy', shape: minorShape, axes: ['t', 'x0', 'cell', 'x', 'u'], source: policies.minorPolicy },
    { name: 'majorPolicy', shape: majorShape, axes: ['t', 'x0', 'cell', 'u0'], source: policies.majorPolicy },
    { name: 'gridPoints', shape: [cells, nX], axes: ['cell', 'x'], source: arraySource(problem.grid.points) },
  ];
  if (policies.minorY && policies.majorY && policies.minorY.length > 0) {
    tables.push({ name: 'minorY', shape: minorShape, axes: ['t', 'x0', 'cell', 'x', 'u'], source: policies.minorY });
    tables.push({ name: 'majorY', shape: majorShape, axes: ['t', 'x0', 'cell', 'u0'], source: policies.majorY });
  }
  return tables;
}

export function policyHeader(problem: Problem, policies: PolicySources, spec: PolicySpec, checkpoint?: CheckpointInfo): HeaderBase {
  const { nX, nU, nX0, nU0 } = problem.game;
  const T = policies.minorPolicy.length / (problem.rows * nX * nU);
  return {
    game: spec.game,
    params: spec.params,
    bins: spec.bins,
    ...(spec.grid ? { grid: spec.grid } : {}),
    ...(problem.projection !== 'nearest' ? { projection: problem.projection } : {}),
    sizes: { T, nX, nU, nX0, nU0, cells: problem.cells },
    initialCell: problem.initialCell,
    ...(checkpoint ? { checkpoint } : {}),
  };
}

/** Writes the final policies (streamed from their sources) as a policy file. */
export function writePolicies(path: string, problem: Problem, policies: PolicySources, spec: PolicySpec): Promise<void> {
  const tables = policyTables(problem, { minorPolicy: policies.minorPolicy, majorPolicy: policies.majorPolicy });
  return writePolicyFile(path, policyHeader(problem, policies, spec), tables);
}

export function resultPaths(dir: string) {
  return { curve: join(dir, 'curve.json'), policies: join(dir, 'policies.bin'), run: join(dir, 'run.json') };
}
