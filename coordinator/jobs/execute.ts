// Running one job into a study's folder, and telling whether a job is already done there. Used by the local
// scheduler (in its run threads, or on the calling thread for a job that takes every thread) and, through the
// hook in `m3fg worker`, by the cluster's job consumer.

import { hashReady } from '../policy-file.ts';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { checkpointCurvePath, checkpointPath, CheckpointError, readCheckpoint, type CheckpointIdentity, type SavedState } from '../checkpoint.ts';
import { loadSolveSettings, type SolveSettings } from '../options.ts';
import { unlinkQuietly } from '../atomic.ts';
import { runNplayer, type NplayerResult } from '../nplayer.ts';
import { resultPaths, writeFileAtomic } from '../results.ts';
import { runSolve } from '../run-solve.ts';
import { configHash, nplayerFile, solveConfig, solveDir, solveSettingsOf, type FinalNumbers, type JobOutcome, type JobSpec, type SolveJobSpec } from './spec.ts';

function readJson(path: string): any {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A sweep's final numbers of a run: those of its result (run.json `result`, the written policies; the last curve point for runs written before results were evaluated). */
export function finalNumbers(point: any): FinalNumbers | undefined {
  const e = point?.exploitability;
  if (!e) return undefined;
  return { exploitability: e.total, major: e.major, minor: e.minor, majorObjective: point.value?.majorPolicy, minorObjective: point.value?.minorPolicy };
}

/** The outcome recorded in ROOT for a finished job of exactly this configuration, or undefined. */
export function doneOutcome(root: string, job: JobSpec): JobOutcome | undefined {
  if (job.kind === 'solve') {
    const paths = resultPaths(solveDir(root, job.key));
    if (!existsSync(paths.curve) || !existsSync(paths.policies) || !existsSync(paths.run)) return undefined;
    const run = readJson(paths.run);
    const curve = readJson(paths.curve);
    if (!run || !Array.isArray(curve) || curve.length !== run.iterations) return undefined;
    if (configHash(solveConfig(run)) !== job.hash) return undefined;
    return { seconds: run.seconds ?? 0, final: finalNumbers(run.result ?? curve[curve.length - 1]) };
  }
  const r = readJson(nplayerFile(root, job.key)) as (NplayerResult & { configHash?: string }) | undefined;
  const ok = r?.configHash === job.hash && Array.isArray(r.rows) && r.rows.length === job.players.length;
  return ok ? { seconds: r.seconds } : undefined;
}

/** Runs the job into ROOT with `threads` threads (1: inline on this thread). A partial earlier attempt is replaced. */
export async function executeJob(root: string, job: JobSpec, threads: number, logger: Logger): Promise<JobOutcome> {
  await hashReady; // an N-player job reads policies.bin (xxhash, ready asynchronously)
  const t0 = performance.now();
  if (job.kind === 'solve') {
    const flags = solveSettingsOf(root, job, threads);
    // a checkpoint at the end only (done % K == 0), unless the run asks for its own
    if (job.keepCheckpoint) flags.checkpointEvery ??= flags.iterations;
    const settings = await loadSolveSettings(flags);
    const resume = job.prefix && prefixState(root, job, settings);
    rmSync(settings.out, { recursive: true, force: true });
    const { result, seconds } = await runSolve(settings, { logger, report: false, resume: resume?.saved });
    if (resume) for (const path of [checkpointPath(resume.dir), checkpointCurvePath(resume.dir)]) unlinkQuietly(path); // its last use
    return { seconds, jobSeconds: (performance.now() - t0) / 1000, final: finalNumbers(result) };
  }
  const out = nplayerFile(root, job.key);
  const result = await runNplayer(
    { from: solveDir(root, job.from.key), players: job.players, episodes: job.episodes, sampler: 'counts', seed: job.seed, threads, out },
    { logger },
  );
  writeFileAtomic(out, JSON.stringify({ ...result, configHash: job.hash, key: job.key }, null, 1));
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, jobSeconds: seconds };
}

/**
 * The state a run continues from (chainPrefixes): the checkpoint its prefix job left at its end, when that is
 * there, complete and of exactly this configuration but for the iterations; else undefined (run from scratch).
 */
function prefixState(root: string, job: SolveJobSpec, settings: SolveSettings): { dir: string; saved: SavedState } | undefined {
  const dir = solveDir(root, job.prefix!.key);
  if (!existsSync(checkpointPath(dir))) return undefined;
  let loaded;
  try {
    loaded = readCheckpoint(dir);
  } catch (err) {
    if (err instanceof CheckpointError) return undefined;
    throw err;
  }
  const run = loaded.header.checkpoint.run as unknown as CheckpointIdentity;
  // a checkpoint records the concrete method, not whether auto chose it
  const same = configHash(solveConfig({ ...run, iterations: settings.iterations, auto: settings.auto })) === job.hash;
  const complete = loaded.saved.iteration === job.prefix!.iterations && loaded.saved.iteration < settings.iterations;
  return same && complete ? { dir, saved: loaded.saved } : undefined;
}
