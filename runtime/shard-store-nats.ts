// The nodes' snapshot buckets on a NATS server with JetStream (shared/shard-store.ts): node <id> keeps its
// objects in the object store bucket `<prefix>-snap-<id>` (created by the coordinator, prepare(); a node may
// create no stream: runtime/object-bucket.ts says why, and opens it at its first put). One bucket
// per node because an object store writes its chunks on random subjects ($O.<bucket>.C.<nuid>): a name
// prefix cannot be tied to a user by subject permissions, a bucket can (deploy/gen-users.sh: a node may
// write only its own bucket and read every node's; the coordinator may remove objects from all of them).

import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { ShardStore, ShardStoreAdmin } from '../shared/shard-store.ts';
import { objectChunks } from './object-get.ts';
import { ensureObjectBucket, openObjectBucket } from './object-bucket.ts';
import { pruneObjects } from './object-prune.ts';
import { natsNames } from '../shared/nats-names.ts';

export function shardBucket(prefix: string, node: string): string {
  return natsNames(prefix).nodeSnapshots(node); // '.' of the prefix as '_' (bucket names allow no '.')
}

export class NatsShardStore implements ShardStore, ShardStoreAdmin {
  private own?: Promise<ObjectStore>;
  private jsm?: Promise<JetStreamManager>;
  private readonly opened = new Map<string, Promise<ObjectStore>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly self: string,
  ) {}

  async put(name: string, pieces: AsyncIterable<Uint8Array>): Promise<void> {
    // a missing bucket (the coordinator could not create it) or a planted stream throws: the node refuses
    this.own ??= openObjectBucket(this.nc, shardBucket(this.prefix, this.self));
    let store: ObjectStore;
    try {
      store = await this.own;
    } catch (err) {
      this.own = undefined; // try again at the next snapshot
      throw err;
    }
    await store.put({ name }, ReadableStream.from(pieces));
  }

  /** Reads an object with message gets only, never a consumer (runtime/object-get.ts says why). */
  async *get(owner: string, name: string): AsyncGenerator<Uint8Array> {
    const bucket = shardBucket(this.prefix, owner);
    const jsm = (this.jsm ??= jetstreamManager(this.nc, { checkAPI: false }));
    const chunks = await objectChunks((await jsm).streams, bucket, name);
    if (!chunks) throw new Error(`snapshot object ${name} is missing from ${bucket}`);
    yield* chunks;
  }

  /** Creates `owner`'s bucket, or finds and checks it (the coordinator, before it asks for a snapshot). */
  async prepare(owner: string): Promise<void> {
    await ensureObjectBucket(this.nc, shardBucket(this.prefix, owner));
  }

  async remove(owner: string, name: string): Promise<void> {
    await (await this.bucket(owner)).delete(name);
  }

  /** Removes the objects of other runs and chunks of no object (runtime/object-prune.ts). */
  async prune(owner: string, keep: string): Promise<number> {
    return pruneObjects(await (this.jsm ??= jetstreamManager(this.nc, { checkAPI: false })), shardBucket(this.prefix, owner), keep);
  }

  private bucket(owner: string): Promise<ObjectStore> {
    let b = this.opened.get(owner);
    if (!b) {
      b = new Objm(this.nc).open(shardBucket(this.prefix, owner));
      b.catch(() => this.opened.delete(owner));
      this.opened.set(owner, b);
    }
    return b;
  }
}
