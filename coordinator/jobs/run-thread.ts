// A Piscina thread of the job pool (coordinator/jobs/pool.ts): runs one whole job inline on this thread.

import { createLogger } from '../logger.ts';
import { executeJob } from './execute.ts';
import type { JobOutcome } from './spec.ts';
import type { RunThreadTask } from './pool.ts';

const logger = createLogger(process.env.M3FG_LOG_LEVEL ?? 'warn');

export default function runJob(task: RunThreadTask): Promise<JobOutcome> {
  return executeJob(task.root, task.job, task.threads, logger);
}
