// The messages of the owner-computes cluster (docs/cluster.md, "Message kinds"). Every message names its run;
// the sender is never taken from a message body but from the subject it arrived on (shared/cluster-transport.ts),
// which the server's permissions tie to the sender's credentials.

import type { NodeTrace } from './cluster-node-trace.ts';
import type { InitialPolicy, TableOptions } from './tables.ts';
import type { UpdateRule } from './kernels/update.ts';

export const SHARD_PROTOCOL_VERSION = 2;
export const COORDINATOR = 'coord';
/** How a node's refusal of a snapshot order starts when its put failed (it had a bucket): the coordinator retries later. */
export const SNAPSHOT_PUT_FAILED = 'snapshot put failed';

/** The four value functions of value iteration, in the order their changes are reported. */
export type ValueFn = 'majorBR' | 'majorEval' | 'minorBR' | 'minorEval';
export const VALUE_FNS: readonly ValueFn[] = ['majorBR', 'majorEval', 'minorBR', 'minorEval'];

/** The tables a run carries across iterations (what checkpoints and results read). */
export type PolicyTable = 'minorPolicy' | 'majorPolicy' | 'minorY' | 'majorY';
/** The best iterate's policies (Executor.bestPolicies), kept by each node for its shard. */
export type BestTable = 'bestMinorPolicy' | 'bestMajorPolicy';

export interface ShardRun {
  readonly id: string;
  readonly v: number;
  readonly spec: { game: string; params: Record<string, number>; bins: number };
  readonly gridKind: 'midpoint' | 'lattice';
  /**
   * The problem's projection (absent: nearest). With 'interpolate' every node owning a vertex of mu0 sends the
   * start rows of its vertices (startBlocks), not only the owner of proj(mu0).
   */
  readonly projection?: 'nearest' | 'interpolate';
  readonly fingerprint: string;
  readonly tableOptions: TableOptions;
  /** Shard k owns the cells [cellBounds[k], cellBounds[k + 1]) with every x0 (cell-major cut). */
  readonly cellBounds: number[];
  /** nodes[k] owns shard k. */
  readonly nodes: string[];
}

export type ToNode =
  | { type: 'open'; run: ShardRun; shard: number }
  | { type: 'init'; run: string; init: InitialPolicy }
  /** Element ranges [starts[i], starts[i] + lengths[i]) of `table` (global layout), concatenated in data. */
  | { type: 'load'; run: string; req: number; table: PolicyTable | BestTable; starts: Float64Array; lengths: Float64Array; data: Float64Array }
  /** last: no iteration follows, so the node runs nothing of the next one's flow ahead. */
  | { type: 'iterate'; run: string; n: number; rule: UpdateRule; last?: true }
  | { type: 'vi'; run: string; n: number; rule: UpdateRule; discount: number }
  | { type: 'viNext'; run: string; n: number; sweep: number; freeze: ValueFn[]; done: boolean }
  /** The owned elements of `table` in [from, to), in order. */
  | { type: 'read'; run: string; req: number; table: PolicyTable | BestTable; from: number; to: number }
  /** The best iterate: save = copy the shard's policies into its saved slot, promote = swap saved and best. */
  | { type: 'keep'; run: string; req: number; op: 'save' | 'promote' }
  | { type: 'close'; run: string }
  /**
   * Node-side snapshots (docs/cluster.md, "Snapshots"): put the shard's rows of each table as the object
   * `<name>.<table>` of the node's own snapshot bucket; a node without one answers with a refusal.
   */
  | { type: 'snapshot'; run: string; req: number; name: string; tables: Array<PolicyTable | BestTable> }
  /** Restore the shard's rows of each table from the objects `<name>.<table>` of the cut `from` (old owners' buckets). */
  | { type: 'restore'; run: string; req: number; name: string; tables: Array<PolicyTable | BestTable>; from: { cellBounds: number[]; nodes: string[] } }
  /** After an outage: send again everything sent for the current order (receivers drop what they already have). */
  | { type: 'resend'; run: string };

export type ToCoordinator =
  /**
   * Heartbeat; with the node's transport byte counts and peak RSS (bytes) for the coordinator's statistics, and
   * the bytes it may use (--memory, else its machine's), by which the coordinator cuts the shards.
   */
  | { type: 'hb'; threads: number; state: 'ready' | 'leaving'; sent?: number; received?: number; peakRss?: number; memory?: number; trace?: NodeTrace }
  /** refused: the order could not be carried out here, and the run may go on without it (a snapshot with no bucket). */
  | { type: 'ack'; run: string; req: number; refused?: string }
  /** costs: work per block of CHANGE_BLOCK_CELLS cells measured by the node (thread-ms; 0 outside its shard). */
  | { type: 'done'; run: string; n: number; start?: Float64Array; costs?: Float64Array }
  | { type: 'changes'; run: string; n: number; sweep: number; blocks: Float64Array[] }
  | { type: 'piece'; run: string; req: number; data: Float64Array }
  | { type: 'failed'; run: string; error: string };

export type ToPeer =
  /** rows[t]: the rows of V(t + 1) the sender's step t reads from the receiver (sorted). */
  | { type: 'need'; run: string; n: number; rows: Int32Array[] }
  /**
   * V(step) (finite horizon) or sweep `step`'s values (value iteration) at the rows the receiver asked for.
   * `got`: receipts riding along, the steps of the receiver's halos of iteration n that the sender has received.
   */
  | { type: 'halo'; run: string; n: number; step: number; values: Float64Array; got?: number[] }
  /** Receipts of halos (the steps, iteration n): their sender need not keep them for a resend any more. */
  | { type: 'got'; run: string; n: number; steps: number[] };

export type ClusterMessage = ToNode | ToCoordinator | ToPeer;

// the packed value row (halo rows, start rows): its layout lives with the start values' read-out
export { valueRowWidth } from './kernels/exploitability.ts';

/** Owner of a cell: the k with cellBounds[k] <= c < cellBounds[k + 1]. */
export function shardOfCell(cellBounds: readonly number[], c: number): number {
  let lo = 0;
  let hi = cellBounds.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cellBounds[mid] <= c) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The element ranges of a table (width entries per (t, row), rows r = x0 * cells + c) inside [from, to)
 * whose rows belong to the cells [ca, cb): as [start, end) pairs, in order, adjacent ones merged.
 */
export function ownedRanges(from: number, to: number, width: number, cells: number, ca: number, cb: number): number[] {
  const out: number[] = [];
  if (cb <= ca) return out;
  let e = from;
  while (e < to) {
    const unit = Math.floor(e / width); // (t * rows + r)
    const c = unit % cells; // rows = nX0 * cells, so the cell is the unit modulo cells
    const base = unit - c; // unit of cell 0 of this (t, x0)
    let start: number;
    let end: number;
    if (c < ca) {
      start = (base + ca) * width;
      end = (base + cb) * width;
    } else if (c < cb) {
      start = e;
      end = (base + cb) * width;
    } else {
      start = (base + cells + ca) * width;
      end = (base + cells + cb) * width;
    }
    if (start >= to) break;
    end = Math.min(end, to);
    if (out.length > 0 && out[out.length - 1] === start) out[out.length - 1] = end;
    else out.push(start, end);
    e = end;
  }
  return out;
}
