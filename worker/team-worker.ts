// A team worker of the local executor (coordinator/local-executor.ts, "Team calls"): a worker thread that
// takes messages on its own port, in order: 'attach' builds the run's Problem (./sweep-worker.ts attach,
// cached by run id), 'call' claims blocks of the call's range until none is left and runs each with
// shared/sweep-rows.ts runRange (updates guarded, so that the calling thread can put back and redo the block
// of a worker that died), then reports how many it ran. A call of another run, or one already over, finds
// nothing to claim. Any failure ends the thread (the executor sees it exit and replaces it).

import { parentPort, threadId, workerData } from 'node:worker_threads';
import { attach, fail, type Attached } from './sweep-worker.ts';
import { runRange } from '../shared/sweep-rows.ts';
import { blockRange, claimBlock, finishBlock, type TeamMessage, type TeamReply } from './sweep-protocol.ts';

const seat = (workerData as { seat: number }).seat;
const port = parentPort!;
let current: Attached | undefined;
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
    } catch (err) {
      reply({ type: 'attach-failed', runId: message.run.id, message: (err as Error)?.message ?? String(err) });
      return;
    }
    reply({ type: 'attached', runId: message.run.id, attachMs: performance.now() - t0, threadId });
    return;
  }
  const { call, op, inject } = message;
  if (current?.id !== message.runId) return;
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

function reply(r: TeamReply): void {
  port.postMessage(r);
}
