// Snapshots of a cluster run in the JetStream object store bucket of the shipped server config (a real
// nats-server started by deploy/local-cluster.sh): tables come back bitwise, a write cut off by a lost node
// leaves the previous snapshot whole, and only the coordinator's user may use the bucket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { SnapshotBucket } from '../coordinator/cluster-snapshot.ts';
import { connectNats } from '../runtime/nats-transport.ts';
import { arraySource, collectSource, type PolicySources, type TableSource } from '../shared/table-source.ts';
import { SeededRandom } from '../shared/random.ts';
import { startCluster, type LocalCluster } from './helpers/cluster.ts';
import { sameBits } from './helpers/same-bits.ts';

function randomTable(rng: SeededRandom, n: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() - 0.5;
  a[n >> 1] = -0; // bits, not values
  return a;
}

/** A source that fails after `after` pieces, as a stream from a node that dies. */
function failing(a: Float64Array, after: number): TableSource {
  return {
    length: a.length,
    async read(visit) {
      let k = 0;
      await arraySource(a, 10_000).read(async (piece, at) => {
        if (k++ === after) throw new Error('cluster: node node-2 stopped answering (test)');
        await visit(piece, at);
      });
    },
  };
}

describe('cluster snapshots in the JetStream bucket', () => {
  let cluster: LocalCluster;
  let nc: NatsConnection;
  beforeAll(async () => {
    cluster = await startCluster(1);
    nc = await connectNats(cluster.coordinator);
  }, 120_000);
  afterAll(async () => {
    await nc?.close();
    cluster?.stop();
  });

  it('a snapshot comes back bitwise; a cut-off write leaves the previous one whole; remove() deletes it', async () => {
    const rng = new SeededRandom(7);
    const minor = randomTable(rng, 300_001);
    const major = randomTable(rng, 12_345);
    const y = randomTable(rng, 300_001);
    const store = await SnapshotBucket.open(nc, 'm3fg-snapshots', 'test-run');
    expect(store.taken).toBe(false);
    const first: PolicySources = { minorPolicy: arraySource(minor, 65_536), majorPolicy: arraySource(major, 1_000), minorY: arraySource(y, 70_000) };
    await store.write(2, first);
    expect([store.taken, store.iterations]).toEqual([true, 2]);
    const check = async () => {
      const s = store.sources();
      expect(sameBits(await collectSource(s.minorPolicy), minor)).toBe(true);
      expect(sameBits(await collectSource(s.majorPolicy), major)).toBe(true);
      expect(sameBits(await collectSource(s.minorY!), y)).toBe(true);
      expect(s.majorY).toBeUndefined();
    };
    await check();
    const other = randomTable(rng, 300_001);
    const cut = { minorPolicy: arraySource(other), majorPolicy: failing(randomTable(rng, 12_345), 1), minorY: arraySource(other) };
    await expect(store.write(4, cut)).rejects.toThrow(/node node-2 stopped answering/);
    expect(store.iterations).toBe(2);
    await check();
    await store.remove();
    expect(store.taken).toBe(false);
    const objects = await new Objm(nc).open('m3fg-snapshots');
    expect((await objects.list()).filter((o) => o.name.startsWith('test-run.'))).toEqual([]);
  }, 60_000);

  it("a node's user may neither open the snapshot bucket nor read from it", async () => {
    const asNode = await connectNats(cluster.node(1));
    try {
      await expect(SnapshotBucket.open(asNode, 'm3fg-snapshots', 'x')).rejects.toThrow();
      // nor read an object of it
      const store = await SnapshotBucket.open(nc, 'm3fg-snapshots', 'secret');
      await store.write(1, { minorPolicy: arraySource(new Float64Array(10).fill(0.5)), majorPolicy: arraySource(new Float64Array(3)) });
      const get = (async () => (await new Objm(asNode).open('m3fg-snapshots')).getBlob('secret.1.minorPolicy'))();
      await expect(get).rejects.toThrow();
      await store.remove();
    } finally {
      await asNode.close();
    }
  }, 60_000);
});
