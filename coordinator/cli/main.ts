// The m3fg command line. `main(argv)` returns the exit code; bad input is one line on stderr and exit 2.

import { Command, CommanderError } from 'commander';
import { GameDefinitionError, OptionError } from '../../shared/errors.ts';
import { createLogger, setLogFormat } from '../logger.ts';
import { M3FG_VERSION } from '../version.ts';
import { loadSolveSettings, type RawSolveFlags, type SolveSettings } from '../options.ts';
import { checkCompatible, readCheckpoint, type SavedState } from '../checkpoint.ts';
import { logProgress, terminalProgress } from '../progress.ts';
import { runSolve } from '../run-solve.ts';
import { registerReportCommand } from './report.ts';
import { registerNplayerCommand } from './nplayer.ts';
import { addNatsOptions, registerWorkerCommand, type WorkerNodeStarter } from './worker.ts';
import { ClusterError, ClusterExecutor } from '../cluster-executor.ts';
import { ShardError } from '../local-executor.ts';
import { hashReady } from '../policy-file.ts';
import { natsOptionsFrom } from '../../shared/cluster-nats.ts';
import { TaskTimeoutError } from '../task-deadline.ts';
import { StudyError } from '../jobs/study.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `startWorkerNode`: what `m3fg worker` runs (bin/worker-node.ts; the launchers pass it). */
export async function main(argv: string[], hooks: { startWorkerNode?: WorkerNodeStarter } = {}): Promise<number> {
  await hashReady; // policy files are checked with xxhash (WebAssembly, ready asynchronously)
  const program = new Command('m3fg')
    .description('Discrete-time major-minor mean field games: projected fictitious play')
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .showHelpAfterError(false)
    .version(M3FG_VERSION, '-V, --version', 'print the version')
    .option('--log-format <format>', 'json | pretty (default: pretty on a terminal, JSON lines otherwise)')
    .hook('preAction', () => setLogFormat(program.opts<{ logFormat?: string }>().logFormat));

  let exitCode = 0;
  const solveCommand = program
    .command('solve')
    .description('solve a game (fictitious play and its variants) and write the results')
    .option('--game <name|path>', 'sis | buffet | advertisement | cyber, or a module path like ./my-game.ts (default sis)')
    .option('--algorithm <name>', 'fp | fpi | omd | alternating | damped | auto (the recommended method) (default fp)')
    .option('--bins <M>', 'mean-field grid bins per dimension (default 20)')
    .option('--iterations <K>', 'solver iterations: the cap (default 100)')
    .option('--target <eps>', 'stop at the first iteration with total exploitability <= eps')
    .option('--time-limit <seconds>', 'stop after the iteration that passes this many seconds')
    .option('--keep <which>', 'best: the result is the iterate with the lowest exploitability, the last one goes to DIR/last/ | last: only the last iterate (default best)')
    .option('--param <name=value>', 'override a game parameter (repeatable)', collect)
    .option('--grid <kind>', 'midpoint (the reference grid) | lattice (default midpoint)')
    .option('--projection <kind>', 'nearest (the paper\'s: the nearest grid point) | interpolate (barycentric, needs --grid lattice) (default nearest)')
    .option('--horizon <kind>', 'finite | infinite (discounted, stationary policies) (default finite)')
    .option('--discount <gamma>', 'discount factor of the infinite horizon (default 0.99)')
    .option('--tolerance <eps>', 'value-iteration stop: sum |V_new - V| (default 1e-5)')
    .option('--softmax', 'softmax (Boltzmann) responses for fp / fpi / alternating')
    .option('--temperature <tau>', 'softmax and OMD temperature (default 0.1)')
    .option('--step <alpha>', 'damped: the step of pi <- (1 - alpha) pi + alpha BR, in (0, 1] (default 0.1)')
    .option('--schedule <kind>', 'omd: constant | sqrt (learning rate 1/sqrt(n+1)) | anneal (temperature tau/sqrt(n+1)); damped: constant | adaptive (the step halved when the exploitability rose, grown back by a factor 1.2 when it fell) (default constant)')
    .option('--inner <k>', 'alternating: the major player updates every k + 1 iterations (default 1)')
    .option('--init <policy>', 'initial policies: first | last | uniform (default first; uniform for softmax)')
    .option('--out <dir>', 'results directory (default results/<game>-<algorithm>-m<M>)')
    .option('--threads <N>', 'threads, the calling one included; 1 runs inline (default: all cores)')
    .option('--checkpoint-every <K>', 'write DIR/checkpoint.bin every K iterations (atomically)')
    .option('--resume <dir>', 'continue the run checkpointed in DIR (other flags must match it)')
    .option('--force', 'replace a run of another configuration in the --out directory (its files are removed first)')
    .option('--max-memory <bytes>', "memory the run may use, like 8G or 500M (default: the machine's memory)")
    .option('--task-timeout <seconds>', 'least deadline for a user game\'s check and for each thread task (default 60)')
    .option('--quiet', 'no progress bar, summary or warnings: errors only')
    .option('--log-level <level>', 'pino log level (default: info, warn on a terminal)');
  addNatsOptions(solveCommand, 'run the sweeps on the worker nodes of this NATS server (nats://host:port) instead of local threads')
    .option('--no-recut', 'with --nats: keep the first shard cut (by default the shards are re-cut once by the work the nodes measured in the first iteration)')
    .action(async (flags: RawSolveFlags & { quiet?: boolean; logLevel?: string; resume?: string; recut?: boolean } & Parameters<typeof natsOptionsFrom>[0]) => {
      const nats = natsOptionsFrom(flags);
      const { settings, resume } = flags.resume ? await resumeSettings(flags, flags.resume) : { settings: await loadSolveSettings(flags), resume: undefined };
      const tty = Boolean(process.stderr.isTTY) && !flags.quiet;
      // --quiet: errors only (an explicit --log-level still wins)
      const logger = createLogger(flags.logLevel ?? (flags.quiet ? 'error' : (process.env.M3FG_LOG_LEVEL ?? (tty ? 'warn' : 'info'))));
      const label = `${settings.family.name} ${settings.algorithm}${settings.projection === 'interpolate' ? ' (interpolate)' : ''}`;
      const progress = flags.quiet ? undefined : tty ? terminalProgress(label) : logProgress(logger);
      const executor = nats ? new ClusterExecutor({ nats, logger, recut: flags.recut !== false }) : undefined;
      const { curve, files, seconds, stopReason, result, last } = await runSolve(settings, { logger, progress, resume, executor });
      if (!flags.quiet) {
        const report = files.find((f) => f.endsWith('index.html'));
        const iterate = (r: typeof result) => `after ${r.iteration} updates): exploitability ${r.exploitability.total} (major ${r.exploitability.major}, minor ${r.exploitability.minor})`;
        process.stdout.write(
          `${label} M=${settings.bins}: ${curve.length} iterations in ${seconds.toFixed(2)} s (stopped: ${stopReason})\n` +
            `result (${settings.keep === 'best' ? 'best' : 'last'} iterate, ${iterate(result)}\n` +
            `${last ? `last iterate (last/, ${iterate(last)}\n` : ''}` +
            `${report ? `report: ${report}\n` : ''}files: ${files.filter((f) => f !== report).join(', ')}\n`,
        );
      }
    });
  registerReportCommand(program);
  registerNplayerCommand(program);
  registerWorkerCommand(program, hooks.startWorkerNode);
  (await import('./experiment.ts')).registerExperimentCommand(program);
  (await import('./sweep.ts')).registerSweepCommand(program);

  const bare = bareHelp(program, argv);
  if (bare !== undefined) {
    process.stderr.write(bare);
    return 2;
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    exitCode = report(err);
  }
  return exitCode;
}

/**
 * Settings for `--resume DIR`: the checkpoint's run, with --iterations, --threads and --checkpoint-every
 * taken from the flags when given; any other flag must agree with the checkpoint.
 */
async function resumeSettings(flags: RawSolveFlags, dir: string): Promise<{ settings: SolveSettings; resume: SavedState }> {
  const { header, saved: resume } = readCheckpoint(dir);
  const saved = header.checkpoint.run as unknown as import('../checkpoint.ts').CheckpointIdentity;
  const asked = flags.game !== undefined || flags.param !== undefined ? await loadSolveSettings({ ...flags, game: flags.game ?? saved.game }) : undefined;
  checkCompatible(saved, {
    game: asked?.game,
    algorithm: flags.algorithm as SolveSettings['algorithm'] | undefined,
    bins: flags.bins !== undefined ? Number(flags.bins) : undefined,
    params: asked?.params,
    grid: flags.grid as SolveSettings['grid'] | undefined,
    projection: flags.projection as SolveSettings['projection'] | undefined,
    horizon: flags.horizon as SolveSettings['horizon'] | undefined,
    discount: flags.discount !== undefined ? Number(flags.discount) : undefined,
    tolerance: flags.tolerance !== undefined ? Number(flags.tolerance) : undefined,
    softmax: flags.softmax,
    temperature: flags.temperature !== undefined ? Number(flags.temperature) : undefined,
    inner: flags.inner !== undefined ? Number(flags.inner) : undefined,
    init: flags.init as SolveSettings['init'],
    step: flags.step !== undefined ? Number(flags.step) : undefined,
    schedule: flags.schedule as SolveSettings['schedule'] | undefined,
    keep: flags.keep as SolveSettings['keep'] | undefined,
  });
  const settings = await loadSolveSettings({
    game: saved.game,
    algorithm: saved.algorithm,
    bins: String(saved.bins),
    iterations: flags.iterations ?? String(saved.iterations),
    param: Object.entries(saved.params).map(([k, v]) => `${k}=${v}`),
    grid: saved.grid,
    projection: saved.projection ?? 'nearest',
    horizon: saved.horizon,
    ...(saved.horizon === 'infinite' ? { discount: String(saved.discount) } : {}),
    tolerance: String(saved.tolerance),
    softmax: saved.softmax,
    temperature: String(saved.temperature),
    ...(saved.algorithm === 'alternating' ? { inner: String(saved.inner) } : {}),
    ...(saved.algorithm === 'damped' ? { step: String(saved.step) } : {}),
    ...((saved.algorithm === 'omd' || saved.algorithm === 'damped') && saved.schedule ? { schedule: saved.schedule } : {}),
    init: saved.init,
    out: dir,
    threads: flags.threads,
    taskTimeout: flags.taskTimeout,
    checkpointEvery: flags.checkpointEvery ?? String(saved.checkpointEvery),
    maxMemory: flags.maxMemory,
    target: flags.target ?? (saved.target === undefined ? undefined : String(saved.target)),
    timeLimit: flags.timeLimit ?? (saved.timeLimit === undefined ? undefined : String(saved.timeLimit)),
    keep: flags.keep ?? saved.keep ?? 'last',
  });
  if (resume.iteration > settings.iterations) {
    throw new OptionError(`--resume: the checkpoint is at iteration ${resume.iteration}, beyond --iterations ${settings.iterations}`);
  }
  return { settings, resume };
}

/**
 * The help to print for a bare `m3fg` or a bare subcommand (`m3fg solve`): a command with no arguments is a
 * question, not a run with every default. `m3fg worker` with M3FG_NATS_URL set is a real invocation (containers).
 */
function bareHelp(program: Command, argv: string[]): string | undefined {
  const args = argv.slice(2);
  if (args.length === 0) return program.helpInformation();
  if (args.length !== 1) return undefined;
  const sub = program.commands.find((c) => c.name() === args[0]);
  if (!sub || (sub.name() === 'worker' && process.env.M3FG_NATS_URL)) return undefined;
  return sub.helpInformation();
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
  const errno = err as NodeJS.ErrnoException;
  if (errno instanceof Error && typeof errno.code === 'string' && typeof errno.path === 'string') {
    // the environment failed during the run (disk full, a folder removed): one line naming the path
    process.stderr.write(`m3fg: ${errno.path}: ${errno.syscall ?? 'i/o'} failed (${errno.code})\n`);
    return 1;
  }
  if (err instanceof ClusterError || err instanceof ShardError || err instanceof TaskTimeoutError || err instanceof StudyError) {
    // the cluster or a thread could not finish (no nodes, a task that failed every attempt): not a bug here
    process.stderr.write(`m3fg: ${err.message.split('\n')[0]}\n`);
    return 1;
  }
  process.stderr.write(`m3fg: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}
