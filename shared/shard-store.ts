// Where cluster nodes keep their shard's snapshots (docs/cluster.md, "Snapshots"): each node puts its own
// objects into its own bucket and may read every other node's, so that after a node is lost and the shards
// are re-cut, each node restores its new rows from the old owners' objects, also from a dead node's bucket.
// The coordinator only records which snapshot is complete and removes the objects of superseded ones.
// Implementations: runtime/shard-store-nats.ts (a JetStream object store bucket per node) and
// MemoryShardStores below (tests: one process, no server).

export interface ShardStore {
  /** Puts (or replaces) the object `name` of this node's bucket, from its bytes in pieces. */
  put(name: string, pieces: AsyncIterable<Uint8Array>): Promise<void>;
  /** The bytes of the object `name` of `owner`'s bucket, in pieces; throws when it is missing. */
  get(owner: string, name: string): AsyncIterable<Uint8Array>;
}

/** What the coordinator may do with the nodes' buckets: remove objects (never read or write tables). */
export interface ShardStoreAdmin {
  /** Creates `owner`'s bucket, or checks the one there (a node may create none: deploy/gen-users.sh). */
  prepare(owner: string): Promise<void>;
  remove(owner: string, name: string): Promise<void>;
  /**
   * Removes every object of `owner`'s bucket whose name does not start with `<keep>.` (what a coordinator
   * that died left behind: its objects are no run's any more); returns how many.
   */
  prune(owner: string, keep: string): Promise<number>;
}

/** Every node's bucket in memory (tests): a node's store writes only its own bucket. */
export class MemoryShardStores implements ShardStoreAdmin {
  readonly buckets = new Map<string, Map<string, Uint8Array>>();

  forNode(self: string): ShardStore {
    const buckets = this.buckets;
    return {
      async put(name, pieces) {
        const parts: Uint8Array[] = [];
        for await (const p of pieces) parts.push(new Uint8Array(p)); // a copy
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) {
          all.set(p, o);
          o += p.length;
        }
        const own = buckets.get(self);
        if (!own) throw new Error(`${self}'s snapshot bucket does not exist`); // the coordinator creates it (prepare)
        own.set(name, all);
      },
      async *get(owner, name) {
        const data = buckets.get(owner)?.get(name);
        if (!data) throw new Error(`snapshot object ${name} is missing from ${owner}'s bucket`);
        // uneven pieces, as a stream delivers them (not aligned to 8 bytes)
        for (let o = 0; o < data.length; o += 1000) yield data.slice(o, o + 1000);
      },
    };
  }

  async prepare(owner: string): Promise<void> {
    if (!this.buckets.has(owner)) this.buckets.set(owner, new Map());
  }

  async remove(owner: string, name: string): Promise<void> {
    this.buckets.get(owner)?.delete(name);
  }

  async prune(owner: string, keep: string): Promise<number> {
    const b = this.buckets.get(owner);
    const stale = [...(b?.keys() ?? [])].filter((n) => !n.startsWith(`${keep}.`));
    for (const n of stale) b!.delete(n);
    return stale.length;
  }

  /** Every object name, as `owner/name` (tests). */
  objects(): string[] {
    return [...this.buckets].flatMap(([owner, b]) => [...b.keys()].map((n) => `${owner}/${n}`)).sort();
  }
}
