// A Piscina thread of the job pool (coordinator/jobs/pool.ts): runs one whole job inline on this thread.

import type { Logger } from 'pino';
import { createLogger } from '../logger.ts';
import { executeJob } from './execute.ts';
import type { JobOutcome } from './spec.ts';
import type { RunThreadTask } from './pool.ts';

// one logger per level: the level is the calling process's (--log-level), sent with every task
const loggers = new Map<string, Logger>();
const loggerAt = (level = process.env.M3FG_LOG_LEVEL ?? 'warn'): Logger => {
  let logger = loggers.get(level);
  if (!logger) loggers.set(level, (logger = createLogger(level)));
  return logger;
};

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
  return executeJob(task.root, task.job, task.threads, loggerAt(task.logLevel));
}
