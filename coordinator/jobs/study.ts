// Running a study: many jobs, side by side, on a backend (this machine's threads, or a cluster's nodes
// through a JetStream work queue), each reused when ROOT already holds it. Jobs start largest first (the
// longest-processing-time rule keeps the last jobs short; a job's size counts the jobs waiting for it); an
// N-player job starts once the run it simulates has finished, a run continuing a shorter one once that one has. A failed job does not stop the others; its dependents are skipped.

import { ensureDir } from '../results.ts';
import { join } from 'node:path';
import { doneOutcome } from './execute.ts';
import type { JobOutcome, JobSpec } from './spec.ts';
import { StudyProgress } from './progress.ts';

export interface JobBackend {
  /** 'local' or 'nats'. */
  readonly name: string;
  /**
   * Runs the job (or fetches an earlier result the backend holds) and writes it into ROOT. `rank`: the larger
   * starts first among jobs waiting for threads (default the job's cost).
   */
  run(root: string, job: JobSpec, rank?: number): Promise<JobOutcome & { reused?: boolean }>;
  close(): Promise<void>;
  /** Set when the backend cannot go on (a cluster with no nodes): the study stops and throws it. */
  readonly failure?: Error;
}

export interface JobRecord {
  job: JobSpec;
  status: 'ran' | 'reused' | 'failed' | 'skipped';
  seconds: number;
  outcome?: JobOutcome;
  error?: string;
}

export interface StudyOptions {
  root: string;
  backend: JobBackend;
  /** One line per finished job (and the header); default stdout. */
  print?: (line: string) => void;
  /** A live bar on stderr (terminals). */
  bar?: boolean;
  label: string;
  /** Jobs this backend runs side by side (this machine's threads), for the ETA; unknown on a cluster. */
  slots?: number;
  /** Called with each job's record as it finishes (reused ones first). */
  onDone?: (rec: JobRecord) => void;
}

/**
 * The schedule's summary line on a machine of `slots` threads: the jobs run, inline or on every thread, the
 * busy thread-seconds (each job's whole time on its thread, model and writing included, times its threads)
 * against the threads times the study's wall.
 */
export function scheduleSummary(records: JobRecord[], slots: number, wallSeconds: number): string {
  const ran = records.filter((r) => r.status === 'ran');
  const wide = ran.filter((r) => r.job.threads === 'all' && slots > 1);
  const busy = ran.reduce((a, r) => a + (r.outcome?.jobSeconds ?? r.seconds) * (r.job.threads === 'all' ? slots : 1), 0);
  const use = wallSeconds > 0 ? Math.round((100 * busy) / (slots * wallSeconds)) : 0;
  return (
    `schedule: ${ran.length} run${ran.length === 1 ? '' : 's'} on ${slots} thread${slots === 1 ? '' : 's'} ` +
    `(${ran.length - wide.length} inline, one per thread; ${wide.length} on all ${slots}), ` +
    `busy ${busy.toFixed(1)} thread-s in ${wallSeconds.toFixed(1)} s wall: ${use}% of ${slots} x wall`
  );
}

/**
 * Each job's rank for the longest-first rule: its cost plus the largest rank among the jobs that wait for it
 * (its N-player checks, the longer run continuing it), so that the head of a chain starts as early as its
 * whole chain's length asks.
 */
export function jobRanks(jobs: JobSpec[], dependency: (j: JobSpec) => string | undefined): Map<string, number> {
  const waiting = new Map<string, JobSpec[]>();
  for (const j of jobs) {
    const dep = dependency(j);
    if (dep) waiting.set(dep, [...(waiting.get(dep) ?? []), j]);
  }
  const ranks = new Map<string, number>();
  const rankOf = (j: JobSpec): number => {
    let r = ranks.get(j.key);
    if (r === undefined) {
      r = j.cost + Math.max(0, ...(waiting.get(j.key) ?? []).map(rankOf));
      ranks.set(j.key, r);
    }
    return r;
  };
  for (const j of jobs) rankOf(j);
  return ranks;
}

/** Runs every job; resolves with one record per job, in the order given. */
export async function runStudy(jobs: JobSpec[], options: StudyOptions): Promise<JobRecord[]> {
  const { root, backend } = options;
  const t0 = performance.now();
  ensureDir(join(root, 'runs'));
  const records = new Map<string, JobRecord>();
  const shown = new StudyProgress(jobs, { print: options.print, bar: options.bar, label: options.label, slots: options.slots });
  const progress = {
    started: (job: JobSpec) => shown.started(job),
    done: (rec: JobRecord) => {
      shown.done(rec);
      options.onDone?.(rec);
    },
    stop: () => shown.stop(),
  };
  // reuse first, so that the display and the ETA count only what will run
  for (const job of jobs) {
    const outcome = doneOutcome(root, job);
    if (outcome) {
      const rec: JobRecord = { job, status: 'reused', seconds: 0, outcome };
      records.set(job.key, rec);
      progress.done(rec);
    }
  }
  const dependency = (j: JobSpec) => (j.kind === 'nplayer' ? j.from.key : j.prefix?.key);
  const rank = jobRanks(jobs, dependency);
  const byCost = jobs.filter((j) => !records.has(j.key)).sort((a, b) => rank.get(b.key)! - rank.get(a.key)!);
  const started = new Set<string>();
  let settle: () => void = () => {};
  const running = new Set<Promise<void>>();

  const startReady = () => {
    for (const job of byCost) {
      if (started.has(job.key)) continue;
      const dep = dependency(job);
      const depRec = dep ? records.get(dep) : undefined;
      if (dep && jobs.some((j) => j.key === dep) && !depRec) continue; // wait for it
      started.add(job.key);
      // a run whose prefix failed runs from scratch; an N-player check of a failed run cannot
      if (job.kind === 'nplayer' && depRec && (depRec.status === 'failed' || depRec.status === 'skipped')) {
        const rec: JobRecord = { job, status: 'skipped', seconds: 0, error: `needs ${dep}, which failed` };
        records.set(job.key, rec);
        progress.done(rec);
        continue;
      }
      progress.started(job);
      const p = backend
        .run(root, job, rank.get(job.key))
        .then(
          (outcome): JobRecord => ({ job, status: outcome.reused ? 'reused' : 'ran', seconds: outcome.seconds, outcome }),
          (err): JobRecord => ({ job, status: 'failed', seconds: 0, error: (err as Error)?.message ?? String(err) }),
        )
        .then((rec) => {
          running.delete(p);
          // the backend gave up: this job is not done, nor failed, and stays where the backend keeps it
          if (rec.status === 'failed' && backend.failure) {
            settle();
            return;
          }
          records.set(job.key, rec);
          progress.done(rec);
          settle();
        });
      running.add(p);
    }
  };

  try {
    startReady();
    while (running.size > 0) {
      await new Promise<void>((resolve) => {
        settle = resolve;
      });
      if (!backend.failure) startReady();
    }
  } finally {
    progress.stop();
  }
  if (backend.failure) throw backend.failure;
  const list = jobs.map((j) => records.get(j.key)!);
  if (options.slots) (options.print ?? ((line: string) => process.stdout.write(`${line}\n`)))(scheduleSummary(list, options.slots, (performance.now() - t0) / 1000));
  return list;
}

/** Some jobs of a study failed: one line naming them (exit status 1: the environment or a bug, not bad input). */
export class StudyError extends Error {
  override name = 'StudyError';
  constructor(readonly failed: JobRecord[]) {
    const first = failed[0];
    super(`${failed.length} job${failed.length === 1 ? '' : 's'} failed; first: ${first.job.key}: ${first.error}`);
  }
}
