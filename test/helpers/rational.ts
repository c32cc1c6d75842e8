// Exact rational arithmetic on BigInt, for tests that need to know whether two values are equal in exact
// arithmetic (ties the floating-point kernels then decide by their last bit).

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export class Rational {
  private constructor(readonly num: bigint, readonly den: bigint) {}

  static of(num: bigint | number, den: bigint | number = 1n): Rational {
    let n = BigInt(num);
    let d = BigInt(den);
    if (d === 0n) throw new RangeError('Rational: zero denominator');
    if (d < 0n) [n, d] = [-n, -d];
    const g = gcd(n, d) || 1n;
    return new Rational(n / g, d / g);
  }

  /** The decimal a parameter was written as (String(0.05) = '0.05' is 1/20, not the double nearest it). */
  static decimal(x: number): Rational {
    const s = String(x);
    if (!/^-?\d+(\.\d+)?$/.test(s)) throw new RangeError(`Rational.decimal: ${s}`);
    const [int, frac = ''] = s.split('.');
    return Rational.of(BigInt(int + frac), 10n ** BigInt(frac.length));
  }

  add(o: Rational): Rational { return Rational.of(this.num * o.den + o.num * this.den, this.den * o.den); }
  sub(o: Rational): Rational { return Rational.of(this.num * o.den - o.num * this.den, this.den * o.den); }
  mul(o: Rational): Rational { return Rational.of(this.num * o.num, this.den * o.den); }
  cmp(o: Rational): number {
    const d = this.num * o.den - o.num * this.den;
    return d > 0n ? 1 : d < 0n ? -1 : 0;
  }
  abs(): Rational { return this.num < 0n ? Rational.of(-this.num, this.den) : this; }
  toString(): string { return this.den === 1n ? `${this.num}` : `${this.num}/${this.den}`; }
}
