// The job consumer of `m3fg worker` (worker/job-consumer.ts), running jobs on this node's job pool.

import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { NatsOptions } from '../../worker/nats-transport.ts';
import { JobConsumer, type JobRunner } from '../../worker/job-consumer.ts';
import { JobPool } from './pool.ts';
import type { JobSpec } from './spec.ts';

export async function startJobConsumer(options: { nats: NatsOptions; threads: number; name?: string; logger: Logger }): Promise<JobConsumer> {
  const pool = new JobPool({ threads: options.threads, logger: options.logger });
  const runner: JobRunner = {
    threads: options.threads,
    get available() {
      return pool.available;
    },
    run: (root, job) => pool.run(root, job as JobSpec),
    close: () => pool.close(),
  };
  const consumer = new JobConsumer({ nats: options.nats, runner, node: options.name ?? `${hostname()}-${process.pid}`, logger: options.logger });
  await consumer.start();
  return consumer;
}
