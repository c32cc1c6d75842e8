// A user's game is built and validated first on a thread of its own (worker/game-check-worker.ts) under a
// deadline, because a call into the game's code that never returns cannot be interrupted on the calling
// thread. The deadline is max(floor, factor x the projected cost): the calls the check makes (known once the
// game's sizes are) times the measured time per call so far. Past it the thread is terminated and the check
// fails with one line naming the game, the function and the state it was stuck in (from the shared probe).
// The deadline covers the user's code only, in two phases each with its own clock: the module's import (its
// top-level code), from the thread's 'started' message, then the build, from 'family'. The thread's own start
// (Node, the tsx loader, this project's modules: seconds on a loaded machine) is not the game's and is only
// bounded by STARTUP_MS.
// Once the check has passed, the calling thread builds the same game: the kernels are deterministic (threads
// and nodes check that their rebuilt tables match by fingerprint), so that build ends too.

import { GameDefinitionError, OptionError } from '../shared/errors.ts';
import type { GridKind } from '../shared/grid.ts';
import { createProbeBuffer, describeProbe, probeCalls, type GameCheckData, type GameCheckReply } from '../shared/kernel-probe.ts';
import { deadlineMs, seconds, type TaskDeadline } from './task-deadline.ts';
import { startWorkerThread } from '../runtime/thread-pool.ts';

/** The most the check thread may take to start, before any of the game's code runs. */
const STARTUP_MS = 120_000;

export interface GameCheckSpec {
  readonly game: string;
  readonly params: Readonly<Record<string, number>>;
  readonly bins: number;
  readonly grid: GridKind;
}

/** What the check thread is given: with `loadOnly`, it only imports the module and finds its game. */
export type GameCheckTask = GameCheckData & { readonly loadOnly?: boolean };

/**
 * Imports a user's game module on the check thread first, under the deadline, so that top-level code that
 * never returns ends with one line naming the module instead of hanging this thread's import.
 */
export function loadGameModuleInThread(game: string, deadline: TaskDeadline): Promise<number> {
  return checkGameInThread({ game, params: {}, bins: 1, grid: 'midpoint' }, deadline, true);
}

/** Resolves with the check's milliseconds; rejects with the error the build would have thrown, or a deadline's. */
export function checkGameInThread(spec: GameCheckSpec, deadline: TaskDeadline, loadOnly = false): Promise<number> {
  const probe = createProbeBuffer();
  const worker = startWorkerThread('game-check-worker', { spec: { ...spec, params: { ...spec.params } }, probe, loadOnly } satisfies GameCheckTask);
  const created = performance.now();
  /** When the current phase of the user's code began (undefined until the thread has started). */
  let phaseStart: number | undefined;
  let name = spec.game;
  let total = 0;
  let calls = 0;
  let progressAt = 0;
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      void worker.terminate();
      f();
    };
    const timer = setInterval(() => {
      if (phaseStart === undefined) {
        if (performance.now() - created > STARTUP_MS) settle(() => reject(new Error(`the game check thread did not start within ${seconds(STARTUP_MS)}`)));
        return;
      }
      const now = performance.now() - phaseStart;
      const c = probeCalls(probe);
      if (c !== calls) {
        calls = c;
        progressAt = now;
      }
      const limit = deadlineMs(deadline, total > 0 && calls > 0 ? (progressAt / calls) * total : 0);
      if (now <= limit) return;
      const where = describeProbe(probe) ?? 'loading the game module';
      settle(() => reject(new GameDefinitionError(name, `${where} did not return within ${seconds(limit)} (an endless loop?; --task-timeout raises the limit)`)));
    }, Math.max(10, Math.min(200, deadline.floorMs / 5)));
    worker.on('message', (m: GameCheckReply) => {
      if (m.type === 'started') phaseStart = performance.now();
      else if (m.type === 'family') {
        name = m.name;
        phaseStart = performance.now(); // the build's clock: the import's time does not count against it
      } else if (m.type === 'total') total = m.calls;
      else if (m.type === 'done') settle(() => resolve(m.ms));
      else settle(() => reject(rebuildError(m)));
    });
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the game check thread exited with code ${code}`))));
  });
}

/** The check thread's error as the class the calling thread's build would have thrown (same message). */
function rebuildError(m: Extract<GameCheckReply, { type: 'error' }>): Error {
  if (m.name === 'GameDefinitionError' && m.game !== undefined) {
    const prefix = `game '${m.game}': `;
    return new GameDefinitionError(m.game, m.message.startsWith(prefix) ? m.message.slice(prefix.length) : m.message);
  }
  if (m.name === 'OptionError') return new OptionError(m.message);
  if (m.name === 'RangeError') return new RangeError(m.message);
  return new Error(m.message);
}
