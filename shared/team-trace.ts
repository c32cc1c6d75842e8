// Counters of a thread team's calls, to see where a parallel sweep's time goes (LocalExecutorStats.team,
// bench/threads.ts). Each worker seat adds into its own slots of a shared Float64Array, per kind of call: no
// message and no lock (one writer per slot; the calling thread reads them between calls, where a value a
// few microseconds stale does not matter). Slot 0 holds when the current call was opened, on the clock that
// all threads of the process share (performance.timeOrigin + performance.now()).

export const TRACE_KINDS = ['flow', 'step', 'backward', 'update'] as const;
export type TraceKind = (typeof TRACE_KINDS)[number];

/** One seat's calls of one kind. */
export interface SeatTrace {
  /** Calls in which the seat ran at least one block, and those in which it found none left (it came too late). */
  joined: number;
  missed: number;
  blocks: number;
  /** Time from its first block's claim to its last block's end, summed over the calls it joined (ms). */
  busyMs: number;
  /** Time from the call's opening to the seat's first claim, summed over the calls it joined (ms). */
  joinMs: number;
}

const FIELDS = 5;
const HEADER = 1;

export function createTrace(seats: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * (HEADER + seats * TRACE_KINDS.length * FIELDS)));
}

/** Milliseconds on the clock every thread of the process shares. */
export function sharedClock(): number {
  return performance.timeOrigin + performance.now();
}

/** The calling thread, opening a call. */
export function markOpened(trace: Float64Array, at = sharedClock()): void {
  trace[0] = at;
}

export function openedAt(trace: Float64Array): number {
  return trace[0];
}

/** A worker seat, after its part of a call: `firstClaim` and `end` on the shared clock (no blocks: a miss). */
export function addSeatCall(trace: Float64Array, seat: number, kind: TraceKind, blocks: number, firstClaim: number, end: number): void {
  const o = HEADER + (seat * TRACE_KINDS.length + TRACE_KINDS.indexOf(kind)) * FIELDS;
  if (o + FIELDS > trace.length) return; // a seat beyond the trace (never, with createTrace(seats))
  if (blocks === 0) {
    trace[o + 1]++;
    return;
  }
  trace[o]++;
  trace[o + 2] += blocks;
  trace[o + 3] += end - firstClaim;
  trace[o + 4] += Math.max(0, firstClaim - trace[0]);
}

/** Seat's counters, per kind. */
export function readSeat(trace: Float64Array, seat: number): Record<TraceKind, SeatTrace> {
  const out = {} as Record<TraceKind, SeatTrace>;
  TRACE_KINDS.forEach((kind, k) => {
    const o = HEADER + (seat * TRACE_KINDS.length + k) * FIELDS;
    out[kind] = { joined: trace[o], missed: trace[o + 1], blocks: trace[o + 2], busyMs: trace[o + 3], joinMs: trace[o + 4] };
  });
  return out;
}
