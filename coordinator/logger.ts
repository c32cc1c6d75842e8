// The process logger (pino, JSON lines on stderr). Kernels never log; shells create child loggers with
// { component, runId, iteration }.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.M3FG_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
