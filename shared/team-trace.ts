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
  /**
   * Of busyMs: the thread's CPU time, and its time runnable but waiting for a core another process held (ms;
   * 0 where the thread cannot read its scheduler statistics: runtime/thread-cpu.ts).
   */
  cpuMs: number;
  waitMs: number;
}

const FIELDS = 7;
const HEADER = 1;

/** Per kind and seat the counters, then per seat its thread's Linux tid (0 until the worker writes it). */
export function createTrace(seats: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * (HEADER + seats * (TRACE_KINDS.length * FIELDS + 1))));
}

function seats(trace: Float64Array): number {
  return (trace.length - HEADER) / (TRACE_KINDS.length * FIELDS + 1);
}

/** A worker seat records its thread's Linux tid (for per-thread CPU readings from the calling thread). */
export function setSeatTid(trace: Float64Array, seat: number, tid: number): void {
  if (seat < seats(trace)) trace[HEADER + seats(trace) * TRACE_KINDS.length * FIELDS + seat] = tid;
}

export function seatTid(trace: Float64Array, seat: number): number {
  return trace[HEADER + seats(trace) * TRACE_KINDS.length * FIELDS + seat];
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

/**
 * A worker seat, after its part of a call: `firstClaim` and `end` on the shared clock (no blocks: a miss);
 * `cpu`: its CPU and run-queue ms over the same span.
 */
export function addSeatCall(trace: Float64Array, seat: number, kind: TraceKind, blocks: number, firstClaim: number, end: number, cpu?: { cpuMs: number; waitMs: number }): void {
  if (seat >= seats(trace)) return; // a seat beyond the trace (never, with createTrace(seats))
  const o = HEADER + (seat * TRACE_KINDS.length + TRACE_KINDS.indexOf(kind)) * FIELDS;
  if (blocks === 0) {
    trace[o + 1]++;
    return;
  }
  trace[o]++;
  trace[o + 2] += blocks;
  trace[o + 3] += end - firstClaim;
  trace[o + 4] += Math.max(0, firstClaim - trace[0]);
  if (cpu) {
    trace[o + 5] += cpu.cpuMs;
    trace[o + 6] += cpu.waitMs;
  }
}

/** Seat's counters, per kind. */
export function readSeat(trace: Float64Array, seat: number): Record<TraceKind, SeatTrace> {
  const out = {} as Record<TraceKind, SeatTrace>;
  TRACE_KINDS.forEach((kind, k) => {
    const o = HEADER + (seat * TRACE_KINDS.length + k) * FIELDS;
    out[kind] = { joined: trace[o], missed: trace[o + 1], blocks: trace[o + 2], busyMs: trace[o + 3], joinMs: trace[o + 4], cpuMs: trace[o + 5], waitMs: trace[o + 6] };
  });
  return out;
}
