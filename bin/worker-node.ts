// The process of `m3fg worker`: a cluster node (worker/node.ts), and a consumer of whole study runs from the
// job queue (worker/job-consumer.ts) that runs them on this machine's job pool (coordinator/jobs/pool.ts).
// It lives in bin/, above both folders: coordinator/ and worker/ never import each other, so the command
// (coordinator/cli/worker.ts) gets this function through main().

import { JobPool } from '../coordinator/jobs/pool.ts';
import type { JobSpec } from '../coordinator/jobs/spec.ts';
import type { WorkerNodeStarter } from '../coordinator/cli/worker.ts';
import { JobConsumer, type JobRunner } from '../worker/job-consumer.ts';
import { ClusterNode } from '../worker/node.ts';
import { tuneNodeHeap } from '../runtime/heap-tuning.ts';

export const startWorkerNode: WorkerNodeStarter = async ({ nats, threads, name, logger, memory }) => {
  tuneNodeHeap(); // fewer major GCs on a heap that passes many short-lived message buffers (runtime/heap-tuning.ts)
  const node = new ClusterNode({ nats, threads, name, logger, memory });
  await node.start();
  // whole runs of studies (JetStream)
  const pool = new JobPool({ threads, logger });
  const runner: JobRunner = {
    threads,
    get available() {
      return pool.available;
    },
    run: (root, job) => pool.run(root, job as JobSpec),
    close: () => pool.close(),
  };
  // the node's party id (letters, digits, _ and -): it names the node's results bucket and status keys
  const jobs = new JobConsumer({ nats, runner, node: node.id, logger });
  await jobs.start();
  return { node, jobs };
};
