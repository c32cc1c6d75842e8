// The local executor's team: `size` long-lived worker threads (worker/team-worker.ts), each on its own
// message port, so that a call reaches every worker at once without the calling thread's event loop (Piscina
// hands out a task only when its caller's event loop has taken in the previous reply, which a caller busy on
// its own blocks has not). Seat i is worker i; a worker that exits is replaced at once in the same seat and
// attached to the current run; `onExit` tells the executor which seat died (so it can redo that seat's blocks).

import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { InjectedFault, SweepRun, TeamMessage, TeamReply } from '../shared/sweep-protocol.ts';
import type { TeamCall, TeamControl } from '../shared/team-call.ts';
import { createMailbox, deliver, type Mailbox } from '../shared/team-mailbox.ts';
import type { RangeOp } from '../shared/sweep-rows.ts';
import { startWorkerThread } from '../runtime/thread-pool.ts';

interface Seat {
  worker: Worker;
  /** Resolves once the seat's worker has built the current run's Problem (or failed to). */
  attached: Promise<void>;
  /**
   * The attaches sent and not answered yet, by run id. The worker's one 'message' and one 'exit' listener
   * (spawn) settle them: a listener pair per attach would pile up while a worker starts or lags behind runs
   * that follow each other quickly (MaxListenersExceededWarning, then printed from Worker.terminate()).
   */
  pending: Map<string, { resolve: () => void; reject: (err: Error) => void }>;
  threadId: number;
}

export class ThreadTeam {
  private readonly seats: Seat[] = [];
  /** Where a call goes to a worker lingering after the previous one (shared/team-mailbox.ts). */
  private readonly mailbox: Mailbox;
  /** Numbers the runs attached, so a call says which run it belongs to. */
  runNumber = 0;
  private run?: SweepRun;
  private control?: TeamControl;
  private closed = false;
  readonly threadIds = new Set<number>();

  constructor(
    readonly size: number,
    private readonly onExit: (seat: number, error: Error) => void,
    private readonly logger?: Logger,
  ) {
    this.mailbox = createMailbox(size);
    for (let i = 0; i < size; i++) this.seats.push(this.spawn(i));
  }

  /** Has every worker build `run`'s Problem; resolves when all have (rejects with the first failure). */
  attach(run: SweepRun, control: TeamControl): Promise<void> {
    this.run = run;
    this.control = control;
    this.runNumber++;
    for (let i = 0; i < this.size; i++) this.attachSeat(i);
    return Promise.all(this.seats.map((s) => s.attached)).then(() => undefined);
  }

  /** Sends a message to seat i's worker (each handles its messages in order). */
  send(seat: number, message: TeamMessage): void {
    this.seats[seat].worker.postMessage(message);
  }

  /** Sends a call of the current run to seat i: through its mailbox if the worker lingers (true), else as a message. */
  call(seat: number, call: Omit<TeamCall, 'control'>, op: RangeOp, inject?: InjectedFault): boolean {
    if (!inject && deliver(this.mailbox, seat, { run: this.runNumber, call, op })) return true;
    this.send(seat, { type: 'call', run: this.runNumber, call, op, inject });
    return false;
  }

  /** Ends seat i's worker now (a deadline); it is replaced like any worker that exits. */
  terminate(seat: number): void {
    void this.seats[seat]?.worker.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.seats.map((s) => s.worker.terminate()));
  }

  private spawn(seat: number): Seat {
    Atomics.store(this.mailbox.state, seat, 0); // a dead predecessor's seat may not be left lingering
    const worker = startWorkerThread('team-worker', { seat, mailbox: this.mailbox });
    const entry: Seat = { worker, attached: Promise.resolve(), pending: new Map(), threadId: worker.threadId };
    let failure: Error | undefined;
    worker.on('message', (r: TeamReply) => {
      if (r.type !== 'attached' && r.type !== 'attach-failed') return;
      if (r.type === 'attached') this.threadIds.add(r.threadId);
      const waiting = entry.pending.get(r.runId);
      if (!waiting) return;
      entry.pending.delete(r.runId);
      if (r.type === 'attach-failed') waiting.reject(new Error(`thread ${entry.threadId}, attach run ${r.runId}: ${r.message}`));
      else waiting.resolve();
    });
    worker.on('error', (err) => {
      failure = err;
    });
    worker.on('exit', (code) => {
      for (const [runId, waiting] of entry.pending) waiting.reject(new Error(`thread ${entry.threadId}, attach run ${runId}: the thread exited`));
      entry.pending.clear();
      if (this.closed) return;
      const error = failure ?? new Error(`worker exited with code: ${code}`);
      this.logger?.warn({ seat, err: error.message }, 'team worker exited; replacing it');
      this.seats[seat] = this.spawn(seat);
      if (this.run) this.attachSeat(seat);
      this.onExit(seat, error);
    });
    return entry;
  }

  private attachSeat(seat: number): void {
    const s = this.seats[seat];
    const run = this.run!;
    s.attached = new Promise<void>((resolve, reject) => {
      // the same run attached again before its reply: both settle with it
      const earlier = s.pending.get(run.id);
      s.pending.set(run.id, earlier ? { resolve: () => (earlier.resolve(), resolve()), reject: (e) => (earlier.reject(e), reject(e)) } : { resolve, reject });
    });
    s.attached.catch(() => {}); // awaited through attach(); a replacement's failure shows up in the calls
    this.send(seat, { type: 'attach', run, runNumber: this.runNumber, control: this.control! });
  }
}
