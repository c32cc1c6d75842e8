// Threads for whole runs: a machine with W threads runs W small jobs at once, each inline on a thread of its
// own (a Piscina pool of run threads, coordinator/jobs/run-thread.ts), or one big job alone with all W
// threads (on a run thread whose LocalExecutor shards every sweep over W threads of its own).
// Waiting jobs start largest first (by the rank the study gives, else the cost; ties in the order submitted):
// a job submitted late, once the run it waited for finished, still goes ahead of smaller ones. One waiting for
// every thread holds back those behind it, so a big job is never starved by a stream of small ones. Used by the local scheduler and the cluster's
// job consumer alike.

import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { workerExecArgv } from '../../runtime/thread-pool.ts';
import type { JobOutcome, JobSpec } from './spec.ts';

export interface RunThreadTask {
  root: string;
  job: JobSpec;
  /** 1: inline on the run thread; more: sharded over that many threads of its own. */
  threads: number;
  /** The pino level of the run thread's logger: the calling process's (its --log-level). */
  logLevel?: string;
}

interface Waiting {
  root: string;
  job: JobSpec;
  need: number;
  rank: number;
  resolve: (o: JobOutcome) => void;
  reject: (err: unknown) => void;
}

export class JobPool {
  readonly threads: number;
  private free: number;
  private readonly queue: Waiting[] = [];
  private piscina?: Piscina<RunThreadTask, JobOutcome>;
  private readonly logLevel?: string;

  /** Runs a task on a run thread; tests give their own, to watch the schedule without threads. */
  private readonly runTask: (task: RunThreadTask) => Promise<JobOutcome>;

  constructor(options: { threads: number; logger?: Logger; runTask?: (task: RunThreadTask) => Promise<JobOutcome> }) {
    this.threads = options.threads;
    this.free = options.threads;
    this.logLevel = options.logger?.level;
    this.runTask = options.runTask ?? ((task) => (this.piscina ??= createRunThreads(this.threads)).run(task));
  }

  /** Threads neither busy nor promised to a waiting job. */
  get available(): number {
    return this.free - this.queue.reduce((a, w) => a + w.need, 0);
  }

  /**
   * Runs the job when its threads are free; resolves with its outcome. Waiting jobs start by rank (default the
   * job's cost), the larger first, ties in the order submitted.
   */
  run(root: string, job: JobSpec, rank = job.cost): Promise<JobOutcome> {
    return new Promise((resolve, reject) => {
      const w: Waiting = { root, job, need: job.threads === 'all' ? this.threads : 1, rank, resolve, reject };
      const at = this.queue.findIndex((q) => q.rank < rank);
      this.queue.splice(at < 0 ? this.queue.length : at, 0, w);
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0 && this.queue[0].need <= this.free) {
      const w = this.queue.shift()!;
      this.free -= w.need;
      this.start(w).then(w.resolve, w.reject).finally(() => {
        this.free += w.need;
        this.pump();
      });
    }
  }

  private start(w: Waiting): Promise<JobOutcome> {
    // every job on a run thread, also one that takes all threads (its LocalExecutor's pool is nested in
    // that thread): this thread stays free for the progress display and a node's in-progress acks
    return this.runTask({ root: w.root, job: w.job, threads: w.need, logLevel: this.logLevel });
  }

  async close(): Promise<void> {
    await this.piscina?.destroy();
    this.piscina = undefined;
  }
}

function createRunThreads(threads: number): Piscina<RunThreadTask, JobOutcome> {
  const filename = new URL(`./run-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
  return new Piscina<RunThreadTask, JobOutcome>({
    filename,
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: 30_000,
    concurrentTasksPerWorker: 1,
    execArgv: workerExecArgv(filename),
  });
}

/** The study backend of this machine: every job on the pool. */
export class LocalBackend {
  readonly name = 'local';
  readonly pool: JobPool;

  constructor(options: { threads: number; logger: Logger }) {
    this.pool = new JobPool(options);
  }

  run(root: string, job: JobSpec, rank?: number): Promise<JobOutcome> {
    return this.pool.run(root, job, rank);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
