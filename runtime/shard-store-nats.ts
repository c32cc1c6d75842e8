// The nodes' snapshot buckets on a NATS server with JetStream (shared/shard-store.ts): node <id> keeps its
// objects in the object store bucket `<prefix>-snap-<id>` (created by the node at its first put). One bucket
// per node because an object store writes its chunks on random subjects ($O.<bucket>.C.<nuid>): a name
// prefix cannot be tied to a user by subject permissions, a bucket can (deploy/gen-users.sh: a node may
// write only its own bucket and read every node's; the coordinator may remove objects from all of them).

import type { NatsConnection } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';
import { jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { ShardStore, ShardStoreAdmin } from '../shared/shard-store.ts';

export function shardBucket(prefix: string, node: string): string {
  return `${prefix}-snap-${node}`;
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
    this.own ??= (async () => {
      const store = await new Objm(this.nc).create(shardBucket(this.prefix, this.self), { storage: StorageType.File });
      await store.status(); // create() swallows a refused stream lookup: ask once more, and let a refusal throw
      return store;
    })();
    let store: ObjectStore;
    try {
      store = await this.own;
    } catch (err) {
      this.own = undefined; // try again at the next snapshot
      throw err;
    }
    await store.put({ name }, ReadableStream.from(pieces));
  }

  /**
   * Reads an object with message gets only (its metadata, then its chunks one by one), never a consumer: a
   * user who may create consumers on a stream may also name their delivery subject, and so have the server
   * deliver on `<prefix>.to.<anyone>.from.<another node>`. Node users get no consumer rights at all
   * (deploy/gen-users.sh); the chunks' SHA-256 is checked against the object's digest.
   */
  async *get(owner: string, name: string): AsyncGenerator<Uint8Array> {
    const bucket = shardBucket(this.prefix, owner);
    const stream = `OBJ_${bucket}`;
    const jsm = (this.jsm ??= jetstreamManager(this.nc, { checkAPI: false }));
    const streams = (await jsm).streams;
    const meta = await streams.getMessage(stream, { last_by_subj: `$O.${bucket}.M.${Buffer.from(name).toString('base64url')}${'='.repeat((3 - (Buffer.byteLength(name) % 3)) % 3)}` });
    const info = meta?.json<{ nuid: string; size: number; chunks: number; digest: string; deleted?: boolean }>();
    if (!info || info.deleted) throw new Error(`snapshot object ${name} is missing from ${bucket}`);
    const sha = createHash('sha256');
    let seq = 0;
    let size = 0;
    for (let i = 0; i < info.chunks; i++) {
      // the next chunk at or after seq + 1 (STREAM.MSG.GET's next_by_subj, nats-server 2.9+; missing from the client's type)
      const m = await streams.getMessage(stream, { seq: seq + 1, next_by_subj: `$O.${bucket}.C.${info.nuid}` } as unknown as { seq: number });
      if (!m) throw new Error(`snapshot object ${name} of ${bucket}: chunk ${i + 1} of ${info.chunks} is missing`);
      seq = m.seq;
      size += m.data.length;
      sha.update(m.data);
      yield m.data;
    }
    const digest = `SHA-256=${sha.digest('base64url')}`;
    if (size !== info.size || digest.replace(/=+$/, '') !== info.digest.replace(/=+$/, '')) throw new Error(`snapshot object ${name} of ${bucket}: ${size} bytes read, digest ${digest}; expected ${info.size} bytes, ${info.digest}`);
  }

  async remove(owner: string, name: string): Promise<void> {
    await (await this.bucket(owner)).delete(name);
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
