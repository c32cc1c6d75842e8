// The job consumer of a cluster node (`m3fg worker`): takes whole runs from the JetStream work queue
// (runtime/job-queue.ts) whenever the node has a free thread, runs each in a scratch folder, uploads the
// results under the job's hash into the node's own results bucket (the coordinator creates it when the node
// first shows up; no other party may write it), marks it done under the node's own status key, and acks.
// While a job runs, it sends an in-progress ack every ack-wait / 3, so a long run is not redelivered; a node
// killed mid-run sends none, and the server hands the job to another node after the ack wait.
//
// What runs a job is given (the coordinator's job pool, through the hook in `m3fg worker`): this module only
// moves jobs and files. A job that throws is marked failed and terminated (not redelivered: runs are
// deterministic, another node would fail the same way).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { connectNats, type NatsOptions } from '../runtime/nats-transport.ts';
import { getObject } from '../runtime/object-get.ts';
import { openObjectBucket } from '../runtime/object-bucket.ts';
import {
  decodeJson, encodeJson, isNotFound, NODE_HEARTBEAT_MS, nodeJobKey, nodeKey, openJobQueue, packFiles, resultPathOf, unpackFiles,
  type JobQueue, type JobStatus, type NodePresence, type QueuedJob,
} from '../runtime/job-queue.ts';

/** Runs jobs on the node's threads (coordinator/jobs/pool.ts's JobPool). */
export interface JobRunner {
  /** The node's threads (its presence in the status bucket says how many). */
  readonly threads: number;
  /** Threads neither busy nor promised to a job already taken. */
  readonly available: number;
  run(root: string, job: QueuedJob): Promise<{ seconds: number }>;
  close(): Promise<void>;
}

export interface JobConsumerOptions {
  nats: NatsOptions;
  runner: JobRunner;
  node: string;
  logger: Logger;
  /** How often to look for the queue while the coordinator has not created it yet (default 2 s). */
  retryMs?: number;
}

export class JobConsumer {
  private nc?: NatsConnection;
  private stopping = false;
  private readonly running = new Set<Promise<void>>();
  private loop?: Promise<void>;
  private wake: () => void = () => {};
  private readonly log: Logger;
  /** Jobs fetched but not yet handed to the runner: they hold a thread already (else the loop fetches more). */
  private inHand = 0;
  private presence?: { queue: JobQueue; timer: NodeJS.Timeout };

  constructor(private readonly options: JobConsumerOptions) {
    this.log = options.logger.child({ component: 'jobs', node: options.node });
  }

  async start(): Promise<void> {
    this.nc = await connectNats(this.options.nats);
    this.loop = this.run(this.nc).catch((err) => this.log.error({ err }, `job consumer stopped: ${(err as Error).message}`));
  }

  private async run(nc: NatsConnection): Promise<void> {
    const prefix = this.options.nats.prefix ?? 'm3fg';
    let queue: JobQueue | undefined;
    while (!this.stopping && !queue) {
      try {
        queue = await openJobQueue(nc, prefix);
      } catch (err) {
        if (!isNotFound(err)) {
          // no JetStream on the server, or this user may not use it: this node serves the sweeps only
          this.log.info(`the job queue is off on this node: ${(err as Error).message}`);
          return;
        }
        await this.sleep(this.options.retryMs ?? 2_000); // no study has created the queue yet
      }
    }
    if (!queue) return;
    const consumer = await jetstream(nc).consumers.get(queue.names.stream, queue.names.consumer);
    this.startPresence(queue);
    const own = await this.ownResults(nc, queue);
    if (!own) return;
    this.log.info({ stream: queue.names.stream }, 'taking jobs');
    while (!this.stopping) {
      if (this.options.runner.available - this.inHand <= 0) {
        await this.sleep(60_000); // until a job finishes (wake) or a minute passes
        continue;
      }
      const msg = await this.next(consumer);
      if (!msg) continue;
      this.inHand++;
      this.track(this.handle(queue, own, consumer, msg));
    }
  }

  /**
   * This node's results bucket, once the coordinator has created it (it does when it sees this node's
   * presence); a node may not create streams itself: a stream's creator chooses the subjects it captures.
   */
  private async ownResults(nc: NatsConnection, queue: JobQueue): Promise<ObjectStore | undefined> {
    const name = queue.names.nodeResults(this.options.node);
    let told = false;
    while (!this.stopping) {
      try {
        return await openObjectBucket(nc, name); // a stream planted under its name (other subjects) throws
      } catch (err) {
        if (!isNotFound(err)) throw err;
        if (!told) this.log.info({ bucket: name }, 'waiting for a study\'s coordinator to create this node\'s results bucket');
        told = true;
        await this.sleep(Math.min(this.options.retryMs ?? 2_000, 500)); // the study waits for it
      }
    }
    return undefined;
  }

  private async next(consumer: Consumer): Promise<JsMsg | undefined> {
    try {
      return (await consumer.next({ expires: 2_000 })) ?? undefined;
    } catch (err) {
      if (this.stopping) return undefined;
      this.log.warn({ err }, `fetching a job: ${(err as Error).message}`);
      await this.sleep(1_000);
      return undefined;
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => {
      this.running.delete(p);
      this.wake();
    });
  }

  /** Writes this node's presence now and every NODE_HEARTBEAT_MS (the coordinator counts the nodes by it). */
  private startPresence(queue: JobQueue): void {
    const key = nodeKey(this.options.node);
    const put = () =>
      queue.status
        .put(key, encodeJson({ state: 'taking jobs', node: this.options.node, threads: this.options.runner.threads, at: Date.now() } satisfies NodePresence))
        .catch((err) => this.log.warn({ err }, `writing this node's presence: ${(err as Error).message}`));
    void put();
    const timer = setInterval(put, NODE_HEARTBEAT_MS);
    timer.unref();
    this.presence = { queue, timer };
  }

  private async handle(queue: JobQueue, own: ObjectStore, consumer: Consumer, msg: JsMsg): Promise<void> {
    let handed = false;
    const hand = () => {
      if (!handed) this.inHand--;
      handed = true;
    };
    try {
      await this.runJob(queue, own, consumer, msg, hand);
    } finally {
      hand();
    }
  }

  private async runJob(queue: JobQueue, own: ObjectStore, consumer: Consumer, msg: JsMsg, hand: () => void): Promise<void> {
    msg.working();
    const job = decodeJson<{ job: QueuedJob }>(msg.data).job;
    // the ack wait as it is now: a later study may have set another one (--ack-wait)
    const ackWaitMs = ((await consumer.info().catch(() => undefined))?.config.ack_wait ?? 30e9) / 1e6;
    const log = this.log.child({ job: job.key, delivery: msg.info.deliveryCount });
    // under this node's own key: no node may write another's (deploy/gen-users.sh)
    const status = (s: Omit<JobStatus, 'at' | 'node'>) => queue.status.put(nodeJobKey(this.options.node, job.hash), encodeJson({ ...s, node: this.options.node, at: Date.now() }));
    // finished meanwhile (a redelivery after a slow node completed): the coordinator took it already
    const accepted = await queue.status.get(job.hash).catch(() => null);
    if (accepted?.value?.length && decodeJson<JobStatus>(accepted.value).state === 'done') {
      log.info('already done');
      msg.ack();
      return;
    }
    // this node finished it before (and was, say, killed before its ack): say so again
    if (await own.info(job.hash)) {
      log.info('already in this node\'s results bucket');
      await status({ state: 'done' });
      msg.ack();
      return;
    }
    const heartbeat = setInterval(() => msg.working(), Math.max(200, ackWaitMs / 3));
    const scratch = mkdtempSync(join(tmpdir(), 'm3fg-job-'));
    try {
      msg.working();
      await status({ state: 'running' });
      if (job.from) {
        // from the coordinator's bucket, with message gets, not getBlob: a node may create no consumer
        // (runtime/object-get.ts)
        const input = await getObject(queue.jsm.streams, queue.names.results, job.from.hash);
        if (!input) throw new Error(`the results of ${job.from.key} are not in the bucket`);
        unpackFiles(scratch, resultPathOf({ kind: 'solve', key: job.from.key, hash: job.from.hash, threads: 'one' }), input);
      }
      log.info('job started');
      const running = this.options.runner.run(scratch, job); // the runner holds its thread from here on
      hand();
      const outcome = await running;
      await own.putBlob({ name: job.hash, description: job.key }, packFiles(scratch, resultPathOf(job)));
      await status({ state: 'done', seconds: outcome.seconds });
      msg.ack();
      // the line tests and operators count: one per run this node computed
      log.info({ seconds: outcome.seconds }, 'job done');
    } catch (err) {
      log.error({ err }, `job failed: ${(err as Error).message}`);
      await status({ state: 'failed', error: (err as Error).message }).catch(() => {});
      msg.term(`failed: ${(err as Error).message}`);
    } finally {
      clearInterval(heartbeat);
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Stops taking jobs, lets the running ones finish and upload, then closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
    if (this.presence) {
      clearInterval(this.presence.timer);
      // gone at once for the coordinators, rather than after three heartbeats unheard (bounded: the server may be gone)
      await Promise.race([this.presence.queue.status.delete(nodeKey(this.options.node)).catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
    await Promise.allSettled([...this.running]);
    await this.options.runner.close();
    const nc = this.nc;
    if (!nc) return;
    // with the server gone, drain() waits for a reconnect that may never come: close after 2 s instead
    const drained = await Promise.race([
      nc.drain().then(() => true, () => true),
      new Promise<boolean>((done) => setTimeout(() => done(false), 2000).unref()),
    ]);
    if (!drained) await nc.close().catch(() => {});
  }
}
