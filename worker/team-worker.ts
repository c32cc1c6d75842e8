// A team worker of the local executor (coordinator/local-executor.ts, "Team calls"): a worker thread that
// takes messages on its own port, in order: 'attach' builds the run's Problem (./sweep-worker.ts attach,
// cached by run id), 'call' claims blocks of the call's range until none is left and runs each with
// shared/sweep-rows.ts runRange (updates guarded, so that the calling thread can put back and redo the block
// of a worker that died), then reports how many it ran. A call of another run, or one already over, finds
// nothing to claim. Any failure ends the thread (the executor sees it exit and replaces it).

import { parentPort, receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';
import { attach, fail, type Attached } from './sweep-worker.ts';
import { runRange } from '../shared/sweep-rows.ts';
import { blockRange, claimBlock, finishBlock, type TeamCall, type TeamControl, type TeamMessage, type TeamReply } from './sweep-protocol.ts';

const { seat, signals: signalBuffer } = workerData as { seat: number; signals: SharedArrayBuffer };
/** signals[seat] counts the messages sent to this worker (the executor adds one and notifies after each). */
const signals = new Int32Array(signalBuffer);
const port = parentPort!;
/** After a call, how long a worker keeps watching for the next one: spinning, then in a futex wait (ms). */
const SPIN_MS = 0.1;
const LINGER_MS = 2;
let current: Attached | undefined;
let control: TeamControl | undefined;
let queue: Promise<void> = Promise.resolve();

port.on('message', (message: TeamMessage) => {
  queue = queue.then(() => handle(message)).catch((err: unknown) => {
    // the executor sees the thread exit and recovers; the error text goes with it
    setImmediate(() => {
      throw err;
    });
  });
});

async function handle(message: TeamMessage): Promise<void> {
  if (message.type === 'attach') {
    const t0 = performance.now();
    try {
      current = await attach(message.run);
      control = message.control;
    } catch (err) {
      reply({ type: 'attach-failed', runId: message.run.id, message: (err as Error)?.message ?? String(err) });
      return;
    }
    reply({ type: 'attached', runId: message.run.id, attachMs: performance.now() - t0, threadId });
    return;
  }
  // a call, then any that follow at once (linger), in a loop
  let next: TeamMessage | undefined = message;
  while (next?.type === 'call') {
    runCall(next);
    next = linger();
  }
  if (next) {
    const attachment = next;
    queue = queue.then(() => handle(attachment));
  }
}

function runCall({ runId, call: numbers, op, inject }: Extract<TeamMessage, { type: 'call' }>): void {
  if (current?.id !== runId || !control) return;
  const call: TeamCall = { ...numbers, control };
  const half = inject?.at === 'mid' ? () => fail(inject) : undefined;
  if (inject?.at === 'start') fail(inject);
  const t0 = performance.now();
  let blocks = 0;
  for (let b = claimBlock(call, seat); b >= 0; b = claimBlock(call, seat)) {
    const [from, to] = blockRange(call, b);
    runRange(current, op, from, to, blocks === 0 ? half : undefined);
    finishBlock(call, b);
    blocks++;
  }
  reply({ type: 'done', seq: call.seq, blocks, ms: performance.now() - t0 });
}

/**
 * The next call usually follows within microseconds (the T steps of a sweep, each a barrier), and a thread
 * that goes back to its event loop sleeps until the kernel wakes it for the message, 0.2 ms to several ms on
 * a virtual machine whose vCPU went idle. So watch for the next message for a moment, spinning briefly and
 * then waiting on this seat's signal word (a futex the sender notifies), and take it synchronously.
 */
function linger(): TeamMessage | undefined {
  const start = performance.now();
  let seen = Atomics.load(signals, seat);
  for (;;) {
    const got = receiveMessageOnPort(port);
    if (got) return got.message as TeamMessage;
    const elapsed = performance.now() - start;
    if (elapsed >= LINGER_MS) return undefined;
    if (elapsed < SPIN_MS) continue;
    Atomics.wait(signals, seat, seen, LINGER_MS - elapsed);
    seen = Atomics.load(signals, seat);
  }
}

function reply(r: TeamReply): void {
  port.postMessage(r);
}
