// A small seeded generator for deterministic choices inside shared/ (validation points, test inputs).
// SplitMix32-style mixing (Steele et al.); not for Monte-Carlo episodes, which use a dedicated generator.

export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** A uniform point of the probability simplex over n states (normalised exponentials). */
  simplex<A extends Float64Array<ArrayBufferLike>>(n: number, out: A = new Float64Array(n) as A): A {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const e = -Math.log(1 - this.next());
      out[i] = e;
      s += e;
    }
    for (let i = 0; i < n; i++) out[i] /= s;
    return out;
  }
}
