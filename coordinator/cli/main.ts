// The m3fg command line. `main(argv)` returns the exit code; bad input is one line on stderr and exit 2.

import { Command, CommanderError } from 'commander';
import { GameDefinitionError, OptionError } from '../../shared/errors.ts';
import { createLogger } from '../logger.ts';
import { parseSolveFlags, type RawSolveFlags } from '../options.ts';
import { logProgress, terminalProgress } from '../progress.ts';
import { runSolve } from '../run-solve.ts';
import { registerReportCommand } from './report.ts';
import { registerNplayerCommand } from './nplayer.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export async function main(argv: string[]): Promise<number> {
  const program = new Command('m3fg')
    .description('Discrete-time major-minor mean field games: projected fictitious play')
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .showHelpAfterError(false);

  let exitCode = 0;
  program
    .command('solve')
    .description('solve a game by fictitious play (fp) or fixed-point iteration (fpi) and write the results')
    .option('--game <name>', 'sis | buffet | advertisement | cyber', 'sis')
    .option('--algorithm <name>', 'fp | fpi', 'fp')
    .option('--bins <M>', 'mean-field grid bins per dimension', '20')
    .option('--iterations <K>', 'solver iterations', '100')
    .option('--param <name=value>', 'override a game parameter (repeatable)', collect, [])
    .option('--out <dir>', 'results directory (default results/<game>-<algorithm>-m<M>)')
    .option('--threads <N>', 'worker threads; 1 runs inline (default: all cores)')
    .option('--quiet', 'no progress bar or summary')
    .option('--log-level <level>', 'pino log level (default: info, warn on a terminal)')
    .action(async (flags: RawSolveFlags & { quiet?: boolean; logLevel?: string }) => {
      const settings = parseSolveFlags(flags);
      const tty = Boolean(process.stderr.isTTY) && !flags.quiet;
      const logger = createLogger(flags.logLevel ?? process.env.M3FG_LOG_LEVEL ?? (tty || flags.quiet ? 'warn' : 'info'));
      const progress = flags.quiet ? undefined : tty ? terminalProgress(`${settings.game} ${settings.algorithm}`) : logProgress(logger);
      const { curve, paths, seconds } = await runSolve(settings, { logger, progress });
      if (!flags.quiet) {
        const last = curve[curve.length - 1];
        process.stdout.write(
          `${settings.game} ${settings.algorithm} M=${settings.bins}: ${curve.length} iterations in ${seconds.toFixed(2)} s; ` +
            `final exploitability ${last.exploitability.total} (major ${last.exploitability.major}, minor ${last.exploitability.minor})\n` +
            `results: ${paths.curve}, ${paths.policies}, ${paths.run}\n`,
        );
      }
    });
  registerReportCommand(program);
  registerNplayerCommand(program);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    exitCode = report(err);
  }
  return exitCode;
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    process.stderr.write(`m3fg: ${err.message.replace(/^error: /, '')}\n`);
    return 2;
  }
  if (err instanceof OptionError || err instanceof GameDefinitionError || err instanceof RangeError) {
    process.stderr.write(`m3fg: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`m3fg: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}
