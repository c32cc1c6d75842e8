// Deadlines for work that runs where a stuck loop can be stopped (a worker thread): the game's validation
// and every task of the local executor. A deadline is generous and proportional to what the work is
// expected to cost: max(floor, factor x expected), so a slow machine never trips it, and a kernel that
// loops forever ends the run with one line instead of hanging it.

export interface TaskDeadline {
  /** No deadline is shorter than this (ms). */
  readonly floorMs: number;
  /** A deadline is at least this many times the expected cost. */
  readonly factor: number;
}

/** 60 s at least, else 20 times the expected cost (`--task-timeout S` sets the floor). */
export const DEFAULT_TASK_DEADLINE: TaskDeadline = { floorMs: 60_000, factor: 20 };

export function deadlineMs(deadline: TaskDeadline, expectedMs: number): number {
  return Math.max(deadline.floorMs, deadline.factor * (Number.isFinite(expectedMs) ? expectedMs : 0));
}

/** Work that did not finish within its deadline; the message is one line naming what and where. */
export class TaskTimeoutError extends Error {
  override name = 'TaskTimeoutError';
}

/** "12 s" or "0.5 s": a deadline for messages. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toPrecision(3))} s`;
}
