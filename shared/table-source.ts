// A table read in order, in pieces. Results files and checkpoints are written from TableSources, so that a
// table larger than one Buffer (Cyber M = 120: 2.3 GB of minor policy) is streamed, and so that an executor
// whose tables live elsewhere (a cluster: each node owns a shard of rows) can hand them over shard by shard
// without the coordinator ever holding a whole table.
//
// Contract: read() calls `visit` with consecutive pieces whose lengths add up to `length`, offsets strictly in
// order starting at 0; it awaits each visit before producing the next piece, and a piece may be reused (or
// its memory freed) once its visit has resolved, so a visitor that keeps data must copy it.

export interface TableSource {
  /** Elements (float64) in the whole table. */
  readonly length: number;
  read(visit: (piece: Float64Array, offset: number) => void | Promise<void>): Promise<void>;
}

/** The state a run carries from one iteration to the next: the policies and, for OMD, the accumulators. */
export interface PolicySources {
  readonly minorPolicy: TableSource;
  readonly majorPolicy: TableSource;
  readonly minorY?: TableSource;
  readonly majorY?: TableSource;
}

/** Default piece: 8 MiB of float64. */
export const PIECE_ELEMENTS = 1 << 20;

/** A source over an in-memory array (inline and local executors): subarray views, no copies. */
export function arraySource(array: Float64Array, pieceElements = PIECE_ELEMENTS): TableSource {
  if (!(pieceElements >= 1)) throw new RangeError(`pieceElements must be at least 1, got ${pieceElements}`);
  return {
    length: array.length,
    async read(visit) {
      for (let o = 0; o < array.length; o += pieceElements) {
        await visit(array.subarray(o, Math.min(array.length, o + pieceElements)), o);
      }
    },
  };
}

/** Reads a whole source into one new array (only where the table is known to fit: tests, the library API). */
export async function collectSource(source: TableSource): Promise<Float64Array> {
  const out = new Float64Array(source.length);
  let expected = 0;
  await source.read((piece, offset) => {
    if (offset !== expected) throw new Error(`table source out of order: piece at ${offset}, expected ${expected}`);
    out.set(piece, offset);
    expected += piece.length;
  });
  if (expected !== source.length) throw new Error(`table source ended at ${expected} of ${source.length} elements`);
  return out;
}
