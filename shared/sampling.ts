// Seeded random streams and the discrete samplers of the N-player simulation (shared/episodes.ts).
//
// Uniforms: xoroshiro128+ from `pure-rand` (the generator library behind fast-check: maintained, no
// dependencies, ESM build, runs on Node 20). Its 128-bit state can be set directly (`xoroshiro128plusFromState`),
// so starting episode k's own stream costs about a microsecond; doubles are pure-rand's `uniformFloat64`
// (53 random bits, in [0, 1)). `@stdlib/random-base-mt19937` was measured here at ~40 us to seed one stream
// (init_by_array over 624 words) and ~25 ns per double: with one stream per episode it cost more than a short
// episode.
//
// Binomial: our own, because the maintained library that has one is wrong. `@stdlib/random-base-binomial`
// 0.2.2 (the latest release, and the same code in stdlib's repository) implements Hoermann's BTRD for
// n min(p, 1-p) >= 10, but its recursive acceptance test multiplies from i = m (resp. k) instead of m + 1
// (resp. k + 1), which biases every draw that reaches it: measured here with its own seeded mt19937,
// Binomial(100, 0.3) had mean 30.47 and variance 19.5 over 4e5 draws (exact: 30 and 21; standard error 0.007),
// Binomial(20, 0.5) mean 10.54. Its small-mean branch is n Bernoulli trials, O(n). Other npm "binomial"
// samplers (`random`, `probability-distributions`) are n Bernoulli trials too. So this file carries the two
// textbook exact algorithms numpy, TensorFlow and PyTorch use, checked against the exact pmf by a chi-square
// test in test/nplayer.test.ts:
//   - n q < 10 (q = min(p, 1 - p)): inversion (numpy's BINV): walk the pmf from k = 0 with
//     f(k) = f(k-1) (n - k + 1) q / (k (1 - q)), f(0) = (1 - q)^n; expected n q + 1 steps;
//   - n q >= 10: BTRD, W. Hoermann, "The generation of binomial random variates", J. Statist. Comput. Simul.
//     46 (1993), 101-110: transformed rejection with squeeze, O(1) expected draws for every n.
//   Draws with p > 1/2 return n - Binomial(n, 1 - p).
// Multinomial: sequential conditional binomials, count_j ~ Binomial(n - sum_{i<j} count_i, p_j / sum_{i>=j} p_i),
// the tail sums taken from the end so the last non-zero entry gets ratio exactly 1.
// Categorical (one draw from a short row): inversion of one uniform.
//
// Streams. Episode k under seed s (both non-negative safe integers) uses the xoroshiro128+ state made of two
// SplitMix64 outputs, the seeding xoroshiro's authors recommend: key = mix64(s + g) (SplitMix64's first output
// for seed s), then w_i = mix64(key + (2k + 1 + i) g) for i = 0, 1 (mod 2^64, g the golden-ratio increment).
// mix64 is a bijection, so distinct episodes of one seed never share a state. The stream depends on (s, k)
// only, never on which thread runs the episode or what ran before it.

import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;
const MASK32 = 0xffffffffn;

function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** Checks a seed or an episode index: a non-negative safe integer. */
export function checkStreamIndex(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${v}`);
}

/** Below this mean n min(p, 1-p) binomials are drawn by inversion, above it by BTRD. */
export const BTRD_MIN_MEAN = 10;

/**
 * The random stream of one episode at a time, and the samplers that draw from it. One instance per thread;
 * `startEpisode(k)` switches to episode k's stream. No allocation per draw.
 */
export class EpisodeRandom {
  readonly seed: number;
  private readonly key: bigint;
  private gen: RandomGenerator;
  /** Tail sums for multinomial draws (grown on demand). */
  private tail = new Float64Array(8);

  constructor(seed: number) {
    checkStreamIndex('seed', seed);
    this.seed = seed;
    this.key = mix64((BigInt(seed) + GOLDEN) & MASK64);
    this.gen = xoroshiro128plusFromState([0, 1, 0, 0]);
    this.startEpisode(0);
  }

  /** Switches to the stream of episode k (see the header). */
  startEpisode(k: number): void {
    checkStreamIndex('episode index', k);
    const c = BigInt(k) * 2n;
    const w0 = mix64((this.key + (c + 1n) * GOLDEN) & MASK64);
    const w1 = mix64((this.key + (c + 2n) * GOLDEN) & MASK64);
    // pure-rand's state order: [s0 high, s0 low, s1 high, s1 low]
    const state = [Number(w0 >> 32n) | 0, Number(w0 & MASK32) | 0, Number(w1 >> 32n) | 0, Number(w1 & MASK32) | 0];
    if ((state[0] | state[1] | state[2] | state[3]) === 0) state[1] = 1; // the one state xoroshiro cannot use
    this.gen = xoroshiro128plusFromState(state);
  }

  /** Uniform in [0, 1) from the current episode's stream. */
  uniform(): number {
    return uniformFloat64(this.gen);
  }

  /** Binomial(n, p): n a non-negative integer, p a probability (values outside [0, 1] are clamped). */
  binomial(n: number, p: number): number {
    if (n === 0 || !(p > 0)) return 0;
    if (p >= 1) return n;
    const flip = p > 0.5;
    const q = flip ? 1 - p : p;
    const k = n * q < BTRD_MIN_MEAN ? this.inversion(n, q) : this.btrd(n, q);
    return flip ? n - k : k;
  }

  /** Binomial(n, q) by inversion (q <= 1/2, n q < 10); restarts past a bound whose tail mass is < 1e-40. */
  private inversion(n: number, q: number): number {
    const f0 = Math.exp(n * Math.log1p(-q));
    const ratio = q / (1 - q);
    const bound = Math.min(n, 110);
    for (;;) {
      let u = this.uniform();
      let k = 0;
      let f = f0;
      while (u > f) {
        if (k === bound) break;
        u -= f;
        k++;
        f *= ((n - k + 1) / k) * ratio;
      }
      if (u <= f) return k;
    }
  }

  /** Binomial(n, p) by BTRD (p <= 1/2, n p >= 10), step numbers as in Hoermann (1993). */
  private btrd(n: number, p: number): number {
    // 0. setup
    const q = 1 - p;
    const m = Math.floor((n + 1) * p);
    const r = p / q;
    const nr = (n + 1) * r;
    const npq = n * p * q;
    const spq = Math.sqrt(npq);
    const b = 1.15 + 2.53 * spq;
    const a = -0.0873 + 0.0248 * b + 0.01 * p;
    const c = n * p + 0.5;
    const alpha = (2.83 + 5.1 / b) * spq;
    const vr = 0.92 - 4.2 / b;
    const urvr = 0.86 * vr;
    for (;;) {
      // 1. the triangle in the centre: immediate acceptance
      let v = this.uniform();
      if (v <= urvr) {
        const u = v / vr - 0.43;
        return Math.floor(((2 * a) / (0.5 - Math.abs(u)) + b) * u + c);
      }
      // 2. a point (u, v) of the region between the hat and the triangle
      let u: number;
      if (v >= vr) {
        u = this.uniform() - 0.5;
      } else {
        u = v / vr - 0.93;
        u = (u < 0 ? -0.5 : 0.5) - u;
        v = this.uniform() * vr;
      }
      // 3.0
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + c);
      if (k < 0 || k > n) continue;
      v = (v * alpha) / (a / (us * us) + b);
      const km = Math.abs(k - m);
      if (km <= 15) {
        // 3.1 recursive evaluation of f(k) / f(m)
        let f = 1;
        if (m < k) {
          for (let i = m + 1; i <= k; i++) f *= nr / i - r;
        } else if (m > k) {
          for (let i = k + 1; i <= m; i++) v *= nr / i - r;
        }
        if (v <= f) return k;
        continue;
      }
      // 3.2 squeeze on log v
      v = Math.log(v);
      const rho = (km / npq) * (((km / 3 + 0.625) * km + 1 / 6) / npq + 0.5);
      const t = (-km * km) / (2 * npq);
      if (v < t - rho) return k;
      if (v > t + rho) continue;
      // 3.3 and 3.4: the final acceptance test with Stirling's corrections
      const nm = n - m + 1;
      const h = (m + 0.5) * Math.log((m + 1) / (r * nm)) + stirlingCorrection(m) + stirlingCorrection(n - m);
      const nk = n - k + 1;
      const bound =
        h + (n + 1) * Math.log(nm / nk) + (k + 0.5) * Math.log((nk * r) / (k + 1)) - stirlingCorrection(k) - stirlingCorrection(n - k);
      if (v <= bound) return k;
    }
  }

  /** One draw from the distribution p[off..off+len) by inversion; never an entry with probability 0. */
  categorical(p: ArrayLike<number>, off: number, len: number): number {
    const u = this.uniform();
    let acc = 0;
    let last = -1;
    for (let a = 0; a < len; a++) {
      const pa = p[off + a];
      if (pa > 0) {
        acc += pa;
        last = a;
        if (u < acc) return a;
      }
    }
    // the row sums to 1 within rounding: u beyond the float sum goes to the last possible entry
    return last < 0 ? 0 : last;
  }

  /**
   * Multinomial(n, p[off..off+len)) by sequential conditional binomials; writes the counts to
   * out[outOff..outOff+len). The weights need not sum to 1 exactly: they are normalised by their tail sums.
   */
  multinomial(n: number, p: ArrayLike<number>, off: number, len: number, out: Float64Array, outOff: number): void {
    if (this.tail.length < len) this.tail = new Float64Array(len);
    const tail = this.tail;
    let s = 0;
    for (let j = len - 1; j >= 0; j--) {
      const pj = p[off + j];
      if (pj > 0) s += pj;
      tail[j] = s;
    }
    let left = n;
    for (let j = 0; j < len; j++) {
      const pj = p[off + j];
      if (left === 0 || !(pj > 0)) {
        out[outOff + j] = 0;
        continue;
      }
      const ratio = pj / tail[j];
      const k = ratio >= 1 ? left : this.binomial(left, ratio);
      out[outOff + j] = k;
      left -= k;
    }
    // only reachable when every weight is 0: keep the players somewhere rather than lose them
    if (left > 0) out[outOff] += left;
  }
}

/** log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2]: exact below 10, Stirling's series above. */
function stirlingCorrection(k: number): number {
  if (k < 10) return STIRLING_SMALL[k];
  const k1 = k + 1;
  const k1sq = k1 * k1;
  return (1 / 12 - (1 / 360 - 1 / 1260 / k1sq) / k1sq) / k1;
}

const STIRLING_SMALL = Float64Array.of(
  0.08106146679532726,
  0.04134069595540929,
  0.02767792568499834,
  0.02079067210376509,
  0.01664469118982119,
  0.01387612882307075,
  0.01189670994589177,
  0.01041126526197209,
  0.009255462182712733,
  0.008330563433362871,
);
