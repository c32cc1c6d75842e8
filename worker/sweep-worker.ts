// The Piscina entry of the local executor: one task = one chunk of a sweep, run by the shared/ kernels on the
// shared tables. Thin on purpose: it rebuilds the run's Problem once (cached by run id), makes views of the
// shared buffers, and calls on the task's range what the inline executor calls on all rows: flowRange,
// backwardRange, updateRange, or backwardRange then updateRange (a step). Chunks write
// disjoint rows, so any split gives the bits of one inline call. Protocol and retry safety:
// ./sweep-protocol.ts. A failure is rethrown with the task's identity; Piscina rejects the caller's promise
// with it (and, if the thread died, with "worker exited with code: N").

import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { isGamePath, resolveGameFamily } from '../shared/game-source.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import type { SolverTables } from '../shared/tables.ts';
import { backwardRange, backwardScratch, type BackwardScratch } from '../shared/kernels/backward.ts';
import { flowRange } from '../shared/kernels/flow.ts';
import { ruleNeedsQ, updateRange } from '../shared/kernels/update.ts';
import {
  attachTables,
  describeTask,
  problemFingerprint,
  updatedSliceWidths,
  type InjectedFault,
  type SweepResult,
  type SweepRun,
  type SweepTask,
} from './sweep-protocol.ts';

interface Attached {
  readonly id: string;
  readonly problem: Problem;
  readonly tables: SolverTables;
  readonly scratch: BackwardScratch;
  /** Each updated table with its width per (t, row) and its one-slice backup. */
  readonly slices: ReadonlyArray<{ table: Float64Array; width: number; backup: Float64Array }>;
  readonly marks: Int32Array;
}

// One run at a time per thread: a new run id replaces the cached one.
let attached: Attached | undefined;

async function attach(run: SweepRun): Promise<Attached> {
  if (attached?.id === run.id) return attached;
  attached = undefined; // let the previous run's Problem go before building the next
  const family = await resolveGameFamily(run.spec.game, importGameModule);
  const problem = new Problem(buildGame(family, run.spec.params), run.spec.bins, run.gridKind);
  const fingerprint = problemFingerprint(problem);
  if (fingerprint !== run.fingerprint) {
    throw new Error(`the problem rebuilt from the spec differs from the coordinator's (fingerprint ${fingerprint}, expected ${run.fingerprint})`);
  }
  const rows = problem.rows;
  const tables = attachTables(problem, run.tables, run.tableOptions);
  const slices = updatedSliceWidths(problem, run.tableOptions).map(([name, width]) => {
    const buf = run.backup.slices[name];
    if (!buf || buf.byteLength < rows * width * 8) throw new Error(`backup of ${name}: missing or too small`);
    return { table: tables[name], width, backup: new Float64Array(buf, 0, rows * width) };
  });
  attached = { id: run.id, problem, tables, scratch: backwardScratch(problem), slices, marks: new Int32Array(run.backup.marks, 0, rows) };
  return attached;
}

/**
 * import() a game module by path (relative to the working directory). A .ts module needs tsx: its ESM hooks
 * do not reach worker threads on Node 20, while its CommonJS hooks (which loaded this file) do, so fall back
 * to require() when import() does not know the extension.
 */
async function importGameModule(specifier: string): Promise<Record<string, unknown>> {
  const path = isGamePath(specifier) ? resolve(specifier) : specifier;
  try {
    return (await import(isGamePath(specifier) ? pathToFileURL(path).href : specifier)) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: string })?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
    return createRequire(pathToFileURL(`${process.cwd()}/`).href)(path) as Record<string, unknown>;
  }
}

export default async function sweep(task: SweepTask): Promise<SweepResult> {
  try {
    return perform(task, await attach(task.run));
  } catch (err) {
    const attempt = task.kind === 'attach' ? '' : `, attempt ${task.attempt}`;
    throw new Error(`thread ${threadId}, ${describeTask(task)}${attempt}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

function perform(task: SweepTask, a: Attached): SweepResult {
  if (task.kind === 'attach') return { threadId, ms: 0, restoredRows: 0 };
  const t0 = performance.now();
  const { problem, tables, scratch } = a;
  const inject = task.inject;
  if (inject?.at === 'start') fail(inject);
  let restoredRows = 0;
  switch (task.kind) {
    case 'flow': {
      const { from, to } = task;
      if (inject?.at === 'mid') {
        flowRange(problem, tables.minorPolicy, tables.nextCell, from, from + ((to - from) >> 1));
        fail(inject);
      }
      flowRange(problem, tables.minorPolicy, tables.nextCell, from, to);
      break;
    }
    case 'flowRows': {
      const { tFrom, tTo, rowFrom, rowTo } = task;
      if (inject) fail(inject);
      for (let t = tFrom; t < tTo; t++) flowRange(problem, tables.minorPolicy, tables.nextCell, t * problem.rows + rowFrom, t * problem.rows + rowTo);
      break;
    }
    case 'backward': {
      const { t, rowFrom, rowTo, options } = task;
      if (inject?.at === 'mid') {
        backwardRange(problem, tables, t, rowFrom, rowFrom + ((rowTo - rowFrom) >> 1), scratch, options);
        fail(inject);
      }
      backwardRange(problem, tables, t, rowFrom, rowTo, scratch, options);
      break;
    }
    case 'update':
      restoredRows = restoreIfRetry(a, task);
      guardedUpdate(a, task);
      break;
    case 'step':
      restoredRows = restoreIfRetry(a, task);
      backwardRange(problem, tables, task.t, task.rowFrom, task.rowTo, scratch, { storeQ: ruleNeedsQ(task.rule) });
      guardedUpdate(a, task);
      break;
  }
  return { threadId, ms: performance.now() - t0, restoredRows };
}

type UpdateTask = Extract<SweepTask, { kind: 'update' | 'step' }>;

/** A retry first puts back slice t of the rows an earlier attempt of this dispatch had stamped. */
function restoreIfRetry({ problem, slices, marks }: Attached, { t, rowFrom, rowTo, seq, attempt }: UpdateTask): number {
  if (attempt === 1) return 0;
  const tr = t * problem.rows;
  let restored = 0;
  for (let r = rowFrom; r < rowTo; r++) {
    if (Atomics.load(marks, r) !== seq) continue;
    for (const { table, width, backup } of slices) table.set(backup.subarray(r * width, (r + 1) * width), (tr + r) * width);
    restored++;
  }
  return restored;
}

/** Backs up slice t of the rows, stamps them, then runs updateRange on them. */
function guardedUpdate({ problem, tables, slices, marks }: Attached, task: UpdateTask): void {
  const { t, rowFrom, rowTo, rule, seq, inject } = task;
  if (rowTo <= rowFrom) return;
  const tr = t * problem.rows;
  for (const { table, width, backup } of slices) backup.set(table.subarray((tr + rowFrom) * width, (tr + rowTo) * width), rowFrom * width);
  // the atomic stores order the backup before the stamps and the stamps before the update
  Atomics.store(marks, rowFrom, seq);
  marks.fill(seq, rowFrom + 1, rowTo);
  Atomics.store(marks, rowTo - 1, seq);
  if (inject?.at === 'mid') {
    updateRange(problem, tables, t, rowFrom, rowFrom + ((rowTo - rowFrom) >> 1), rule);
    fail(inject);
  }
  updateRange(problem, tables, t, rowFrom, rowTo, rule);
}

function fail(fault: InjectedFault): never {
  if (fault.mode === 'exit') process.exit(70);
  throw new Error(`injected fault (${fault.at})`);
}
