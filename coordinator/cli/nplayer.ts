// `m3fg nplayer --from DIR ...`: the finite-player check of a solve run (the paper's Figure 4). Prints, for
// each N, the mean major and minor objectives with 95% intervals next to the mean-field prediction, and writes
// the JSON (default DIR/nplayer.json). Bad flags are OptionErrors: one line, exit status 2 (main.ts).

import type { Command } from 'commander';
import { OptionError } from '../../shared/errors.ts';
import { MAX_PLAYERS, SAMPLERS, type Sampler } from '../../shared/episodes.ts';
import { createLogger } from '../logger.ts';
import { defaultOut, defaultThreads, formatTable, runNplayer, type NplayerSettings } from '../nplayer.ts';
import { positiveInt } from '../options.ts';

export interface RawNplayerFlags {
  from?: string;
  players?: string;
  episodes?: string;
  sampler?: string;
  seed?: string;
  threads?: string;
  out?: string;
}

export const DEFAULT_PLAYERS = '2,5,10,20,50,100,200';

export function parseNplayerFlags(flags: RawNplayerFlags): NplayerSettings {
  const from = flags.from;
  if (!from) throw new OptionError(`--from: required (a results directory of m3fg solve)`);
  const list = flags.players ?? DEFAULT_PLAYERS;
  const players = list.split(',').map((item) => {
    const text = item.trim();
    const v = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(v) || v < 1 || v > MAX_PLAYERS) {
      throw new OptionError(`--players: expected comma-separated integers in 1..${MAX_PLAYERS}, got '${list}'`);
    }
    return v;
  });
  const episodes = positiveInt('--episodes', flags.episodes ?? '1000');
  const sampler = (flags.sampler ?? 'counts') as Sampler;
  if (!SAMPLERS.includes(sampler)) throw new OptionError(`--sampler: unknown sampler '${flags.sampler}' (one of: ${SAMPLERS.join(', ')})`);
  const seedText = flags.seed ?? '1';
  const seed = Number(seedText);
  if (!/^\s*\d+\s*$/.test(seedText) || !Number.isSafeInteger(seed)) {
    throw new OptionError(`--seed: expected a non-negative integer, got '${seedText}'`);
  }
  const threads = flags.threads === undefined ? defaultThreads() : positiveInt('--threads', flags.threads);
  return { from, players, episodes, sampler, seed, threads, out: flags.out ?? defaultOut(from) };
}

export function registerNplayerCommand(program: Command): Command {
  return program
    .command('nplayer')
    .description('simulate the N-player game with the solved policies of a run and compare with the mean-field prediction')
    .option('--from <dir>', 'results directory of a solve run (policies.bin, run.json)')
    .option('--players <list>', 'comma-separated numbers of minor players N', DEFAULT_PLAYERS)
    .option('--episodes <K>', 'episodes per N', '1000')
    .option('--sampler <name>', 'counts (multinomial counts, O(1) in N) | players (one draw per player)', 'counts')
    .option('--seed <S>', 'random seed: episode k uses the stream of (S, k)', '1')
    .option('--threads <T>', 'worker threads (default: the available cores)')
    .option('--out <file>', 'JSON results (default DIR/nplayer.json)')
    .option('--quiet', 'print nothing but errors')
    .option('--log-level <level>', 'pino log level (default: warn)')
    .action(async (flags: RawNplayerFlags & { quiet?: boolean; logLevel?: string }) => {
      const settings = parseNplayerFlags(flags);
      const logger = createLogger(flags.logLevel ?? (flags.quiet ? 'error' : (process.env.M3FG_LOG_LEVEL ?? 'warn')));
      const result = await runNplayer(settings, { logger });
      if (!flags.quiet) process.stdout.write(`${formatTable(result)}results: ${settings.out}\n`);
    });
}
