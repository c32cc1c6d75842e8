// A team worker of the local executor (coordinator/local-executor.ts, "Team calls"): a worker thread that
// takes messages on its own port, in order: 'attach' builds the run's Problem (./sweep-worker.ts attach,
// cached by run id), 'call' claims blocks of the call's range until none is left and runs each with
// shared/sweep-rows.ts runRange (updates guarded, so that the calling thread can put back and redo the block
// of a worker that died), then adds its counts to the shared trace (shared/team-trace.ts). A call of another
// run, or one already over, finds nothing to claim. Any failure ends the thread (the executor sees it exit
// and replaces it).

import { parentPort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { awaitMail, startLinger, stopLinger, takeMail, type Mailbox } from '../shared/team-mailbox.ts';
import { attach, fail, type Attached } from './sweep-worker.ts';
import { runRange } from '../shared/sweep-rows.ts';
import { addSeatCall, setSeatTid, sharedClock } from '../shared/team-trace.ts';
import { threadCpu, threadTid } from '../runtime/thread-cpu.ts';
import type { TeamMessage, TeamReply } from '../shared/sweep-protocol.ts';
import { blockRange, claimBlock, finishBlock, type TeamCall, type TeamControl } from '../shared/team-call.ts';

const { seat, mailbox } = workerData as { seat: number; mailbox: Mailbox };
const port = parentPort!;
/** After a call, how long a worker keeps watching for the next one: spinning, then in a futex wait (ms). */
const SPIN_MS = 0.5;
const LINGER_MS = 2;
let current: Attached | undefined;
let control: TeamControl | undefined;
let runNumber = -1;
let queue: Promise<void> = Promise.resolve();

type Call = Pick<Extract<TeamMessage, { type: 'call' }>, 'run' | 'call' | 'op' | 'inject'>;

port.on('message', (message: TeamMessage) => enqueue(message));

function enqueue(message: TeamMessage): void {
  queue = queue.then(() => handle(message)).catch((err: unknown) => {
    // the executor sees the thread exit and recovers; the error text goes with it
    setImmediate(() => {
      throw err;
    });
  });
}

async function handle(message: TeamMessage): Promise<void> {
  if (message.type === 'attach') {
    const t0 = performance.now();
    try {
      current = await attach(message.run);
      control = message.control;
      runNumber = message.runNumber;
      setSeatTid(control.trace, seat, threadTid() ?? 0);
    } catch (err) {
      reply({ type: 'attach-failed', runId: message.run.id, message: (err as Error)?.message ?? String(err) });
      return;
    }
    reply({ type: 'attached', runId: message.run.id, attachMs: performance.now() - t0, threadId });
    return;
  }
  // a call, then those that follow at once (linger), in a loop
  let pending: Call[] = [message];
  while (pending.length > 0) {
    for (const c of pending) runCall(c);
    const next = linger();
    pending = next.calls;
    if (next.other) enqueue(next.other);
  }
}

function runCall({ run, call: numbers, op, inject }: Call): void {
  if (run !== runNumber || !current || !control) return;
  const call: TeamCall = { ...numbers, control };
  const half = inject?.at === 'mid' ? () => fail(inject) : undefined;
  if (inject?.at === 'start') fail(inject);
  let first = 0;
  let blocks = 0;
  let cpu0 = undefined as ReturnType<typeof threadCpu>;
  for (let b = claimBlock(call, seat); b >= 0; b = claimBlock(call, seat)) {
    if (blocks === 0) {
      first = sharedClock();
      cpu0 = threadCpu();
    }
    const [from, to] = blockRange(call, b);
    runRange(current, op, from, to, blocks === 0 ? half : undefined);
    finishBlock(call, b);
    blocks++;
  }
  // counted in shared memory: a reply per call would cost a message on every one of a sweep's barriers
  const cpu1 = blocks > 0 ? threadCpu() : undefined;
  const cpu = cpu0 && cpu1 ? { cpuMs: (cpu1.cpuNs - cpu0.cpuNs) / 1e6, waitMs: (cpu1.waitNs - cpu0.waitNs) / 1e6 } : undefined;
  addSeatCall(control.trace, seat, op.kind, blocks, first, sharedClock(), cpu);
}

/**
 * The next call usually follows within microseconds (the T steps of a sweep, each a barrier), and a thread
 * that goes back to its event loop sleeps until the kernel wakes it for a message, 0.2 ms to several ms on a
 * virtual machine whose vCPU went idle. So watch for the next call for a moment, spinning briefly and then in
 * a futex wait on this seat's mailbox (shared/team-mailbox.ts: the sender writes the call there while this worker
 * lingers), and take a message that arrives meanwhile synchronously. Calls in order; another message (an
 * attach) goes back through the queue.
 */
function linger(): { calls: Call[]; other?: TeamMessage } {
  const start = performance.now();
  startLinger(mailbox, seat);
  for (;;) {
    const mail = takeMail(mailbox, seat);
    if (mail) return { calls: [mail] };
    const got = receiveMessageOnPort(port);
    if (got) {
      const m = got.message as TeamMessage;
      const extra = stopLinger(mailbox, seat);
      if (m.type === 'call') return { calls: extra ? [m, extra] : [m] };
      return { calls: extra ? [extra] : [], other: m };
    }
    const elapsed = performance.now() - start;
    if (elapsed >= LINGER_MS) {
      const extra = stopLinger(mailbox, seat);
      return { calls: extra ? [extra] : [] };
    }
    if (elapsed >= SPIN_MS) awaitMail(mailbox, seat, Math.min(0.25, LINGER_MS - elapsed));
  }
}

function reply(r: TeamReply): void {
  port.postMessage(r);
}
