// The fast path of a team call to a worker that is lingering after the previous one (worker/team-worker.ts):
// the call is written to the worker's slot in shared memory and the worker is woken with a futex notify,
// without a message (posting one costs a structured clone and an event-loop wake-up: 0.1-0.3 ms measured
// here on a loaded machine, on every one of an iteration's T + 1 barriers). A worker not lingering gets the
// message as before. Per seat: a state word, and a slot of numbers that encodes the call.
//
//   state: IDLE (not lingering: send a message) -> LINGERING (set by the worker) -> WRITING (the sender won
//   the compare-and-swap and writes the slot) -> TAKEN (written; the worker reads it and goes BUSY).
// The sender writes a slot only after winning LINGERING -> WRITING, and the worker reads it only in TAKEN, so a
// slot is never read while it is written. A worker that leaves (timeout, or a message arrived) does so with
// LINGERING -> IDLE; if that fails, the sender has a call in its slot, and the worker takes it too.

import type { RangeOp } from './sweep-rows.ts';
import type { TeamCall } from './team-call.ts';

const IDLE = 0;
const LINGERING = 1;
const WRITING = 2;
const TAKEN = 3;
const SLOT = 16;

export interface Mailbox {
  readonly state: Int32Array;
  readonly slots: Float64Array;
}

export function createMailbox(seats: number): Mailbox {
  return { state: new Int32Array(new SharedArrayBuffer(4 * Math.max(1, seats))), slots: new Float64Array(new SharedArrayBuffer(8 * SLOT * Math.max(1, seats))) };
}

/** A call as numbers: the run, the call's seq/blocks/units, and its operation. */
export interface MailCall {
  readonly run: number;
  readonly call: Omit<TeamCall, 'control'>;
  readonly op: RangeOp;
}

/** Sender: delivers `mail` through seat's slot if its worker is lingering; false: send a message instead. */
export function deliver(box: Mailbox, seat: number, mail: MailCall): boolean {
  if (Atomics.compareExchange(box.state, seat, LINGERING, WRITING) !== LINGERING) return false;
  encode(box.slots, seat * SLOT, mail);
  Atomics.store(box.state, seat, TAKEN);
  Atomics.notify(box.state, seat);
  return true;
}

/** Worker: starts lingering. */
export function startLinger(box: Mailbox, seat: number): void {
  Atomics.store(box.state, seat, LINGERING);
}

/** Worker, lingering: the call in its slot, if one has been delivered (the worker is then no longer lingering). */
export function takeMail(box: Mailbox, seat: number): MailCall | undefined {
  if (Atomics.load(box.state, seat) !== TAKEN) return undefined;
  const mail = decode(box.slots, seat * SLOT);
  Atomics.store(box.state, seat, IDLE);
  return mail;
}

/** Worker: stops lingering; returns a call delivered meanwhile (waiting out a write in progress). */
export function stopLinger(box: Mailbox, seat: number): MailCall | undefined {
  if (Atomics.compareExchange(box.state, seat, LINGERING, IDLE) === LINGERING) return undefined;
  while (Atomics.load(box.state, seat) === WRITING) Atomics.wait(box.state, seat, WRITING, 1);
  return takeMail(box, seat);
}

/** Worker: waits up to `ms` for a delivery (a futex wait on the state word). */
export function awaitMail(box: Mailbox, seat: number, ms: number): void {
  Atomics.wait(box.state, seat, LINGERING, ms);
}

const OPS = ['flow', 'backward', 'update', 'step'] as const;
const RULES = ['average', 'replace', 'omd', 'damped', 'none'] as const;
const PLAYERS = ['both', 'major', 'minor'] as const;

function encode(f: Float64Array, o: number, { run, call, op }: MailCall): void {
  f.fill(NaN, o, o + SLOT);
  f[o] = run;
  f[o + 1] = call.seq;
  f[o + 2] = call.blocks;
  f[o + 3] = call.units;
  f[o + 4] = OPS.indexOf(op.kind);
  if (op.kind === 'flow') return;
  f[o + 5] = op.t;
  if (op.kind === 'backward') {
    if (op.options.discount !== undefined) f[o + 6] = op.options.discount;
    if (op.options.slot !== undefined) f[o + 7] = op.options.slot;
    if (op.options.storeQ !== undefined) f[o + 8] = op.options.storeQ ? 1 : 0;
    return;
  }
  const rule = op.rule;
  f[o + 6] = op.seq;
  f[o + 9] = RULES.indexOf(rule.kind);
  if (rule.kind === 'none') return;
  if (rule.kind === 'omd') {
    f[o + 12] = rule.temperature;
    if (rule.rate !== undefined) f[o + 14] = rule.rate;
    return;
  }
  if (rule.kind === 'average') f[o + 10] = rule.iteration;
  if (rule.kind === 'damped') f[o + 14] = rule.step;
  if (rule.response) f[o + 11] = rule.response.kind === 'greedy' ? 0 : 1;
  if (rule.response?.kind === 'softmax') f[o + 12] = rule.response.temperature;
  if (rule.players) f[o + 13] = PLAYERS.indexOf(rule.players);
}

function decode(f: Float64Array, o: number): MailCall {
  const call = { seq: f[o + 1], blocks: f[o + 2], units: f[o + 3] };
  const kind = OPS[f[o + 4]];
  const has = (i: number) => !Number.isNaN(f[o + i]);
  let op: RangeOp;
  if (kind === 'flow') op = { kind };
  else if (kind === 'backward') {
    const options: { discount?: number; slot?: number; storeQ?: boolean } = {};
    if (has(6)) options.discount = f[o + 6];
    if (has(7)) options.slot = f[o + 7];
    if (has(8)) options.storeQ = f[o + 8] === 1;
    op = { kind, t: f[o + 5], options };
  } else {
    const ruleKind = RULES[f[o + 9]];
    let rule: Extract<RangeOp, { rule: unknown }>['rule'];
    if (ruleKind === 'none') rule = { kind: 'none' };
    else if (ruleKind === 'omd') rule = has(14) ? { kind: 'omd', temperature: f[o + 12], rate: f[o + 14] } : { kind: 'omd', temperature: f[o + 12] };
    else {
      const r: { kind: 'average' | 'replace' | 'damped'; iteration?: number; step?: number; response?: { kind: 'greedy' } | { kind: 'softmax'; temperature: number }; players?: (typeof PLAYERS)[number] } = { kind: ruleKind };
      if (ruleKind === 'average') r.iteration = f[o + 10];
      if (ruleKind === 'damped') r.step = f[o + 14];
      if (has(11)) r.response = f[o + 11] === 0 ? { kind: 'greedy' } : { kind: 'softmax', temperature: f[o + 12] };
      if (has(13)) r.players = PLAYERS[f[o + 13]];
      rule = r as typeof rule;
    }
    op = { kind, t: f[o + 5], rule, seq: f[o + 6] };
  }
  return { run: f[o], call, op };
}
