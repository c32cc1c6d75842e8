// The identity of a built Problem, so that a thread or node that rebuilds it from the spec can prove it got
// the same tables as the coordinator. The Problem computes it while it builds its rows (shared/problem.ts),
// so a Problem that keeps only some rows (a cluster node's shard, or none on the coordinator) has the same
// fingerprint as one that keeps them all. Read it as `problem.fingerprint`: a 64-bit hash (two 32-bit lanes,
// hex) of everything a kernel reads from a Problem (sizes, grid points, kernel and reward tables).

/**
 * The hash, fed array by array in any interleaving: each table has its own lane pair, fed its words in
 * layout order, and digest() folds the sizes and every lane. So a builder that visits rows in order can feed
 * all tables in one pass, and rows it does not keep need no storage.
 */
export class FingerprintLanes {
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly n: Float64Array;

  constructor(readonly tables: number) {
    this.a = new Int32Array(tables).fill(0x811c9dc5 | 0);
    this.b = new Int32Array(tables).fill(0x6a09e667 | 0);
    this.n = new Float64Array(tables);
  }

  /** Feeds words[from, to) to table `lane` (see wordsOf: a Float64Array element is two words). */
  feed(lane: number, words: Int32Array, from = 0, to = words.length): void {
    let a = this.a[lane];
    let b = this.b[lane];
    for (let i = from; i < to; i++) {
      const v = words[i];
      a = Math.imul(a ^ v, 0x01000193);
      b = Math.imul((b << 5) | (b >>> 27), 0x9e3779b1) ^ v;
    }
    this.a[lane] = a;
    this.b[lane] = b;
    this.n[lane] += to - from;
  }

  digest(sizes: readonly number[]): string {
    let a = 0x811c9dc5 | 0;
    let b = 0x6a09e667 | 0;
    const word = (v: number) => {
      a = Math.imul(a ^ v, 0x01000193);
      b = Math.imul((b << 5) | (b >>> 27), 0x9e3779b1) ^ v;
    };
    for (const v of sizes) word(v);
    for (let i = 0; i < this.tables; i++) {
      word(this.n[i] | 0);
      word(this.a[i]);
      word(this.b[i]);
    }
    return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
  }
}

/** The 32-bit words of a table (a view, no copy). */
export function wordsOf(arr: Float64Array | Int32Array): Int32Array {
  return new Int32Array(arr.buffer, arr.byteOffset, arr.byteLength >> 2);
}
