// The results directory of a solve run:
//   curve.json     array, element i = { iteration, exploitability: {major, minor, total}, value: {...} }
//   policies.bin   the final policy tables in the policy file format (coordinator/policy-file.ts)
//   *.npy          the same tables and the curve for numpy users
//   run.json       settings, problem sizes, the memory estimate, timings
// Every file is written atomically (coordinator/atomic.ts); the tables are streamed from TableSources.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Problem } from '../shared/problem.ts';
import { arraySource, type PolicySources } from '../shared/table-source.ts';
import { writePolicyFile, type CheckpointInfo, type HeaderBase, type TableSpec } from './policy-file.ts';

export { writeFileAtomic } from './atomic.ts';
export { readPolicies, POLICY_MAGIC, type PolicyHeader, type TableEntry, type CheckpointInfo } from './policy-file.ts';

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
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
