// `m3fg experiment paper [--out DIR] [--quick] [--threads N]`: the runs of the paper's Figures 1-5 and the
// initial-policy ablation, reused when already done, then the combined report and the figure PNGs
// (coordinator/experiment.ts).

import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { createLogger } from '../logger.ts';
import { positiveInt } from '../options.ts';
import { runPaperExperiment } from '../experiment.ts';
import { ACK_WAIT_HELP, studyBackend, type NatsStudyFlags } from '../jobs/cli-backend.ts';
import { addNatsOptions } from './worker.ts';

export function registerExperimentCommand(program: Command): Command {
  const experiment = program.command('experiment').description("reproduce the paper's experiments");
  const paper = experiment
    .command('paper')
    .description("the paper's Figures 1-5 and the initial-policy ablation: runs (reused when done), report and figure PNGs")
    .option('--out <dir>', 'results folder (default results/paper)', 'results/paper')
    .option('--quick', 'a reduced grid for CI (M = 10, few iterations and episodes)')
    .option('--threads <N>', 'worker threads per job (default: all cores)')
    .option('--ack-wait <seconds>', ACK_WAIT_HELP)
    .option('--log-level <level>', 'pino log level (default: warn)');
  addNatsOptions(paper, 'run the jobs on the worker nodes of this NATS server (JetStream job queue)').action(
    async (flags: NatsStudyFlags & { out: string; quick?: boolean; threads?: string; logLevel?: string }) => {
      const threads = positiveInt('--threads', flags.threads ?? String(availableParallelism()));
      const logger = createLogger(flags.logLevel ?? process.env.M3FG_LOG_LEVEL ?? 'warn');
      const connect = studyBackend(flags, logger);
      const backend = connect ? await connect() : undefined;
      await runPaperExperiment({ out: flags.out, quick: Boolean(flags.quick), threads, logger, backend, bar: Boolean(process.stderr.isTTY) });
    },
  );
  return experiment;
}
