// Object store buckets that a party other than their writer creates. A stream's creator chooses the subjects
// it captures: a node allowed to create its own bucket's stream could make it capture
// `<prefix>.to.<another node>.from.*` and read another party's orders back. So the coordinator creates every
// node's buckets (its results bucket, its snapshot bucket) and nodes may only open them; both sides check
// that the stream is what @nats-io/obj makes of that name (its two subjects, no mirror, no sources), so that
// a stream planted under an older, looser set of users is refused rather than used.

import type { NatsConnection } from '@nats-io/transport-node';
import { StorageType, type StreamConfig } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';

/** Why the stream `OBJ_<bucket>` is not a plain object store bucket, or undefined when it is. */
export function bucketStreamProblem(bucket: string, config: Pick<StreamConfig, 'subjects' | 'mirror' | 'sources'>): string | undefined {
  const want = [`$O.${bucket}.C.>`, `$O.${bucket}.M.>`];
  const got = [...(config.subjects ?? [])].sort();
  if (got.length !== want.length || got.some((s, i) => s !== want[i])) return `stream OBJ_${bucket} captures ${JSON.stringify(got)}, not only its bucket's subjects`;
  if (config.mirror) return `stream OBJ_${bucket} mirrors ${config.mirror.name}`;
  if ((config.sources ?? []).length > 0) return `stream OBJ_${bucket} sources ${config.sources!.map((s) => s.name).join(', ')}`;
  return undefined;
}

/** Throws unless the bucket's stream passes bucketStreamProblem (create() and open() do not look). */
async function checked(store: ObjectStore, bucket: string): Promise<ObjectStore> {
  // also makes a refused stream lookup throw: create() swallows it
  const problem = bucketStreamProblem(bucket, (await store.status()).streamInfo.config);
  if (problem) throw new Error(`${problem}: remove it (nats stream rm OBJ_${bucket}) and run again`);
  return store;
}

/** Creates the bucket (the coordinator, for a node) or finds it, and checks its stream. */
export async function ensureObjectBucket(nc: NatsConnection, bucket: string, replicas?: number): Promise<ObjectStore> {
  const store = await new Objm(nc).create(bucket, { storage: StorageType.File, ...(replicas ? { replicas } : {}) });
  return checked(store, bucket);
}

/** Opens a bucket someone else created (a node, its own), and checks its stream; throws when it does not exist. */
export async function openObjectBucket(nc: NatsConnection, bucket: string): Promise<ObjectStore> {
  return checked(await new Objm(nc).open(bucket), bucket);
}
