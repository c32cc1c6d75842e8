// The study scheduler (coordinator/jobs/study.ts) on a fake backend: jobs start largest first, an N-player job
// only after its solve finished, a failure skips its dependents and does not stop the others, records come
// back in the order given; and the split of big from small jobs (assignThreads).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../coordinator/logger.ts';
import { JobPool, type RunThreadTask } from '../coordinator/jobs/pool.ts';
import { assignThreads, nplayerJobSpec, solveJobSpec, type JobOutcome, type JobSpec } from '../coordinator/jobs/spec.ts';
import { runStudy, scheduleSummary, type JobBackend, type JobRecord } from '../coordinator/jobs/study.ts';

const root = mkdtempSync(join(tmpdir(), 'm3fg-study-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const solve = (key: string, cost: number): JobSpec => ({ kind: 'solve', key, hash: key, flags: {}, cost, threads: 'one' });
const nplayer = (key: string, from: string, cost: number): JobSpec => ({
  kind: 'nplayer', key, hash: key, from: { key: from, hash: from }, players: [2], episodes: 1, seed: 1, cost, threads: 'one',
});

/** Runs at most `slots` jobs at once; each finishes when the test says so (or at once). */
class FakeBackend implements JobBackend {
  readonly name = 'fake';
  readonly started: string[] = [];
  private readonly finish = new Map<string, () => void>();
  constructor(private readonly fail = new Set<string>()) {}
  run(_root: string, job: JobSpec): Promise<JobOutcome> {
    this.started.push(job.key);
    return new Promise((resolve, reject) => {
      this.finish.set(job.key, () => (this.fail.has(job.key) ? reject(new Error(`${job.key} broke`)) : resolve({ seconds: job.cost })));
    });
  }
  complete(key: string): void {
    this.finish.get(key)!();
  }
  async close(): Promise<void> {}
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('runStudy', () => {
  it('starts jobs largest first (a job counting the jobs waiting for it) and an N-player job after its solve', async () => {
    const jobs = [solve('a', 1), solve('b', 5), nplayer('n', 'a', 100), solve('c', 3)];
    const backend = new FakeBackend();
    const lines: string[] = [];
    const study = runStudy(jobs, { root, backend, label: 't', print: (l) => lines.push(l) });
    await tick();
    // a (cost 1) ranks 101 with its N-player check waiting: it starts first
    expect(backend.started).toEqual(['a', 'b', 'c']);
    backend.complete('b');
    backend.complete('c');
    await tick();
    expect(backend.started).toEqual(['a', 'b', 'c']); // n still waits for a
    backend.complete('a');
    await tick();
    expect(backend.started).toEqual(['a', 'b', 'c', 'n']);
    backend.complete('n');
    const records = await study;
    expect(records.map((r) => [r.job.key, r.status])).toEqual([['a', 'ran'], ['b', 'ran'], ['n', 'ran'], ['c', 'ran']]);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatch(/^\[4\/4\] nplayer n: ran in/);
  });

  it('skips the dependents of a failed job and runs the rest', async () => {
    const jobs = [solve('a', 2), nplayer('n', 'a', 1), solve('b', 1)];
    const backend = new FakeBackend(new Set(['a']));
    const study = runStudy(jobs, { root, backend, label: 't', print: () => {} });
    await tick();
    backend.complete('a');
    backend.complete('b');
    const records = await study;
    expect(records.map((r) => r.status)).toEqual(['failed', 'skipped', 'ran']);
    expect(records[0].error).toBe('a broke');
    expect(backend.started).toEqual(['a', 'b']);
  });
});

describe('assignThreads', () => {
  it("gives every thread to jobs above one thread's share, none with one thread", () => {
    const jobs = [solve('big', 60), solve('mid', 20), solve('s1', 10), solve('s2', 10)];
    assignThreads(jobs, 2); // total 100: one thread's share 50
    expect(jobs.map((j) => j.threads)).toEqual(['all', 'one', 'one', 'one']);
    const even = [solve('a', 50), solve('b', 50)];
    assignThreads(even, 2);
    expect(even.map((j) => j.threads)).toEqual(['one', 'one']);
    assignThreads(jobs, 1);
    expect(jobs.every((j) => j.threads === 'one')).toBe(true);
    // --sequential: every job on every thread (one at a time)
    assignThreads(jobs, 2, true);
    expect(jobs.every((j) => j.threads === 'all')).toBe(true);
    assignThreads(jobs, 1, true);
    expect(jobs.every((j) => j.threads === 'one')).toBe(true);
  });
});

describe('cost estimates', () => {
  it("an N-player job's does not grow with N (the counts sampler's step does not), only with the episodes and the N values", () => {
    const from = solveJobSpec({ game: 'sis', algorithm: 'fp', bins: '20', iterations: '10' });
    const cost = (players: number[], episodes: number) => nplayerJobSpec(from, players, episodes).cost;
    expect(cost([2, 5], 100)).toBe(cost([1000, 100000], 100));
    expect(cost([2, 5, 10], 100)).toBeCloseTo(1.5 * cost([2, 5], 100), 9);
    expect(cost([2, 5], 300)).toBeCloseTo(3 * cost([2, 5], 100), 9);
  });
});

describe('JobPool (the schedule on this machine)', () => {
  /** A pool of `threads` whose tasks finish when the test says so; `busy` is the threads in use at each start. */
  function watchedPool(threads: number) {
    const running = new Map<string, { need: number; done: () => void }>();
    const starts: Array<{ key: string; need: number; busy: number }> = [];
    let busy = 0;
    const pool = new JobPool({
      threads,
      runTask: (task: RunThreadTask) =>
        new Promise<JobOutcome>((resolve) => {
          busy += task.threads;
          starts.push({ key: task.job.key, need: task.threads, busy });
          running.set(task.job.key, { need: task.threads, done: () => { busy -= task.threads; resolve({ seconds: 1 }); } });
        }),
    });
    const finish = async (key: string) => {
      running.get(key)!.done();
      running.delete(key);
      await tick();
    };
    return { pool, starts, finish, running: () => [...running.keys()].sort() };
  }

  it('runs a big job alone on every thread, then small ones one per thread, with no thread idle while work waits', async () => {
    const jobs = [solve('big', 60), solve('s1', 10), solve('s2', 10), solve('s3', 10), solve('s4', 10)];
    assignThreads(jobs, 2);
    const { pool, starts, finish, running } = watchedPool(2);
    // submitted largest first, as runStudy does
    for (const j of jobs) void pool.run(root, j);
    await tick();
    expect(running()).toEqual(['big']);
    expect(starts[0]).toEqual({ key: 'big', need: 2, busy: 2 });
    await finish('big');
    expect(running()).toEqual(['s1', 's2']); // both threads at once, each inline
    await finish('s2');
    expect(running()).toEqual(['s1', 's3']); // the freed thread is taken at once
    await finish('s1');
    await finish('s3');
    expect(running()).toEqual(['s4']);
    await finish('s4');
    // never more threads in use than the pool has, and every small job on one thread
    expect(starts.every((s) => s.busy <= 2)).toBe(true);
    expect(starts.slice(1).every((s) => s.need === 1)).toBe(true);
    expect(pool.available).toBe(2);
  });

  it('--sequential runs one job at a time on every thread', async () => {
    const jobs = [solve('a', 30), solve('b', 20), solve('c', 10)];
    assignThreads(jobs, 3, true);
    const { pool, starts, finish, running } = watchedPool(3);
    for (const j of jobs) void pool.run(root, j);
    await tick();
    for (const key of ['a', 'b', 'c']) {
      expect(running()).toEqual([key]);
      await finish(key);
    }
    expect(starts.map((s) => s.need)).toEqual([3, 3, 3]);
  });

  it("hands the calling logger's level (the CLI's --log-level) to every run thread's task", async () => {
    const levels: Array<string | undefined> = [];
    const runTask = async (task: RunThreadTask): Promise<JobOutcome> => (levels.push(task.logLevel), { seconds: 0 });
    await new JobPool({ threads: 1, logger: createLogger('debug'), runTask }).run(root, solve('a', 1));
    await new JobPool({ threads: 1, logger: createLogger('error'), runTask }).run(root, solve('b', 1));
    expect(levels).toEqual(['debug', 'error']);
  });
});

describe('scheduleSummary', () => {
  it('counts the runs, the busy thread-seconds and the share of threads x wall', () => {
    const rec = (key: string, threads: 'one' | 'all', seconds: number, status: JobRecord['status'] = 'ran'): JobRecord => ({ job: { ...solve(key, 1), threads }, status, seconds });
    const line = scheduleSummary([rec('big', 'all', 10), rec('a', 'one', 6), rec('b', 'one', 4), rec('r', 'one', 0, 'reused')], 2, 20);
    // busy: 10 x 2 + 6 + 4 = 30 thread-s in 2 x 20 = 40: 75%
    expect(line).toBe('schedule: 3 runs on 2 threads (2 inline, one per thread; 1 on all 2), busy 30.0 thread-s in 20.0 s wall: 75% of 2 x wall');
    // a job's whole time on its thread (model and writing included) counts when known
    const whole = { ...rec('a', 'one', 6), outcome: { seconds: 6, jobSeconds: 8 } };
    expect(scheduleSummary([rec('big', 'all', 10), whole, rec('b', 'one', 4)], 2, 20)).toMatch(/busy 32\.0 thread-s in 20\.0 s wall: 80% of 2 x wall$/);
  });
});
