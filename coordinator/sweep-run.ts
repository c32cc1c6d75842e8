// Running a planned sweep (coordinator/sweep.ts) on a job backend and recording it: DIR/sweep.json (every
// configuration, its status, seconds and final numbers; rewritten after every finished run, so an interrupted
// sweep leaves an accurate one) and the combined report (coordinator/sweep-report.ts).

import { join } from 'node:path';
import type { Logger } from 'pino';
import { ensureDir, writeFileAtomic } from './results.ts';
import { LocalBackend } from './jobs/pool.ts';
import { fmtSeconds } from './jobs/progress.ts';
import { assignThreads, chainPrefixes, solveDir, type FinalNumbers } from './jobs/spec.ts';
import { runStudy, StudyError, type JobBackend, type JobRecord } from './jobs/study.ts';
import { writeSweepReport } from './sweep-report.ts';
import type { SweepPlan } from './sweep.ts';

export interface SweepOptions {
  out: string;
  threads: number;
  logger: Logger;
  backend?: JobBackend;
  print?: (line: string) => void;
  bar?: boolean;
  /** Write DIR/report (default true). */
  report?: boolean;
  /** One run at a time, each on every thread (the baseline to measure the side-by-side schedule against). */
  sequential?: boolean;
  /** Print only the final line (runs ran, reused, failed; wall time). */
  quiet?: boolean;
}

export interface SweepEntry {
  key: string;
  hash: string;
  /** Relative to DIR. */
  dir: string;
  /** The configuration's value of every swept setting. */
  config: Record<string, string>;
  status: JobRecord['status'] | 'pending';
  seconds: number;
  final?: FinalNumbers;
  /** The cluster node that computed it (`--nats`). */
  node?: string;
  error?: string;
}

export interface SweepSummary {
  out: string;
  axes: Array<{ name: string; values: string[] }>;
  configurations: SweepEntry[];
  ran: number;
  reused: number;
  failed: number;
  wallSeconds: number;
  report?: string;
}

export async function runSweep(plan: SweepPlan, options: SweepOptions): Promise<SweepSummary> {
  const started = performance.now();
  const root = options.out;
  const final = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const print = options.quiet ? () => {} : final;
  ensureDir(root);
  const jobs = plan.configs.map((c) => c.job);
  const backend = options.backend ?? new LocalBackend({ threads: options.threads, logger: options.logger });
  if (backend.name === 'local') chainPrefixes(jobs); // --iterations 200,1000: the 1000 continue the 200
  assignThreads(jobs, options.threads, options.sequential);
  const entries: SweepEntry[] = plan.configs.map((c) => ({
    key: c.job.key, hash: c.job.hash, dir: join('runs', c.job.key), config: c.point, status: 'pending', seconds: 0,
  }));
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const summary = (): SweepSummary => ({
    out: root,
    axes: plan.axes.map((a) => ({ name: a.name, values: a.values })),
    configurations: entries,
    ran: entries.filter((e) => e.status === 'ran').length,
    reused: entries.filter((e) => e.status === 'reused').length,
    failed: entries.filter((e) => e.status === 'failed').length,
    wallSeconds: (performance.now() - started) / 1000,
  });
  const record = (r: JobRecord) => {
    Object.assign(byKey.get(r.job.key)!, { status: r.status, seconds: r.seconds, final: r.outcome?.final, node: r.outcome?.node, error: r.error });
    writeFileAtomic(join(root, 'sweep.json'), JSON.stringify(summary(), null, 1));
  };
  const where = backend.name === 'local' ? `${options.threads} thread${options.threads === 1 ? '' : 's'}${options.sequential ? ', one at a time' : ''}` : backend.name;
  print(`sweep: ${jobs.length} configuration${jobs.length === 1 ? '' : 's'} on ${where}, results in ${root}`);
  let records: JobRecord[];
  try {
    records = await runStudy(jobs, { root, backend, print, bar: options.bar, label: 'sweep', onDone: record, slots: backend.name === 'local' ? options.threads : undefined });
  } finally {
    await backend.close();
  }
  let report: string | undefined;
  const finished = records.filter((r) => r.outcome?.final);
  if (options.report !== false && finished.length > 0) {
    print('report ...');
    const points = plan.configs.map((c) => ({ point: c.point, final: byKey.get(c.job.key)!.final }));
    report = (await writeSweepReport(root, plan.axes, points, finished.map((r) => solveDir(root, r.job.key)))).html;
  }
  const result = { ...summary(), report };
  writeFileAtomic(join(root, 'sweep.json'), JSON.stringify(result, null, 1));
  final(`${result.ran} ran, ${result.reused} reused${result.failed ? `, ${result.failed} failed` : ''}; total wall time ${fmtSeconds(result.wallSeconds)}`);
  if (report) print(`sweep.json: ${join(root, 'sweep.json')}; report: ${report}`);
  const failed = records.filter((r) => r.status === 'failed' || r.status === 'skipped');
  if (failed.length > 0) throw new StudyError(failed);
  return result;
}
