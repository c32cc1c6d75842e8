// A study's jobs on a cluster (`--nats URL`): each job one message on the JetStream work queue, taken by
// whichever `m3fg worker` node has a free thread; results come back through the object store
// (runtime/job-queue.ts). The coordinator watches the status bucket and downloads each result into DIR as soon
// as a node has uploaded it.
//
// Integrity: a node puts its results into its own bucket and marks them done under its own status key
// (runtime/job-queue.ts); the permissions (deploy/gen-users.sh) let no party write another's. So the
// coordinator downloads a result only from the bucket of the node whose key says done, and checks its size
// and SHA-256 (runtime/object-get.ts) and that it is a complete run of the job's configuration
// (doneOutcome) before it takes it; it then records the result as its own ('done', from that node).
//
// Restart safety: a job some node marked done is downloaded, not queued again; a job whose message
// is still in the stream (waiting, or running on a node) is waited for, not queued twice. So a coordinator
// killed and started again with the same command recomputes nothing that finished, here or on the cluster.
//
// Nodes: each node's presence in the status bucket (runtime/job-queue.ts, nodeKey) is counted, a node
// unheard for 3 heartbeats as gone. With jobs outstanding, no node present and no job progress (a status
// change) for --node-wait, the study ends with one line; its jobs stay queued, so the same command resumes.

import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { connectNats, type NatsOptions } from '../../runtime/nats-transport.ts';
import { getObject, objectChunks } from '../../runtime/object-get.ts';
import {
  decodeJson, encodeJson, ensureJobQueue, ensureNodeResults, NODE_HEARTBEAT_MS, NODE_KEY_PREFIX, packFiles, parseNodeJobKey, resultPathOf, unpackFiles,
  type JobQueue, type JobQueueSettings, type JobStatus,
} from '../../runtime/job-queue.ts';
import { ClusterError } from '../cluster-executor.ts';
import { doneOutcome } from './execute.ts';
import type { JobOutcome, JobSpec } from './spec.ts';
import type { JobBackend } from './study.ts';

interface Waiter {
  /** When the study asked for the job (ms since the epoch): a result done before that is reused. */
  since: number;
  root: string;
  job: JobSpec;
  resolve: (o: JobOutcome & { reused?: boolean }) => void;
  reject: (err: unknown) => void;
}

/** Default --node-wait: seconds with jobs queued, no node present and no progress before the study gives up. */
export const DEFAULT_NODE_WAIT_S = 120;

export interface NodeWaitOptions {
  /** Give up after this long with no node and no progress (default DEFAULT_NODE_WAIT_S s). */
  nodeWaitMs?: number;
  /** A line when the number of consuming nodes changes ("waiting for nodes (0 consuming)"); default stdout. */
  print?: (line: string) => void;
  /** How often the node count is looked at (default 1 s). */
  pollMs?: number;
}

/** No node took or advanced a job for --node-wait: the study stops, its jobs left in the queue. */
export class NoNodesError extends ClusterError {}

export class NatsBackend implements JobBackend {
  readonly name: string;
  failure?: Error;
  private readonly waiters = new Map<string, Waiter>();
  private readonly js: JetStreamClient;
  private watch?: AsyncIterable<KvWatchEntry> & { stop(): void };
  /** Node key -> when its presence was last heard (this process's clock). */
  private readonly nodes = new Map<string, number>();
  /** Nodes whose results bucket exists (created here, or found). */
  private readonly buckets = new Map<string, Promise<boolean>>();
  /** Last time a node was present or a job changed state, or nothing was outstanding. */
  private lastSign = Date.now();
  private shownConsuming?: number;
  private readonly timer: NodeJS.Timeout;
  private readonly nodeWaitMs: number;
  private readonly print: (line: string) => void;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly queue: JobQueue,
    private readonly logger: Logger,
    private readonly url: string,
    private readonly prefix: string,
    wait: NodeWaitOptions,
  ) {
    this.name = `the NATS job queue at ${url}`;
    this.js = jetstream(nc);
    this.nodeWaitMs = wait.nodeWaitMs ?? DEFAULT_NODE_WAIT_S * 1000;
    this.print = wait.print ?? ((line) => process.stdout.write(`${line}\n`));
    this.timer = setInterval(() => this.checkNodes(), wait.pollMs ?? 1000);
    this.timer.unref();
  }

  /** Nodes heard from within 3 heartbeats. */
  consuming(now = Date.now()): number {
    let n = 0;
    for (const at of this.nodes.values()) if (now - at <= 3 * NODE_HEARTBEAT_MS) n++;
    return n;
  }

  private checkNodes(): void {
    const now = Date.now();
    const consuming = this.consuming(now);
    if (this.waiters.size === 0 || consuming > 0) this.lastSign = now;
    if (this.waiters.size === 0) return;
    // "0 consuming" only once the nodes had a moment to announce themselves
    if (consuming !== this.shownConsuming && (consuming > 0 || this.shownConsuming !== undefined || now - this.lastSign >= 2000)) {
      this.shownConsuming = consuming;
      this.print(consuming === 0 ? `waiting for nodes (0 consuming; giving up after ${fmtWait(this.nodeWaitMs)} without one)` : `nodes consuming: ${consuming}`);
    }
    if (now - this.lastSign <= this.nodeWaitMs) return;
    const queued = this.waiters.size;
    this.failure = new NoNodesError(
      `--nats ${this.url}: no node took or advanced a job for ${fmtWait(this.nodeWaitMs)} (0 consuming on ${this.queue.names.stream}); ` +
        `the ${queued} job${queued === 1 ? '' : 's'} left stay queued: start \`m3fg worker --nats ${this.url}${this.prefix === 'm3fg' ? '' : ` --subject-prefix ${this.prefix}`}\` nodes and run the same command again (--node-wait S waits longer)`,
    );
    clearInterval(this.timer);
    for (const w of this.waiters.values()) w.reject(this.failure);
    this.waiters.clear();
  }

  static async connect(nats: NatsOptions, settings: JobQueueSettings, logger: Logger, wait: NodeWaitOptions = {}): Promise<NatsBackend> {
    const nc = await connectNats(nats);
    try {
      const queue = await ensureJobQueue(nc, nats.prefix ?? 'm3fg', settings).catch((err) => {
        // no JetStream (nats-server without -js), or a user without the job queue's permissions
        throw new ClusterError(`--nats ${nats.url}: cannot set up the job queue: ${(err as Error).message} (JetStream on? deploy/jetstream.md)`);
      });
      const backend = new NatsBackend(nc, queue, logger.child({ component: 'jobs' }), nats.url, nats.prefix ?? 'm3fg', wait);
      await backend.startWatch();
      return backend;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  private async startWatch(): Promise<void> {
    const watch = (await this.queue.status.watch()) as unknown as AsyncIterable<KvWatchEntry> & { stop(): void };
    this.watch = watch;
    void (async () => {
      for await (const e of watch) {
        if (e.key.startsWith(NODE_KEY_PREFIX)) {
          if (e.operation === 'PUT') {
            this.nodes.set(e.key, Date.now());
            void this.nodeBucket(e.key.slice(NODE_KEY_PREFIX.length));
          } else this.nodes.delete(e.key);
          continue;
        }
        const mine = parseNodeJobKey(e.key); // a node's own key: only that node may have written it
        // only news: what was there when the watch started is looked up by submit() (doneBy), which also
        // checks the object is still there; an old failure may since have been queued again and be running
        if (e.operation !== 'PUT' || !mine || !e.isUpdate) continue;
        this.lastSign = Date.now(); // a job changed state: the cluster is working
        const w = this.waiters.get(mine.hash);
        if (!w) continue;
        const st = decodeJson<JobStatus>(e.value);
        if (st.state === 'done') this.settle(w, mine.node, st.at < w.since);
        else if (st.state === 'failed') {
          this.waiters.delete(mine.hash);
          w.reject(new Error(`on node ${mine.node}: ${st.error}`));
          void this.queue.status.put(mine.hash, encodeJson({ state: 'failed', node: mine.node, error: st.error, at: Date.now() } satisfies JobStatus)).catch(() => {});
        }
      }
    })().catch((err) => this.logger.error({ err }, `status watch: ${(err as Error).message}`));
  }

  /** Creates a node's results bucket once (a node may create no stream: it waits for this). */
  private nodeBucket(node: string): Promise<boolean> {
    let made = this.buckets.get(node);
    if (!made) {
      made = ensureNodeResults(this.nc, this.queue, node).then(
        () => true,
        (err) => {
          // e.g. a node name the server's users do not know (deploy/gen-users.sh: node-1..K); said once
          this.logger.warn({ err, node }, `cannot create the results bucket ${this.queue.names.nodeResults(node)} of node ${node}: ${(err as Error).message}`);
          return false;
        },
      );
      this.buckets.set(node, made);
    }
    return made;
  }

  /** Downloads the job's results from `node`'s bucket into its study folder and resolves its waiter (once). */
  private settle(w: Waiter, node: string, reused: boolean): void {
    if (this.waiters.get(w.job.hash) !== w) return;
    this.waiters.delete(w.job.hash);
    this.download(w.root, w.job, node).then((o) => w.resolve({ ...o, reused }), w.reject);
  }

  private async download(root: string, job: JobSpec, node: string): Promise<JobOutcome> {
    const bucket = this.queue.names.nodeResults(node);
    // message gets, not getBlob: the coordinator's user needs no consumer on the results buckets; size and
    // SHA-256 checked against the object's metadata
    const from = `the results from node ${node} (bucket ${bucket})`;
    const data = await getObject(this.queue.jsm.streams, bucket, job.hash).catch((err) => {
      throw new Error(`${job.key}: ${from}: ${(err as Error).message}`);
    });
    if (!data) throw new Error(`${job.key}: node ${node} marked it done, but its results are not in the bucket ${bucket}`);
    try {
      unpackFiles(root, resultPathOf(job), data);
    } catch (err) {
      throw new Error(`${job.key}: ${from}: ${(err as Error).message}`);
    }
    const outcome = doneOutcome(root, job);
    if (!outcome) throw new Error(`${job.key}: ${from} are incomplete or of another configuration`);
    await this.queue.status.put(job.hash, encodeJson({ state: 'done', node, at: Date.now() } satisfies JobStatus));
    this.logger.info({ job: job.key, node }, 'result taken from node');
    return { ...outcome, node };
  }

  /** The node whose done result of `hash` lies in its bucket: the coordinator's record, else any node's key. */
  private async doneBy(hash: string): Promise<string | undefined> {
    const own = await this.queue.status.get(hash).catch(() => null);
    const st = own?.value?.length ? decodeJson<JobStatus>(own.value) : undefined;
    const holds = (node: string) => objectChunks(this.queue.jsm.streams, this.queue.names.nodeResults(node), hash).then((c) => c !== undefined, () => false);
    if (st?.state === 'done' && st.node && (await holds(st.node))) return st.node;
    for await (const key of await this.queue.status.keys(`job.*.${hash}`)) {
      const e = await this.queue.status.get(key);
      const node = parseNodeJobKey(key)?.node;
      // the object may have been removed by hand since (deploy/jetstream.md, Sizes): then it runs again
      if (node && e?.operation === 'PUT' && e.value.length && decodeJson<JobStatus>(e.value).state === 'done' && (await holds(node))) return node;
    }
    return undefined;
  }

  run(root: string, job: JobSpec): Promise<JobOutcome & { reused?: boolean }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const w: Waiter = { since: Date.now(), root, job, resolve, reject };
      // registered before anything is looked up, so that a completion in between is seen by the watch
      this.waiters.set(job.hash, w);
      this.submit(w).catch((err) => {
        if (this.waiters.get(job.hash) === w) this.waiters.delete(job.hash);
        reject(err);
      });
    });
  }

  private async submit(w: Waiter): Promise<void> {
    const { job, root } = w;
    const { results, status, jsm, names } = this.queue;
    const node = await this.doneBy(job.hash);
    if (node) {
      this.settle(w, node, true); // finished on the cluster earlier (before a restart, or by another study)
      return;
    }
    // an N-player job reads its solve's results from the coordinator's bucket: upload them from the study
    // folder (computed here, or downloaded and checked), never pointing a node at another node's bucket
    if (job.kind === 'nplayer' && !(await results.info(job.from.hash))) {
      await results.putBlob({ name: job.from.hash, description: job.from.key }, packFiles(root, resultPathOf({ kind: 'solve', key: job.from.key, hash: job.from.hash, threads: 'one' })));
    }
    const subject = names.subject(job.hash);
    const pending = await jsm.streams.getMessage(names.stream, { last_by_subj: subject }).catch(() => null);
    const last = await status.get(job.hash).catch(() => null);
    const failed = last?.value?.length ? decodeJson<JobStatus>(last.value).state === 'failed' : false;
    if (pending && !failed) {
      this.logger.info({ job: job.key }, 'already queued or running on the cluster: waiting for it');
      return;
    }
    if (pending) await jsm.streams.deleteMessage(names.stream, pending.seq).catch(() => false);
    await status.put(job.hash, encodeJson({ state: 'queued', at: Date.now() } satisfies JobStatus));
    await this.js.publish(subject, encodeJson({ job }));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.watch?.stop();
    for (const w of this.waiters.values()) w.reject(new Error('the study was closed'));
    this.waiters.clear();
    await this.nc.drain().catch(() => {});
  }
}

function fmtWait(ms: number): string {
  return `${Number((ms / 1000).toPrecision(3))} s`;
}
