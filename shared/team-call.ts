// Team calls (the local executor's default; coordinator/local-executor.ts). The calling thread and the team's
// worker threads share one call's range, cut into `blocks` contiguous blocks; each participant claims one
// block at a time with an atomic compare-and-swap until none is left: whoever is awake and fast takes more, so
// a thread that wakes late or is descheduled by another process holds up the call by at most one block. Each
// block is one pure range (same bits as any split). Calls reach a worker as messages on its own port or
// through its mailbox (worker/team-worker.ts, ./team-mailbox.ts); a message that arrives after its call is
// over finds no block to claim: each claim word packs the call's sequence number with a next block.
//
// Home ranges. Participant p (a worker's seat, or the calling thread: seat = workers) first claims, in order,
// the blocks of its own contiguous share [p B / P, (p + 1) B / P), and only then takes the next block of
// the others' shares (stealing from their fronts). The same participant thus computes the same rows at every
// step of a sweep: each thread reads its own half of the model tables (every thread has its own copy) and
// of the policy rows step after step, instead of a random mix of both halves; with one global counter the
// two threads' claims interleaved, and every thread streamed the whole of its copy through the caches.
//
// Control (Int32Array): [blocks done, blocks, participants, -]; per participant its claim word
// (seq << 16 | next block) and the end of its share; per block the seat (+ 1) that claimed it, and the
// call's seq once it is complete. What a recovery after a dead worker redoes is every block its seat
// claimed and did not complete.
//
// Opening a call first stamps every claim word with the new seq (nothing left), then writes the ends, then
// the starts: a participant still claiming in the previous call either sees the new seq (and stops) or
// succeeds its compare-and-swap before the stamp, and so read the previous call's end.

import { createTrace, markOpened } from './team-trace.ts';

const DONE = 0;
const BLOCKS = 1;
const HEADER = 4;
const EXHAUSTED = 0xffff;

export interface TeamControl {
  /** The control words (a view on a SharedArrayBuffer: a message carries it without copying). */
  readonly words: Int32Array;
  readonly maxBlocks: number;
  /** Participants: the worker seats and the calling thread (seat = participants - 1). */
  readonly participants: number;
  /** The workers' counters (./team-trace.ts), and when the current call was opened. */
  readonly trace: Float64Array;
}

/** One call as the participants see it. */
export interface TeamCall {
  readonly control: TeamControl;
  readonly seq: number;
  readonly blocks: number;
  /** Units of the whole range [0, units) the blocks cut. */
  readonly units: number;
}

/** Control words for calls of up to `maxBlocks` blocks shared by `seats` workers and the calling thread. */
export function createTeamControl(maxBlocks: number, seats: number): TeamControl {
  const participants = seats + 1;
  return {
    words: new Int32Array(new SharedArrayBuffer((HEADER + 2 * participants + 2 * maxBlocks) * 4)),
    maxBlocks,
    participants,
    trace: createTrace(seats),
  };
}

function claimAt(p: number): number {
  return HEADER + 2 * p;
}

function claimedBy(control: TeamControl, b: number): number {
  return HEADER + 2 * control.participants + b;
}

function doneStamp(control: TeamControl, b: number): number {
  return HEADER + 2 * control.participants + control.maxBlocks + b;
}

/** First block of participant p's share of `blocks`. */
export function shareStart(blocks: number, participants: number, p: number): number {
  return Math.floor((p * blocks) / participants);
}

/**
 * Opens a call of `blocks` blocks (the calling thread, before it sends the call to the workers). `home` false:
 * no home shares, every participant claims from one counter in block order (the earlier scheme; benchmarks).
 */
export function openTeamCall(control: TeamControl, seq: number, blocks: number, units: number, home = true): TeamCall {
  if (blocks > control.maxBlocks || blocks >= EXHAUSTED) throw new RangeError(`team: ${blocks} blocks, at most ${control.maxBlocks}`);
  const w = control.words;
  const tag = (seq & 0xffff) << 16;
  const P = control.participants;
  for (let p = 0; p < P; p++) Atomics.store(w, claimAt(p), tag | EXHAUSTED);
  w.fill(0, claimedBy(control, 0), claimedBy(control, blocks)); // claimed-by seats; the done stamps are compared with seq
  Atomics.store(w, DONE, 0);
  Atomics.store(w, BLOCKS, blocks);
  const start = (p: number) => (home ? shareStart(blocks, P, p) : p === 0 ? 0 : blocks);
  for (let p = 0; p < P; p++) Atomics.store(w, claimAt(p) + 1, start(p + 1));
  markOpened(control.trace);
  for (let p = 0; p < P; p++) Atomics.store(w, claimAt(p), tag | start(p));
  return { control, seq, blocks, units };
}

/**
 * The next unclaimed block of the call for `seat` (the calling thread: participants - 1): from its own share
 * first, then from the others', or -1 when none is left.
 */
export function claimBlock(call: TeamCall, seat: number): number {
  const { control } = call;
  const P = control.participants;
  for (let k = 0; k < P; k++) {
    const b = claimFrom(call, (seat + k) % P);
    if (b === -2) return -1; // a later call owns the control
    if (b >= 0) {
      Atomics.store(control.words, claimedBy(control, b), seat + 1);
      return b;
    }
  }
  return -1;
}

/** The next block of participant p's share (-1: none left there; -2: the control belongs to another call). */
function claimFrom(call: TeamCall, p: number): number {
  const w = call.control.words;
  const tag = (call.seq & 0xffff) << 16;
  const at = claimAt(p);
  for (;;) {
    const word = Atomics.load(w, at);
    if ((word & ~0xffff) !== tag) return -2;
    const b = word & 0xffff;
    if (b >= Atomics.load(w, at + 1)) return -1;
    if (Atomics.compareExchange(w, at, word, word + 1) === word) return b;
  }
}

/** [from, to) of block b: contiguous, sizes differ by at most one. */
export function blockRange(call: Pick<TeamCall, 'blocks' | 'units'>, b: number): [number, number] {
  return [Math.floor((b * call.units) / call.blocks), Math.floor(((b + 1) * call.units) / call.blocks)];
}

/** Marks block b complete and wakes a caller waiting for the count. */
export function finishBlock(call: TeamCall, b: number): void {
  const w = call.control.words;
  Atomics.store(w, doneStamp(call.control, b), call.seq);
  Atomics.add(w, DONE, 1);
  Atomics.notify(w, DONE);
}

/** Blocks of the call that `seat` claimed and did not complete (after its thread died). */
export function unfinishedBlocks(call: TeamCall, seat: number): number[] {
  const { control } = call;
  const w = control.words;
  const out: number[] = [];
  for (let b = 0; b < call.blocks; b++) {
    if (Atomics.load(w, claimedBy(control, b)) === seat + 1 && Atomics.load(w, doneStamp(control, b)) !== call.seq) out.push(b);
  }
  return out;
}

/** Blocks complete so far. */
export function blocksDone(call: TeamCall): number {
  return Atomics.load(call.control.words, DONE);
}

/**
 * Blocks this thread up to `ms` until every block of the call is complete; true if they are. It spins for
 * the first `spinMs` (what is left is usually one block of the other threads, a fraction of a millisecond),
 * then waits in a futex: the thread that completes the last block wakes the waiter directly, not through an
 * event loop, but a vCPU that went idle in a futex wait takes 0.1 ms to several ms to wake on a virtual
 * machine, and a sweep has a barrier at every step.
 */
export function waitTeam(call: TeamCall, ms: number, spinMs = 0): boolean {
  const w = call.control.words;
  const start = performance.now();
  const until = start + ms;
  for (;;) {
    const done = Atomics.load(w, DONE);
    if (done >= call.blocks) return true;
    const now = performance.now();
    const left = until - now;
    if (left <= 0) return false;
    if (now - start < spinMs) continue;
    Atomics.wait(w, DONE, done, left);
  }
}

/** Resolves when the count of complete blocks changes, or after `ms` (without blocking this thread). */
export async function teamProgress(call: TeamCall, ms: number): Promise<void> {
  const w = call.control.words;
  const done = Atomics.load(w, DONE);
  if (done >= call.blocks) return;
  // Atomics.waitAsync: ES2024, in Node since 16; typed here for the es2022 lib
  const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: unknown } }).waitAsync;
  const r = waitAsync(w, DONE, done, ms);
  if (r.async) await r.value;
}
