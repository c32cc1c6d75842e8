// `m3fg experiment paper [--out DIR] [--quick] [--threads N]`: the runs of the paper's Figures 1-5 and the
// initial-policy ablation, reused when already done, then the combined report and the figure PNGs
// (coordinator/experiment.ts).

import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { OptionError } from '../../shared/errors.ts';
import { createLogger } from '../logger.ts';
import { positiveInt } from '../options.ts';
import { runPaperExperiment } from '../experiment.ts';
import { mergeStudies, runAlgorithmsStudy } from '../experiment-algorithms.ts';
import { runDiscretisationExperiment } from '../experiment-discretisation.ts';
import { ACK_WAIT_HELP, NODE_WAIT_HELP, studyBackend, type NatsStudyFlags } from '../jobs/cli-backend.ts';
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
    .option('--node-wait <seconds>', NODE_WAIT_HELP)
    .option('--quiet', 'print only the final line, and errors')
    .option('--sequential', 'one run at a time, each on every thread (the baseline for timing the side-by-side schedule)')
    .option('--log-level <level>', 'pino log level (default: warn)');
  addNatsOptions(paper, 'run the jobs on the worker nodes of this NATS server (JetStream job queue)').action(
    async (flags: NatsStudyFlags & { out: string; quick?: boolean; threads?: string; logLevel?: string; sequential?: boolean; quiet?: boolean }) => {
      const threads = positiveInt('--threads', flags.threads ?? String(availableParallelism()));
      const logger = createLogger(flags.logLevel ?? (flags.quiet ? 'error' : (process.env.M3FG_LOG_LEVEL ?? 'warn')));
      const connect = studyBackend(flags, logger, flags.quiet ? () => {} : undefined);
      if (flags.sequential && connect) throw new OptionError('--sequential: only on this machine (not with --nats)');
      const backend = connect ? await connect() : undefined;
      await runPaperExperiment({ sequential: flags.sequential, quiet: flags.quiet, out: flags.out, quick: Boolean(flags.quick), threads, logger, backend, bar: Boolean(process.stderr.isTTY) && !flags.quiet });
    },
  );
  experiment
    .command('algorithms')
    .description('algorithm study: total exploitability against wall seconds and iterations per method and game; report and table')
    .option('--out <dir>', 'results folder (default results/algorithms)', 'results/algorithms')
    .option('--quick', 'a reduced study for CI (M = 8, 4 methods, 2 s per run)')
    .option('--budget <seconds>', 'wall-clock budget per run (default 60; quick 2)')
    .option('--iterations <K>', 'iteration cap per run (default 5000; quick 6)')
    .option('--games <list>', 'only these games (comma-separated)')
    .option('--methods <list>', 'only these methods (comma-separated keys, e.g. fp,omd-0.1)')
    .option('--threads <N>', 'worker threads per run (default 1)')
    .option('--parallel <P>', 'runs side by side, each on one thread (default 1: one after the other)')
    .option('--merge <dirs>', 'run nothing: one study and report in --out from these study folders (comma-separated)')
    .option('--log-level <level>', 'pino log level (default: warn)')
    .action(async (flags: { out: string; quick?: boolean; budget?: string; iterations?: string; games?: string; methods?: string; threads?: string; parallel?: string; merge?: string; logLevel?: string }) => {
      if (flags.merge !== undefined) {
        const dirs = flags.merge.split(',').map((x) => x.trim()).filter(Boolean);
        for (const d of dirs) if (!existsSync(join(d, 'study.json'))) throw new OptionError(`--merge: no study.json in ${d}`);
        process.stdout.write(`report: ${(await mergeStudies(flags.out, dirs)).report}\n`);
        return;
      }
      const threads = positiveInt('--threads', flags.threads ?? '1');
      const parallel = positiveInt('--parallel', flags.parallel ?? '1');
      const budget = flags.budget === undefined ? undefined : positiveInt('--budget', flags.budget);
      const iterations = flags.iterations === undefined ? undefined : positiveInt('--iterations', flags.iterations);
      const logger = createLogger(flags.logLevel ?? process.env.M3FG_LOG_LEVEL ?? 'warn');
      const list = (s?: string) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));
      await runAlgorithmsStudy({ out: flags.out, quick: Boolean(flags.quick), budget, iterations, threads, parallel, games: list(flags.games), methods: list(flags.methods), logger });
    });
  experiment
    .command('discretisation')
    .description('nearest vs interpolated projection: each mean-field prediction against N-player objectives (SIS, Advertisement, Buffet); table and one chart per game')
    .option('--out <dir>', 'results folder (default results/discretisation)', 'results/discretisation')
    .option('--quick', 'a reduced run for CI (M = 4, 8; FP 10; N = 50, 200; 200 episodes)')
    .option('--games <list>', 'only these games (comma-separated: sis, advertisement, buffet)')
    .option('--bins <list>', 'lattice bins M (comma-separated; default 15,30,60,120)')
    .option('--iterations <K>', 'FP iterations of every run (default: 1000, Buffet 300)')
    .option('--episodes <E>', 'episodes per N (default: 5000, Buffet 20000)')
    .option('--threads <N>', 'worker threads (default: all cores)')
    .option('--log-level <level>', 'pino log level (default: warn)')
    .action(async (flags: { out: string; quick?: boolean; games?: string; bins?: string; iterations?: string; episodes?: string; threads?: string; logLevel?: string }) => {
      const threads = positiveInt('--threads', flags.threads ?? String(availableParallelism()));
      const list = (s?: string) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));
      const bins = list(flags.bins)?.map((b) => positiveInt('--bins', b));
      if (bins?.length === 0) throw new OptionError('--bins: expected comma-separated positive integers');
      const iterations = flags.iterations === undefined ? undefined : positiveInt('--iterations', flags.iterations);
      const episodes = flags.episodes === undefined ? undefined : positiveInt('--episodes', flags.episodes);
      const logger = createLogger(flags.logLevel ?? process.env.M3FG_LOG_LEVEL ?? 'warn');
      await runDiscretisationExperiment({ out: flags.out, quick: Boolean(flags.quick), threads, logger, games: list(flags.games), bins, iterations, episodes, bar: Boolean(process.stderr.isTTY) });
    });
  return experiment;
}
