// Progress of a long run: a bar with the current exploitability and an ETA on a terminal, periodic log
// lines otherwise.

import cliProgress from 'cli-progress';
import type { Logger } from 'pino';
import type { CurvePoint } from './solver.ts';

export interface Progress {
  start(total: number): void;
  update(point: CurvePoint): void;
  stop(): void;
}

export function terminalProgress(label: string): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | exploitability {expl} (major {major}, minor {minor}) | ETA {eta_formatted}`,
      stream: process.stderr,
      // No terminal modes are changed, so Ctrl-C ends the process with the terminal as it was. (A hidden cursor
      // would need a SIGINT handler to restore it, and a handler cannot run while an inline solve keeps the
      // event loop busy: it would turn Ctrl-C into nothing.)
      hideCursor: false,
      linewrap: true, // leave auto-wrap on (lines are cut to the terminal's width anyway)
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total) => bar.start(total, 0, { expl: '-', major: '-', minor: '-' }),
    update: (p) =>
      bar.update(p.iteration + 1, {
        expl: p.exploitability.total.toPrecision(6),
        major: p.exploitability.major.toPrecision(4),
        minor: p.exploitability.minor.toPrecision(4),
      }),
    stop: () => bar.stop(),
  };
}

/** Log-line progress for non-terminals: at most one line per `everyMs`, plus the last iteration. */
export function logProgress(logger: Logger, everyMs = 5000): Progress {
  let total = 0;
  let last = 0;
  let started = 0;
  return {
    start: (n) => {
      total = n;
      started = last = Date.now();
    },
    update: (p) => {
      const now = Date.now();
      if (now - last < everyMs && p.iteration + 1 < total) return;
      last = now;
      const done = p.iteration + 1;
      const etaSeconds = ((now - started) / done) * (total - done) / 1000;
      logger.info({ iteration: p.iteration, total, exploitability: p.exploitability, etaSeconds }, 'progress');
    },
    stop: () => {},
  };
}
