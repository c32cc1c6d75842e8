// A Piscina thread of the job pool (coordinator/jobs/pool.ts): runs one whole job inline on this thread.

import { createLogger } from '../logger.ts';
import { executeJob } from './execute.ts';
import type { JobOutcome } from './spec.ts';
import type { RunThreadTask } from './pool.ts';

const logger = createLogger(process.env.M3FG_LOG_LEVEL ?? 'warn');

// tsx's loader in this thread's execArgv does not reach the dynamic import of a user's .ts game module in a
// Piscina thread ("Unknown file extension .ts"): registered here through its API, as the launcher does. Not
// a top-level await (a module with one cannot load in a Piscina thread under tsx). Without tsx installed,
// .js and .mjs game modules still load.
let tsx: Promise<void> | undefined;
const registerTsx = async () => {
  try {
    (await import('tsx/esm/api')).register();
  } catch {
    // no tsx
  }
};

export default async function runJob(task: RunThreadTask): Promise<JobOutcome> {
  await (tsx ??= registerTsx());
  return executeJob(task.root, task.job, task.threads, logger);
}
