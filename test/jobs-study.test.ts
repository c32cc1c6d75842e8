// The study scheduler (coordinator/jobs/study.ts) on a fake backend: jobs start largest first, an N-player job
// only after its solve finished, a failure skips its dependents and does not stop the others, records come
// back in the order given; and the split of big from small jobs (assignThreads).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assignThreads, type JobOutcome, type JobSpec } from '../coordinator/jobs/spec.ts';
import { runStudy, type JobBackend } from '../coordinator/jobs/study.ts';

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
  it('starts jobs largest first and an N-player job after its solve', async () => {
    const jobs = [solve('a', 1), solve('b', 5), nplayer('n', 'a', 100), solve('c', 3)];
    const backend = new FakeBackend();
    const lines: string[] = [];
    const study = runStudy(jobs, { root, backend, label: 't', print: (l) => lines.push(l) });
    await tick();
    expect(backend.started).toEqual(['b', 'c', 'a']);
    backend.complete('b');
    backend.complete('c');
    await tick();
    expect(backend.started).toEqual(['b', 'c', 'a']); // n still waits for a
    backend.complete('a');
    await tick();
    expect(backend.started).toEqual(['b', 'c', 'a', 'n']);
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
  });
});
