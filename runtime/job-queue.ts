// The cluster's job queue (JetStream), shared by the coordinator of a study (`m3fg sweep --nats`,
// `m3fg experiment paper --nats`) and the nodes (`m3fg worker`, worker/job-consumer.ts). Names come from the
// prefix P through shared/nats-names.ts (B below is P with '.' as '_'):
//
//   stream   B-jobs (subjects P.jobs.*), work-queue retention: a message is removed once a node acks it.
//            One message per job, subject P.jobs.<hash>, payload JSON { job } (the job as plain data).
//   consumer B-job-workers, durable pull, explicit ack, ack wait A: a node fetches a job when it has a free
//            thread, sends in-progress acks (working) every A/3 while it runs, acks after the upload. A node
//            killed mid-run stops sending them, and the server redelivers the job after A to another node.
//   object   bucket B-results-<node>: node <node>'s results, object name <hash>: packFiles() of the results
//            directory (runs/<key>/...) or the N-player file (nplayer/<key>.json), relative to a study folder.
//            One bucket per node, created by the coordinator when the node first shows up; only that node
//            may write it (deploy/gen-users.sh), so where a result lies says who computed it.
//   object   bucket B-results: the coordinator's own: the inputs of N-player jobs (a solve's results, as
//            the coordinator verified them). Nodes only read it.
//   kv       bucket B-job-status, rollup headers off (a `Nats-Rollup: all` put by any writer would purge every
//            key). Keys, each written by one party only (a node's keys carry its name; permissions enforce it):
//              <hash>                the coordinator's: queued, then done or failed as it accepted them;
//              job.<node>.<hash>     node <node>'s: running, done (its results are in B-results-<node>), failed;
//              node.<node>           node <node>'s presence { state: 'taking jobs', threads, at }, written when
//                                    it starts taking jobs and every NODE_HEARTBEAT_MS while it lives, deleted
//                                    when it stops: what the coordinator counts and gives up on (--node-wait).
//
// A second completion of a job (a redelivery after a slow node finished after all) writes the same object
// again, in the second node's bucket: same name, same bytes (the runs are deterministic), so it is harmless.

import { AckPolicy, DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { natsNames } from '../shared/nats-names.ts';
import { ensureObjectBucket } from './object-bucket.ts';

/** The fields of a job the queue itself reads (the rest travels untouched). */
export interface QueuedJob {
  kind: 'solve' | 'nplayer';
  key: string;
  hash: string;
  threads: 'one' | 'all';
  /** The job whose results this one reads (an N-player check reads its solve). */
  from?: { key: string; hash: string };
}

export interface JobStatus {
  state: 'queued' | 'running' | 'done' | 'failed';
  node?: string;
  /** ms since the epoch */
  at: number;
  seconds?: number;
  error?: string;
}

/** A node's presence in the status bucket (key nodeKey(name)). */
export interface NodePresence {
  state: 'taking jobs';
  node: string;
  threads: number;
  /** ms since the epoch, the node's clock */
  at: number;
}

/** How often a node rewrites its presence; the coordinator counts a node as gone after 3 of these unheard. */
export const NODE_HEARTBEAT_MS = 5_000;
export const NODE_KEY_PREFIX = 'node.';

/** The status-bucket key of a node's presence (node names are party ids: letters, digits, _ and -). */
export function nodeKey(node: string): string {
  return NODE_KEY_PREFIX + node.replace(/[^-_=a-zA-Z0-9]/g, '_');
}

export const JOB_KEY_PREFIX = 'job.';

/** The status-bucket key a node writes the state of job `hash` under. */
export function nodeJobKey(node: string, hash: string): string {
  return `${JOB_KEY_PREFIX}${node.replace(/[^-_=a-zA-Z0-9]/g, '_')}.${hash}`;
}

/** A node's job key split into node and job hash, or undefined for another key. */
export function parseNodeJobKey(key: string): { node: string; hash: string } | undefined {
  const m = /^job\.([^.]+)\.([^.]+)$/.exec(key);
  return m ? { node: m[1], hash: m[2] } : undefined;
}

export interface JobQueueNames {
  stream: string;
  subjects: string;
  consumer: string;
  /** The coordinator's results bucket. */
  results: string;
  /** A node's results bucket. */
  nodeResults(node: string): string;
  status: string;
  subject(hash: string): string;
}

export function jobQueueNames(prefix = 'm3fg'): JobQueueNames {
  const n = natsNames(prefix);
  return { stream: n.jobStream, subjects: n.jobSubjects, consumer: n.jobConsumer, results: n.results, nodeResults: n.nodeResults, status: n.status, subject: n.jobSubject };
}

export interface JobQueueSettings {
  /** Redelivery after this long without an ack or in-progress ack (default 30 s). */
  ackWaitMs?: number;
  /** Deliveries of one job at most (a job that kills every node it reaches stops after this many). */
  maxDeliver?: number;
  /** JetStream replicas of the stream and buckets (1 for a single server; 3 on a 3-server cluster). */
  replicas?: number;
}

export const DEFAULT_ACK_WAIT_MS = 30_000;

export interface JobQueue {
  names: JobQueueNames;
  jsm: JetStreamManager;
  results: ObjectStore;
  status: KV;
}

/**
 * Creates (or updates to these settings) the stream, the consumer and both buckets. The coordinator calls it;
 * a node opens what exists (openJobQueue), so that its user needs no right to create streams.
 */
export async function ensureJobQueue(nc: NatsConnection, prefix: string, settings: JobQueueSettings = {}): Promise<JobQueue> {
  const names = jobQueueNames(prefix);
  const jsm = await jetstreamManager(nc);
  const replicas = settings.replicas ?? 1;
  const stream = {
    name: names.stream,
    subjects: [names.subjects],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    max_msgs: 1_000_000,
    max_msg_size: 1024 * 1024,
    duplicate_window: 120 * 1e9,
  };
  try {
    await jsm.streams.info(names.stream);
    await jsm.streams.update(names.stream, stream);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add(stream);
  }
  const consumer = {
    durable_name: names.consumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: (settings.ackWaitMs ?? DEFAULT_ACK_WAIT_MS) * 1e6,
    max_deliver: settings.maxDeliver ?? 10,
    max_ack_pending: 10_000,
  };
  try {
    await jsm.consumers.info(names.stream, names.consumer);
    await jsm.consumers.update(names.stream, names.consumer, { ack_wait: consumer.ack_wait, max_deliver: consumer.max_deliver, max_ack_pending: consumer.max_ack_pending });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(names.stream, consumer);
  }
  const results = await new Objm(nc).create(names.results, { storage: StorageType.File, replicas });
  const status = await new Kvm(nc).create(names.status, { storage: StorageType.File, replicas, history: 1, maxValueSize: 64 * 1024 });
  // KV buckets are made with rollup headers on: any party that may write one key could purge the whole bucket
  // with `Nats-Rollup: all`. Off (nothing here purges keys; a delete is a marker, not a rollup).
  const si = await jsm.streams.info(`KV_${names.status}`);
  if (si.config.allow_rollup_hdrs) await jsm.streams.update(`KV_${names.status}`, { ...si.config, allow_rollup_hdrs: false });
  return { names, jsm, results, status };
}

/** Creates node `node`'s results bucket (the coordinator does, when the node shows up). */
export async function ensureNodeResults(nc: NatsConnection, queue: JobQueue, node: string): Promise<ObjectStore> {
  const replicas = (await queue.jsm.streams.info(`KV_${queue.names.status}`)).config.num_replicas;
  return ensureObjectBucket(nc, queue.names.nodeResults(node), replicas); // and refuses a planted stream
}

/** Opens the queue the coordinator created; throws a not-found error while it does not exist yet. */
export async function openJobQueue(nc: NatsConnection, prefix: string): Promise<JobQueue> {
  const names = jobQueueNames(prefix);
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.info(names.stream, names.consumer);
  const results = await new Objm(nc).open(names.results);
  const status = await new Kvm(nc).open(names.status);
  return { names, jsm, results, status };
}

export function isNotFound(err: unknown): boolean {
  return /not found/i.test(String((err as Error)?.message ?? err));
}

const packr = new Packr({ moreTypes: true });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson<T>(data: Uint8Array): T {
  return JSON.parse(decoder.decode(data)) as T;
}

/** The files of a job's results, relative to the study folder. */
export function resultPathOf(job: QueuedJob): string {
  return job.kind === 'solve' ? join('runs', job.key) : join('nplayer', `${job.key}.json`);
}

/** Packs a file, or every file below a folder, as [path relative to root, bytes] pairs. */
export function packFiles(root: string, rel: string): Uint8Array {
  const files: Array<[string, Uint8Array]> = [];
  const walk = (r: string) => {
    const abs = join(root, r);
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) if (!name.endsWith('.tmp')) walk(join(r, name));
    } else files.push([r.split(sep).join('/'), readFileSync(abs)]);
  };
  walk(rel);
  return packr.pack({ format: 'm3fg-job-result', version: 1, files });
}

/**
 * Writes packed results below root. A results folder appears whole: written beside it, then renamed into
 * place (an earlier partial copy is replaced). Paths that would leave root are refused.
 */
export function unpackFiles(root: string, rel: string, data: Uint8Array): void {
  const packed = packr.unpack(data) as { format?: string; files?: Array<[string, Uint8Array]> };
  if (packed?.format !== 'm3fg-job-result' || !Array.isArray(packed.files)) throw new Error(`results of ${rel}: not an m3fg job result`);
  const target = join(root, rel);
  const staging = `${target}.${process.pid}.part`;
  rmSync(staging, { recursive: true, force: true });
  for (const [path, bytes] of packed.files) {
    const norm = normalize(path);
    if (norm.startsWith('..') || norm.startsWith(sep) || !(norm === normalize(rel) || norm.startsWith(normalize(rel) + sep))) {
      throw new Error(`results of ${rel}: refusing the path '${path}'`);
    }
    const dest = join(staging, norm.slice(normalize(rel).length));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, bytes);
  }
  mkdirSync(dirname(target), { recursive: true });
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
}
