// The Piscina entry of the local executor: one task = one chunk of a sweep, or one worker's part of a team
// call (it claims blocks of the call's range until none is left), run by the shared/ kernels on the shared
// tables. Thin on purpose: it rebuilds the run's Problem once (cached by run id), makes views of the shared
// buffers, and runs shared/sweep-rows.ts runRange on each range, the same code the calling thread runs on
// its own blocks. Ranges write disjoint rows, so any split gives the bits of one inline call. Protocol:
// shared/sweep-protocol.ts; retry safety: shared/sweep-rows.ts ("Guard"). A failure is rethrown with the task's
// identity; Piscina rejects the caller's promise with it (and, if the thread died, with "worker exited with
// code: N").

import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { isGamePath, resolveGameFamily } from '../shared/game-source.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { schemeKernels } from '../shared/kernels/scheme.ts';
import { restoreRows, runRange, type RangeContext, type RowGuard } from '../shared/sweep-rows.ts';
import { haloPlanAt } from '../shared/cluster-partition.ts';
import { shardOfCell } from '../shared/cluster-messages.ts';
import {
  attachTables,
  describeTask,
  rangeOp,
  rowGuardOf,
  type HaloPlanSlice,
  type InjectedFault,
  type SweepResult,
  type SweepRun,
  type SweepTask,
} from '../shared/sweep-protocol.ts';

export interface Attached extends RangeContext {
  readonly id: string;
  readonly guard: RowGuard;
}

// One run at a time per thread: a new run id replaces the cached one.
let attached: Attached | undefined;

/** The run's Problem and table views, built once per run id per thread (worker/team-worker.ts uses it too). */
export async function attach(run: SweepRun): Promise<Attached> {
  if (attached?.id === run.id) return attached;
  attached = undefined; // let the previous run's Problem go before building the next
  const family = await resolveGameFamily(run.spec.game, importGameModule);
  const problem = new Problem(buildGame(family, run.spec.params), run.spec.bins, run.gridKind, run.projection ?? 'nearest', { cells: run.cells });
  const fingerprint = problem.fingerprint;
  if (fingerprint !== run.fingerprint) {
    throw new Error(`the problem rebuilt from the spec differs from the coordinator's (fingerprint ${fingerprint}, expected ${run.fingerprint})`);
  }
  const tables = attachTables(problem, run.tables, run.tableOptions);
  attached = { id: run.id, problem, tables, kernels: schemeKernels(problem), guard: rowGuardOf(problem, run, tables) };
  return attached;
}

/**
 * import() a game module by path (relative to the working directory). A .ts module needs tsx: its ESM hooks
 * do not reach worker threads on Node 20, while its CommonJS hooks (which loaded this file) do, so fall back
 * to require() when import() does not know the extension.
 */
export async function importGameModule(specifier: string): Promise<Record<string, unknown>> {
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
    const a0 = performance.now();
    const cached = attached?.id === task.run.id;
    const a = await attach(task.run);
    return perform(task, a, cached ? 0 : performance.now() - a0);
  } catch (err) {
    const attempt = task.kind === 'attach' ? '' : `, attempt ${task.attempt}`;
    throw new Error(`thread ${threadId}, ${describeTask(task)}${attempt}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

function perform(task: SweepTask, a: Attached, attachMs: number): SweepResult {
  const t0 = performance.now();
  if (task.kind === 'attach') return { threadId, ms: 0, restoredRows: 0, attachMs, startedAt: clock(t0), endedAt: clock(t0) };
  const inject = task.inject;
  const half = inject?.at === 'mid' ? () => fail(inject) : undefined;
  if (inject?.at === 'start') fail(inject);
  let restoredRows = 0;
  if (task.kind === 'haloPlan') {
    if (inject) fail(inject);
    const plans = haloPlans(a, task);
    const t1 = performance.now();
    return { threadId, ms: t1 - t0, restoredRows, attachMs, startedAt: clock(t0), endedAt: clock(t1), plans };
  }
  if (task.kind === 'flowRows') {
    const { tFrom, tTo, rowFrom, rowTo } = task;
    if (inject) fail(inject);
    for (let t = tFrom; t < tTo; t++) a.kernels.flow(a.tables, t * a.problem.rows + rowFrom, t * a.problem.rows + rowTo);
  } else {
    const op = rangeOp(task);
    const [from, to] = task.kind === 'flow' ? [task.from, task.to] : [task.rowFrom, task.rowTo];
    // a retried update first puts back slice t of the rows an earlier attempt of this dispatch had stamped
    if ((op.kind === 'step' || op.kind === 'update') && task.attempt > 1) restoredRows = restoreRows(a.problem, a.guard, op.t, from, to, op.seq);
    if (task.kind === 'step' && task.ranges) for (let i = 0; i < task.ranges.length; i += 2) runRange(a, op, task.ranges[i], task.ranges[i + 1], half);
    else runRange(a, op, from, to, half);
  }
  const t1 = performance.now();
  return { threadId, ms: t1 - t0, restoredRows, attachMs, startedAt: clock(t0), endedAt: clock(t1) };
}

// a node's rows and the owner of every row, per run and shard cut (the plan tasks of one flow share them)
let shardRows: { key: string; own: Int32Array; owner: Int32Array; mark: Uint8Array; cells: [number, number] } | undefined;

/** The halo plan of a cluster node for t in [tFrom, tTo) (worker/shard-tables.ts flow). */
function haloPlans(a: Attached, task: Extract<SweepTask, { kind: 'haloPlan' }>): HaloPlanSlice[] {
  const { problem, tables } = a;
  const { cells, rows } = problem;
  const key = `${a.id}/${task.shard}/${task.cellBounds.join(',')}`;
  if (shardRows?.key !== key) {
    const [ca, cb] = [task.cellBounds[task.shard], task.cellBounds[task.shard + 1]];
    const own = new Int32Array(problem.game.nX0 * Math.max(0, cb - ca));
    let i = 0;
    for (let x0 = 0; x0 < problem.game.nX0; x0++) for (let c = ca; c < cb; c++) own[i++] = x0 * cells + c;
    const owner = new Int32Array(rows);
    for (let r = 0; r < rows; r++) owner[r] = shardOfCell(task.cellBounds, r % cells);
    shardRows = { key, own, owner, mark: new Uint8Array(rows), cells: [ca, cb] };
  }
  const [next, vertices] = problem.projection === 'interpolate' ? [tables.nextVertex, problem.game.nX] : [tables.nextCell, 1];
  const out: HaloPlanSlice[] = [];
  for (let t = task.tFrom; t < task.tTo; t++) {
    const p = haloPlanAt(problem, next, t, shardRows.own, shardRows.owner, task.shard, shardRows.mark, vertices, shardRows.cells);
    out.push({ from: [...p.from], late: p.late });
  }
  return out;
}

/** A thread's performance.now() on the clock every thread shares. */
function clock(now: number): number {
  return performance.timeOrigin + now;
}

export function fail(fault: InjectedFault): never {
  if (fault.mode === 'exit') process.exit(70);
  if (fault.mode === 'hang') for (;;);
  throw new Error(`injected fault (${fault.at})`);
}
