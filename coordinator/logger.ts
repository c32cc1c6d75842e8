// The process logger (pino, on stderr). Kernels never log; shells create child loggers with
// { component, runId, iteration }. Two formats: JSON lines (machines, log collectors; the default when
// stderr is not a terminal) and pino-pretty's one line per event (the default on a terminal). The format is
// chosen once per process: `--log-format json|pretty` (setLogFormat), M3FG_LOG_FORMAT, or the terminal test.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { OptionError } from '../shared/errors.ts';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

let chosen: LogFormat | undefined;

/** Sets the format of every logger created after this call; refuses anything but json and pretty. */
export function setLogFormat(format: string | undefined, source = '--log-format'): void {
  if (format === undefined) return;
  if (format !== 'json' && format !== 'pretty') throw new OptionError(`${source}: unknown value '${format}' (one of: json, pretty)`);
  chosen = format;
}

export function logFormat(): LogFormat {
  if (chosen) return chosen;
  const env = process.env.M3FG_LOG_FORMAT;
  if (env !== undefined && env !== '') {
    setLogFormat(env, 'M3FG_LOG_FORMAT');
    return chosen!;
  }
  return process.stderr.isTTY ? 'pretty' : 'json';
}

export function createLogger(level: string = process.env.M3FG_LOG_LEVEL ?? 'info'): Logger {
  if (logFormat() === 'pretty') {
    const stream = pretty({ destination: 2, sync: true, colorize: Boolean(process.stderr.isTTY), singleLine: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' });
    return pino({ level, base: { pid: process.pid } }, stream);
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
