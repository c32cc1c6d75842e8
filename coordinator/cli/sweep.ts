// `m3fg sweep`: a parameter study, the cartesian product of comma lists and a:b:step ranges of solve
// settings, each configuration one results directory under DIR/runs, run side by side on this machine's
// threads or on a cluster's nodes (--nats); DIR/sweep.json and the combined report DIR/report
// (coordinator/sweep.ts, coordinator/sweep-run.ts).

import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { OptionError } from '../../shared/errors.ts';
import { createLogger } from '../logger.ts';
import { positiveInt } from '../options.ts';
import { planSweep, type SweepFlags } from '../sweep.ts';
import { runSweep } from '../sweep-run.ts';
import { ACK_WAIT_HELP, NODE_WAIT_HELP, studyBackend, type NatsStudyFlags } from '../jobs/cli-backend.ts';
import { addNatsOptions } from './worker.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerSweepCommand(program: Command): Command {
  const cmd = program
    .command('sweep')
    .description('a parameter study: every combination of the given settings, run side by side, with a combined report')
    .option('--game <names>', 'comma list of games (default sis)')
    .option('--algorithm <names>', 'comma list: fp, fpi, omd, alternating, damped, auto (the recommended method, chosen per game as by solve) (default fp)')
    .option('--bins <list>', 'comma list or a:b:step range of grid bins M (default 20)')
    .option('--iterations <list>', 'comma list or a:b:step range of solver iterations (default 100)')
    .option('--param <name=values>', 'a game parameter: comma list or a:b:step inclusive range (repeatable)', collect)
    .option('--grid <kinds>', 'comma list: midpoint, lattice (default midpoint)')
    .option('--projection <kinds>', 'comma list: nearest, interpolate (interpolate needs --grid lattice) (default nearest)')
    .option('--init <policies>', 'comma list: first, last, uniform')
    .option('--temperature <list>', 'comma list or range of softmax / OMD temperatures')
    .option('--softmax', 'softmax (Boltzmann) responses for fp / fpi / alternating, in every configuration')
    .option('--step <list>', 'damped: comma list or range of steps alpha in (0, 1] (default 0.1)')
    .option('--schedule <kinds>', 'comma list: omd: constant, sqrt, anneal; damped: constant, adaptive (default constant)')
    .option('--inner <list>', 'alternating: comma list or range of inner iterations k (default 1)')
    .option('--out <dir>', 'study folder (default results/sweep)', 'results/sweep')
    .option('--threads <N>', 'threads of this machine (default: all cores)')
    .option('--yes', `run more than 10,000 configurations`)
    .option('--no-report', 'skip the combined report')
    .option('--ack-wait <seconds>', ACK_WAIT_HELP)
    .option('--node-wait <seconds>', NODE_WAIT_HELP)
    .option('--quiet', 'print only the final line, and errors')
    .option('--sequential', 'one run at a time, each on every thread (the baseline for timing the side-by-side schedule)')
    .option('--log-level <level>', 'pino log level (default: warn)');
  return addNatsOptions(cmd, 'run the configurations on the worker nodes of this NATS server (JetStream job queue)').action(
    async (flags: SweepFlags & NatsStudyFlags & { out: string; threads?: string; report: boolean; logLevel?: string; sequential?: boolean; quiet?: boolean }) => {
      const threads = positiveInt('--threads', flags.threads ?? String(availableParallelism()));
      const logger = createLogger(flags.logLevel ?? (flags.quiet ? 'error' : (process.env.M3FG_LOG_LEVEL ?? 'warn')));
      const connect = studyBackend(flags, logger, flags.quiet ? () => {} : undefined);
      if (flags.sequential && connect) throw new OptionError('--sequential: only on this machine (not with --nats)');
      const plan = await planSweep(flags);
      const backend = connect ? await connect() : undefined;
      await runSweep(plan, { out: flags.out, threads, logger, backend, bar: Boolean(process.stderr.isTTY) && !flags.quiet, report: flags.report, sequential: flags.sequential, quiet: flags.quiet });
    },
  );
}
