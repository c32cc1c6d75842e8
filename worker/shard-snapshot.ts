// Node-side snapshots of a shard (docs/cluster.md, "Snapshots"). A shard [ca, cb) of a table of width w is
// stored as one object: for each (t, x0) in layout order, the w * (cb - ca) values of the rows
// x0 * cells + ca .. x0 * cells + cb - 1 (what ownedRanges yields over the whole table). A node restores
// its new cells [na, nb) from every old shard [oa, ob) that overlaps them, reading that object whole and
// keeping, per (t, x0) block, the part inside the overlap.

import { SNAPSHOT_PUT_FAILED, type BestTable, type PolicyTable, type ToNode } from '../shared/cluster-messages.ts';
import type { Job, JobResult } from '../shared/cluster-node-core.ts';
import type { ShardStore } from '../shared/shard-store.ts';

/** What the snapshot code needs of a node's shard (worker/shard-tables.ts ShardTables). */
export interface ShardView {
  readonly problem: { readonly rows: number; readonly cells: number; readonly game: { readonly nX0: number } };
  readonly ca: number;
  readonly cb: number;
  table(name: PolicyTable | BestTable): Float64Array;
  width(name: PolicyTable | BestTable): number;
}

const PIECE_BYTES = 1 << 20;

/** A `snapshot` or `restore` order on a node: a node without a bucket (or whose put fails) refuses, and the coordinator falls back. */
export async function snapshotJob(shard: ShardView, store: ShardStore | undefined, job: Extract<Job, { kind: 'snapshot' | 'restore' }>): Promise<JobResult> {
  if (job.kind === 'restore') {
    if (!store) throw new Error('restore: this node has no snapshot store');
    await restoreShard(shard, store, job.message);
    return { kind: 'other' };
  }
  if (!store) return { kind: 'other', refused: 'no snapshot bucket on this node' };
  try {
    await putShard(shard, store, job.message);
    return { kind: 'other' };
  } catch (err) {
    return { kind: 'other', refused: `${SNAPSHOT_PUT_FAILED}: ${(err as Error)?.message ?? String(err)}` };
  }
}

/** Puts each table's shard rows as the object `<name>.<table>` of this node's bucket. */
export async function putShard(shard: ShardView, store: ShardStore, m: Extract<ToNode, { type: 'snapshot' }>): Promise<void> {
  for (const table of m.tables) await store.put(`${m.name}.${table}`, shardBytes(shard, table));
}

/** The shard's rows of a table, block by block, as copies of at most PIECE_BYTES. */
async function* shardBytes(shard: ShardView, table: PolicyTable | BestTable): AsyncGenerator<Uint8Array> {
  const source = shard.table(table);
  const w = shard.width(table);
  const { cells } = shard.problem;
  const units = source.length / w; // slices * rows
  for (let base = 0; base < units; base += cells) {
    // base = t * rows + x0 * cells: the unit of cell 0 of this (t, x0)
    const from = (base + shard.ca) * w * 8;
    const to = (base + shard.cb) * w * 8;
    for (let o = from; o < to; o += PIECE_BYTES) yield copy(new Uint8Array(source.buffer, source.byteOffset + o, Math.min(PIECE_BYTES, to - o)));
  }
}

/** Restores each table's rows of this shard from the overlapping objects of the old cut. */
export async function restoreShard(shard: ShardView, store: ShardStore, m: Extract<ToNode, { type: 'restore' }>): Promise<void> {
  const { cellBounds, nodes } = m.from;
  for (const table of m.tables) {
    const target = shard.table(table);
    const w = shard.width(table);
    const blocks = target.length / w / shard.problem.cells; // slices * nX0
    for (let k = 0; k < nodes.length; k++) {
      const [oa, ob] = [cellBounds[k], cellBounds[k + 1]];
      const [a, b] = [Math.max(oa, shard.ca), Math.min(ob, shard.cb)];
      if (a >= b) continue;
      const blockLen = (ob - oa) * w;
      const keepFrom = (a - oa) * w;
      const keepTo = (b - oa) * w;
      let p = 0; // elements of the object seen
      const copy = (values: Float64Array) => {
        for (let i = 0; i < values.length; ) {
          const block = Math.floor((p + i) / blockLen);
          const within = p + i - block * blockLen;
          const n = Math.min(values.length - i, blockLen - within);
          const lo = Math.max(within, keepFrom);
          const hi = Math.min(within + n, keepTo);
          if (lo < hi) {
            // block = t * nX0 + x0, and its first element is at ((t * rows + x0 * cells + oa) * w) = (block * cells + oa) * w
            target.set(values.subarray(lo - within + i, hi - within + i), (block * shard.problem.cells + oa) * w + lo);
          }
          i += n;
        }
        p += values.length;
      };
      await readFloats(store.get(nodes[k], `${m.name}.${table}`), copy);
      if (p !== blocks * blockLen) throw new Error(`restore: object ${m.name}.${table} of ${nodes[k]} holds ${p} values, expected ${blocks * blockLen}`);
    }
  }
}

/** Float64 values from a byte stream whose pieces need not be aligned to 8 bytes. */
async function readFloats(pieces: AsyncIterable<Uint8Array>, visit: (values: Float64Array) => void): Promise<void> {
  let carry: Uint8Array = new Uint8Array(0);
  for await (const piece of pieces) {
    const bytes = carry.length > 0 ? concat(carry, piece) : piece;
    const whole = bytes.length - (bytes.length % 8);
    // copies into fresh buffers: a stream's piece may be a Buffer, whose slice() is a view into a shared pool
    if (whole > 0) {
      const values = new Float64Array(whole / 8);
      new Uint8Array(values.buffer).set(bytes.subarray(0, whole));
      visit(values);
    }
    carry = copy(bytes.subarray(whole));
  }
  if (carry.length > 0) throw new Error(`restore: a snapshot object ends with ${carry.length} stray bytes`);
}

/** A copy in a buffer of its own (the tables may sit on a SharedArrayBuffer, a stream's pieces in a pool). */
function copy(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
