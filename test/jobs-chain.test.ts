// Work done twice: a study that solves one configuration for k and for K > k iterations runs the k iterations
// once (chainPrefixes): the longer run continues from the shorter one's checkpoint. Its results are byte-identical
// to the run solved alone; without the checkpoint it runs from scratch, again identical. The schedule starts the
// head of a chain early (ranks) and a job submitted late goes ahead of smaller ones waiting.

import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../coordinator/logger.ts';
import { doneOutcome, executeJob } from '../coordinator/jobs/execute.ts';
import { JobPool, LocalBackend, type RunThreadTask } from '../coordinator/jobs/pool.ts';
import { chainPrefixes, solveDir, solveJobSpec, type JobOutcome, type JobSpec, type SolveJobSpec } from '../coordinator/jobs/spec.ts';
import { jobRanks, runStudy } from '../coordinator/jobs/study.ts';

const root = mkdtempSync(join(tmpdir(), 'm3fg-chain-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const logger = createLogger('error');

const sis = (iterations: number, more: Record<string, string> = {}) =>
  solveJobSpec({ game: 'sis', algorithm: 'fp', bins: '10', iterations: String(iterations), ...more });

/** The files a run's users read: the result, the last iterate, the curve. */
const RESULT_FILES = ['curve.json', 'policies.bin', 'minorPolicy.npy', 'majorPolicy.npy', 'curve.npy', 'last/policies.bin', 'last/result.json'];

function sameFiles(a: string, b: string): void {
  for (const f of RESULT_FILES) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).toBe(true);
}

const runJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

describe('chainPrefixes', () => {
  it('chains runs of one configuration by iterations, nearest shorter first; leaves other configurations and stopping rules alone', () => {
    const [a, b, c] = [sis(30), sis(10), sis(20)];
    const other = sis(5, { bins: '12' });
    const target = sis(40, { target: '0.1' });
    const costC = c.cost;
    const costA = a.cost;
    chainPrefixes([a, b, c, other, target]);
    expect(b.keepCheckpoint).toBe(true);
    expect(c.prefix).toEqual({ key: b.key, hash: b.hash, iterations: 10 });
    expect(c.keepCheckpoint).toBe(true);
    expect(a.prefix).toEqual({ key: c.key, hash: c.hash, iterations: 20 });
    expect(b.prefix).toBeUndefined();
    // the cost left: the iterations not done by the prefix
    expect(c.cost).toBeCloseTo(costC / 2, 9);
    expect(a.cost).toBeCloseTo(costA / 3, 9);
    for (const j of [other, target]) expect(j.prefix ?? j.keepCheckpoint).toBeUndefined();
  });

  it("ranks a job by its cost plus the largest rank waiting for it", () => {
    const jobs: JobSpec[] = [
      { ...sis(10), key: 'p', cost: 2 },
      { ...sis(20), key: 'x', cost: 5, prefix: { key: 'p', hash: 'p', iterations: 10 } },
      { kind: 'nplayer', key: 'n', hash: 'n', from: { key: 'x', hash: 'x' }, players: [2], episodes: 1, seed: 1, cost: 1, threads: 'one' },
      { ...sis(30), key: 'q', cost: 7 },
    ];
    const ranks = jobRanks(jobs, (j) => (j.kind === 'nplayer' ? j.from.key : j.prefix?.key));
    expect(Object.fromEntries(ranks)).toEqual({ p: 8, x: 6, n: 1, q: 7 });
  });
});

describe('JobPool order', () => {
  it('starts waiting jobs by rank: a big job submitted late goes ahead of smaller ones waiting', async () => {
    const order: string[] = [];
    const finish: Array<() => void> = [];
    const pool = new JobPool({
      threads: 1,
      runTask: (task: RunThreadTask) => new Promise<JobOutcome>((resolve) => (order.push(task.job.key), finish.push(() => resolve({ seconds: 0 })))),
    });
    const job = (key: string, cost: number): JobSpec => ({ ...sis(10), key, cost });
    const done = [pool.run(root, job('first', 1)), pool.run(root, job('small', 2)), pool.run(root, job('tie', 2)), pool.run(root, job('late', 1), 9)];
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 0));
      finish[i]();
    }
    await Promise.all(done);
    expect(order).toEqual(['first', 'late', 'small', 'tie']);
  });
});

describe('a chained study', () => {
  it('continues the longer run from the shorter one: results byte-identical to each solved alone', async () => {
    const alone = join(root, 'alone');
    for (const k of [7, 19]) await executeJob(alone, sis(k), 1, logger);
    const study = join(root, 'study');
    const jobs = [sis(19), sis(7)];
    chainPrefixes(jobs);
    const backend = new LocalBackend({ threads: 2, logger });
    try {
      const records = await runStudy(jobs, { root: study, backend, label: 'test', print: () => {} });
      expect(records.map((r) => r.status)).toEqual(['ran', 'ran']);
    } finally {
      await backend.close();
    }
    for (const j of jobs) sameFiles(solveDir(study, j.key), solveDir(alone, j.key));
    // the chain was used: the long run resumed at the short run's end; its checkpoint, used up, is gone
    expect(runJson(solveDir(study, jobs[0].key)).resumedAt).toBe(7);
    expect(runJson(solveDir(alone, jobs[0].key)).resumedAt).toBeUndefined();
    expect(existsSync(join(solveDir(study, jobs[1].key), 'checkpoint.bin'))).toBe(false);
  }, 120_000);

  it('runs the longer one from scratch when the shorter one left no checkpoint (reused from an unchained study)', async () => {
    const study = join(root, 'reused');
    const short = sis(7);
    await executeJob(study, short, 1, logger); // an earlier study's run: no checkpoint
    const long = sis(19) as SolveJobSpec;
    const jobs = [long, sis(7)];
    chainPrefixes(jobs);
    expect(long.prefix?.key).toBe(short.key);
    const backend = new LocalBackend({ threads: 1, logger });
    try {
      const records = await runStudy(jobs, { root: study, backend, label: 'test', print: () => {} });
      expect(records.map((r) => r.status)).toEqual(['ran', 'reused']);
    } finally {
      await backend.close();
    }
    sameFiles(solveDir(study, long.key), solveDir(join(root, 'alone'), long.key));
    expect(runJson(solveDir(study, long.key)).resumedAt).toBeUndefined();
  }, 120_000);
});

describe('--keep in a job identity', () => {
  it('two jobs differing only in --keep share no hash, key, chain or result; the default (best) keeps the hashes it had', async () => {
    const [best, last, dflt] = [sis(4, { keep: 'best' }), sis(4, { keep: 'last' }), sis(4)];
    expect(best.hash).toBe(dflt.hash);
    expect(last.hash).not.toBe(best.hash);
    expect(last.key).not.toBe(best.key);
    const [short, long] = [sis(2, { keep: 'last' }), sis(4)];
    chainPrefixes([short, long]);
    expect(long.prefix).toBeUndefined();
    // a finished --keep last run is never taken for the --keep best job, even found in that job's folder
    const study = join(root, 'keep');
    await executeJob(study, last, 1, logger);
    expect(doneOutcome(study, last)).toBeDefined();
    cpSync(solveDir(study, last.key), solveDir(study, best.key), { recursive: true });
    expect(doneOutcome(study, best)).toBeUndefined();
    expect(runJson(solveDir(study, last.key)).keep).toBe('last');
  }, 60_000);
});
