// The coordinator's fallback for the cluster's durable state. Normally each node puts its own shard into its
// own bucket and the coordinator carries no table (shared/shard-store.ts, coordinator/cluster-executor.ts
// nodeSnapshotAt). When a node cannot (no JetStream on the server, no permission), every K iterations the
// policies (and OMD accumulators) are streamed from the nodes, window by window (never whole in the
// coordinator's memory), into a store here:
//   - SnapshotBucket: a JetStream object store bucket (`<prefix>-snapshots`, replicated on a NATS cluster),
//     one object per table and snapshot;
//   - SnapshotFile: one file on the coordinator's disk, written to a temporary name and renamed.
// Either way the last complete snapshot stays whole while the next one is written. After a node is lost the
// executor re-cuts the shards over the live nodes, loads the snapshot back (TableSources, piece by piece)
// and replays the iterations since.

import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { StorageType } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { PIECE_ELEMENTS, type PolicySources, type TableSource } from '../shared/table-source.ts';

const TABLES = ['minorPolicy', 'majorPolicy', 'minorY', 'majorY'] as const;
type Table = (typeof TABLES)[number];

export interface SnapshotStore {
  /** Iterations completed when the last complete snapshot was taken. */
  readonly iterations: number;
  /** Whether a complete snapshot exists. */
  readonly taken: boolean;
  /** Streams `policies` in; the previous snapshot stays whole until this one is. */
  write(iterations: number, policies: PolicySources): Promise<void>;
  /** The last complete snapshot's tables. */
  sources(): PolicySources;
  remove(): Promise<void>;
}

export class SnapshotFile implements SnapshotStore {
  /** Iterations completed when the snapshot was taken (0: none yet). */
  iterations = 0;
  private layout: Array<{ name: (typeof TABLES)[number]; offset: number; length: number }> = [];
  private readonly path: string;

  constructor(dir: string, runId: string) {
    this.path = join(dir, `m3fg-cluster-snapshot-${runId}.bin`);
  }

  get taken(): boolean {
    return this.layout.length > 0;
  }

  async write(iterations: number, policies: PolicySources): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    const layout: SnapshotFile['layout'] = [];
    let offset = 0;
    try {
      for (const name of TABLES) {
        const source = policies[name];
        if (!source) continue;
        layout.push({ name, offset, length: source.length });
        await source.read((piece) => {
          const bytes = new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength);
          for (let o = 0; o < bytes.length; ) o += writeSync(fd, bytes, o, bytes.length - o);
        });
        offset += source.length * 8;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.layout = layout;
    this.iterations = iterations;
  }

  /** The snapshot's tables as sources read from the file. */
  sources(): PolicySources {
    const get = (name: (typeof TABLES)[number]): TableSource | undefined => {
      const entry = this.layout.find((e) => e.name === name);
      if (!entry) return undefined;
      const path = this.path;
      return {
        length: entry.length,
        async read(visit) {
          const fd = openSync(path, 'r');
          try {
            const piece = new Float64Array(Math.min(PIECE_ELEMENTS, entry.length));
            const bytes = new Uint8Array(piece.buffer);
            for (let e = 0; e < entry.length; e += piece.length) {
              const n = Math.min(piece.length, entry.length - e);
              let got = 0;
              while (got < n * 8) {
                const r = readSync(fd, bytes, got, n * 8 - got, entry.offset + e * 8 + got);
                if (r === 0) throw new Error(`cluster snapshot ${path} is shorter than its layout`);
                got += r;
              }
              await visit(piece.subarray(0, n), e);
            }
          } finally {
            closeSync(fd);
          }
        },
      };
    };
    return { minorPolicy: get('minorPolicy')!, majorPolicy: get('majorPolicy')!, minorY: get('minorY'), majorY: get('majorY') };
  }

  async remove(): Promise<void> {
    rmSync(this.path, { force: true });
  }
}

/** Snapshots as objects `<run>.<iterations>.<table>` of a JetStream object store bucket. */
export class SnapshotBucket implements SnapshotStore {
  iterations = 0;
  private layout: Array<{ name: Table; object: string; length: number }> = [];

  private constructor(
    private readonly store: ObjectStore,
    private readonly runId: string,
  ) {}

  /** Opens (creating if needed) the bucket; throws when the server has no JetStream or the user may not. */
  static async open(nc: NatsConnection, bucket: string, runId: string): Promise<SnapshotBucket> {
    const store = await new Objm(nc).create(bucket, { storage: StorageType.File });
    await store.status(); // create() swallows a refused stream lookup: ask once more, and let a refusal throw
    return new SnapshotBucket(store, runId);
  }

  get taken(): boolean {
    return this.layout.length > 0;
  }

  async write(iterations: number, policies: PolicySources): Promise<void> {
    const layout: SnapshotBucket['layout'] = [];
    try {
      for (const name of TABLES) {
        const source = policies[name];
        if (!source) continue;
        const object = `${this.runId}.${iterations}.${name}`;
        layout.push({ name, object, length: source.length });
        await putSource(this.store, object, source);
      }
    } catch (err) {
      for (const e of layout) await this.store.delete(e.object).catch(() => {});
      throw err;
    }
    const old = this.layout;
    this.layout = layout;
    this.iterations = iterations;
    for (const e of old) await this.store.delete(e.object).catch(() => {});
  }

  sources(): PolicySources {
    const get = (name: Table): TableSource | undefined => {
      const entry = this.layout.find((e) => e.name === name);
      if (!entry) return undefined;
      const store = this.store;
      return { length: entry.length, read: (visit) => readObject(store, entry.object, entry.length, visit) };
    };
    return { minorPolicy: get('minorPolicy')!, majorPolicy: get('majorPolicy')!, minorY: get('minorY'), majorY: get('majorY') };
  }

  async remove(): Promise<void> {
    for (const e of this.layout) await this.store.delete(e.object).catch(() => {});
    this.layout = [];
  }
}

/** Streams a source into an object; the source's own error (a node lost) is the one thrown. */
async function putSource(store: ObjectStore, object: string, source: TableSource): Promise<void> {
  let wake: (() => void) | undefined;
  let failure: unknown;
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        source
          .read(async (piece) => {
            // a copy: the source may reuse its piece buffer
            controller.enqueue(new Uint8Array(piece.buffer.slice(piece.byteOffset, piece.byteOffset + piece.byteLength)));
            while ((controller.desiredSize ?? 1) <= 0) await new Promise<void>((r) => (wake = r));
          })
          .then(
            () => controller.close(),
            (err: unknown) => {
              failure = err;
              controller.error(err);
            },
          );
      },
      pull() {
        wake?.();
        wake = undefined;
      },
    },
    { highWaterMark: 2 },
  );
  try {
    await store.put({ name: object }, stream);
  } catch (err) {
    throw failure ?? err;
  }
  if (failure) throw failure;
}

/** Reads an object of `length` float64s back in pieces of PIECE_ELEMENTS. */
async function readObject(store: ObjectStore, object: string, length: number, visit: Parameters<TableSource['read']>[0]): Promise<void> {
  const result = await store.get(object);
  if (!result) throw new Error(`cluster snapshot: object ${object} is missing from the bucket`);
  const piece = new Float64Array(Math.min(PIECE_ELEMENTS, length));
  const bytes = new Uint8Array(piece.buffer);
  let filled = 0; // bytes in piece
  let done = 0; // elements visited
  const reader = result.data.getReader();
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    for (let o = 0; o < value.length; ) {
      const n = Math.min(value.length - o, bytes.length - filled);
      bytes.set(value.subarray(o, o + n), filled);
      filled += n;
      o += n;
      if (filled === bytes.length) {
        if (done + piece.length > length) throw new Error(`cluster snapshot: object ${object} is longer than ${length} values`);
        await visit(piece, done);
        done += piece.length;
        filled = 0;
      }
    }
  }
  const err = await result.error;
  if (err) throw err;
  if (filled % 8 !== 0 || done + filled / 8 !== length) throw new Error(`cluster snapshot: object ${object} holds ${done * 8 + filled} bytes, expected ${length * 8}`);
  if (filled > 0) await visit(piece.subarray(0, filled / 8), done);
}
