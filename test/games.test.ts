// The game model against ../shared/spec/games.md: sizes, defaults, kernels and rewards of the four built-in
// games (reference formulas written here from games.md, independently of shared/games/*), parameter
// resolution errors, and the validation messages for broken user-defined games.

import { beforeAll, describe, expect, it } from 'vitest';
import { GameDefinitionError } from '../shared/errors.ts';
import { advertisement, buffet, builtinGames, cyber, sis } from '../shared/games/index.ts';
import { MidpointGrid } from '../shared/grid.ts';
import { resolveParams, type GameDefinition, type GameFamily, type Params } from '../shared/model.ts';
import { Problem } from '../shared/problem.ts';
import { SeededRandom } from '../shared/random.ts';
import { buildGame, validateGame } from '../shared/validate.ts';

const TOL = 1e-12;

// ---------------------------------------------------------------------------------------------------------
// Reference models, written from games.md.

interface RefGame {
  nX: number;
  nU: number;
  nX0: number;
  nU0: number;
  T: number;
  mu0: number[];
  nu0: number[];
  minor(x: number, u: number, x0: number, u0: number, mu: ArrayLike<number>): number[];
  major(x0: number, u0: number, mu: ArrayLike<number>): number[];
  r(x: number, u: number, x0: number, u0: number, mu: ArrayLike<number>): number;
  r0(x0: number, u0: number, mu: ArrayLike<number>): number;
}

const ind = (b: boolean): number => (b ? 1 : 0);
const clip1 = (p: number): number => Math.min(1, p);

/** A two-point distribution over {0, 1}: moves from `from` to the other state with probability `p` (clipped). */
function flip(from: number, p: number): number[] {
  const q = clip1(p);
  return from === 0 ? [1 - q, q] : [q, 1 - q];
}

function sisRef(p: Params): RefGame {
  const S = 0;
  const I = 1;
  return {
    nX: 2,
    nU: 2,
    nX0: 2,
    nU0: 2,
    T: p.T,
    mu0: [1 - p.p_inf0, p.p_inf0],
    nu0: [1 - p.p_high0, p.p_high0],
    minor(x, u, x0, u0, mu) {
      if (x === S) {
        if (u === 1) return [1, 0];
        return flip(S, p.beta * mu[I] * (0.5 + x0 + ind(u0 === 0)) * p.dt);
      }
      return flip(I, p.gamma * p.dt);
    },
    major(x0) {
      return flip(x0, p.jump * p.dt);
    },
    r(x, u, _x0, u0) {
      return -p.cI * ind(x === I) - p.cP * u * (0.5 + u0);
    },
    r0(_x0, u0, mu) {
      return -p.c0I * mu[I] - p.c0F * u0 * (0.5 - mu[I]);
    },
  };
}

function buffetFill(x0: number, L: number, F: number): number[] {
  const f: number[] = [];
  let rest = x0;
  for (let d = 0; d < L; d++) {
    f.push(rest % F);
    rest = Math.floor(rest / F);
  }
  return f;
}

function buffetCode(f: number[], F: number): number {
  let x0 = 0;
  for (let d = f.length - 1; d >= 0; d--) x0 = x0 * F + f[d];
  return x0;
}

function buffetRef(p: Params): RefGame {
  const { L, F } = p;
  const nX0 = F ** L;
  const mu0 = new Array(L).fill(0);
  mu0[0] = 1;
  return {
    nX: L,
    nU: L,
    nX0,
    nU0: L,
    T: p.T,
    mu0,
    nu0: new Array(nX0).fill(1 / nX0),
    minor(x, u) {
      const row = new Array(L).fill(0);
      if (u === x) {
        row[x] = 1;
      } else {
        const m = clip1(p.change * p.dt);
        row[u] = m;
        row[x] = 1 - m;
      }
      return row;
    },
    // Brute force over every loss pattern (bit d of `mask` = location d loses) and the gain event.
    major(x0, u0, mu) {
      const f = buffetFill(x0, L, F);
      const row = new Array(nX0).fill(0);
      const pGain = clip1(p.gain * p.dt);
      for (let mask = 0; mask < 2 ** L; mask++) {
        for (const gained of [false, true]) {
          let prob = gained ? pGain : 1 - pGain;
          const next: number[] = [];
          for (let d = 0; d < L; d++) {
            const lost = ((mask >> d) & 1) === 1;
            const pLoss = clip1(mu[d] * p.loss * p.dt);
            prob *= lost ? pLoss : 1 - pLoss;
            const raw = f[d] + ind(gained && d === u0) - ind(lost);
            next.push(Math.max(0, Math.min(F - 1, raw)));
          }
          row[buffetCode(next, F)] += prob;
        }
      }
      return row;
    },
    r(x, u, x0, _u0, mu) {
      const f = buffetFill(x0, L, F);
      return p.cFood * f[x] - p.cCrowd * mu[x] - p.cMove * ind(u !== x);
    },
    r0(x0) {
      const f = buffetFill(x0, L, F);
      const mean = f.reduce((a, b) => a + b, 0) / L;
      const dev = f.reduce((a, b) => a + Math.abs(b - mean), 0) / L;
      return p.c0Fill * mean - p.c0Balance * dev;
    },
  };
}

function advertisementRef(p: Params): RefGame {
  const a1 = (x0: number, u0: number) => p.k0 + p.kY * ind(x0 === 0) + p.kU0 * ind(u0 === 1);
  const a2 = (x0: number, u0: number) => p.k0 + p.kY * ind(x0 === 1) + p.kU0 * ind(u0 === 2);
  return {
    nX: 2,
    nU: 2,
    nX0: 2,
    nU0: 3,
    T: p.T,
    mu0: [0.5, 0.5],
    nu0: [1, 0],
    minor(x, u, x0, u0) {
      const e1 = a1(x0, u0);
      const e2 = a2(x0, u0);
      const ratio = x === 0 ? e2 / e1 : e1 / e2;
      return flip(x, p.change * ratio * (0.2 + p.kU * u));
    },
    major(x0) {
      return flip(x0, p.jump0);
    },
    r(x, u, x0, u0, mu) {
      const a = x === 0 ? a1(x0, u0) : a2(x0, u0);
      return p.cCrowd * (mu[x] - mu[1 - x]) + p.cAd * a - p.cC * ind(u === 0) - p.cO * ind(u === 1);
    },
    r0(_x0, u0, mu) {
      return -p.c0Monopoly * Math.abs(mu[0] - mu[1]) - p.c0Ad * ind(u0 !== 0);
    },
  };
}

function cyberRef(p: Params): RefGame {
  const infected = (x: number) => x === 1 || x === 3;
  const protectedClass = (x: number) => x >= 2;
  return {
    nX: 4,
    nU: 2,
    nX0: 1,
    nU0: 2,
    T: p.T,
    mu0: [
      (1 - p.p_inf0) * (1 - p.p_mod0),
      p.p_inf0 * (1 - p.p_mod0),
      (1 - p.p_inf0) * p.p_mod0,
      p.p_inf0 * p.p_mod0,
    ],
    nu0: [1],
    minor(x, u, _x0, u0, mu) {
      const i = mu[1] + mu[3];
      // probability that the infection bit ends at 1
      let pInf: number;
      if (infected(x)) pInf = 1 - clip1(p.gamma);
      else pInf = u0 === 0 ? clip1(p.beta * i * 0.5) : clip1(p.beta * i * 1.5);
      // probability that the class ends as the other class
      const pSwitch = u === 1 ? p.jump : 0;
      const row = [0, 0, 0, 0];
      for (let y = 0; y < 4; y++) {
        const bit = infected(y) ? pInf : 1 - pInf;
        const cls = protectedClass(y) === protectedClass(x) ? 1 - pSwitch : pSwitch;
        row[y] = bit * cls;
      }
      return row;
    },
    major() {
      return [1];
    },
    r(x) {
      return -p.cInf * ind(infected(x)) - p.cProt * ind(protectedClass(x));
    },
    r0(_x0, u0, mu) {
      return p.c0Inf * (mu[1] + mu[3]) - p.c0Hack * u0;
    },
  };
}

const REFS: Record<string, (p: Params) => RefGame> = {
  sis: sisRef,
  buffet: buffetRef,
  advertisement: advertisementRef,
  cyber: cyberRef,
};

// The defaults games.md documents, family by family.
const SPEC_DEFAULTS: Record<string, Record<string, number>> = {
  sis: { beta: 0.8, gamma: 0.2, T: 150, dt: 0.25, p_inf0: 0.2, p_high0: 0.5, jump: 0.4, cI: 0.75, cP: 0.5, c0I: 2, c0F: 1 },
  buffet: {
    L: 2, F: 5, change: 0.7, dt: 0.2, gain: 0.9, loss: 1.0, T: 100,
    cFood: 0.75, cCrowd: 0.5, cMove: 1.0, c0Fill: 2, c0Balance: 1,
  },
  advertisement: {
    change: 0.3, jump0: 0.05, T: 100, cC: 0.75, cO: 1.0, cAd: 1.0, cCrowd: 1.0,
    c0Ad: 0.1, c0Monopoly: 1, k0: 0.2, kY: 0.5, kU0: 0.7, kU: 1.0,
  },
  cyber: {
    beta: 0.8, gamma: 0.2, T: 100, p_inf0: 0.2, p_mod0: 0.5, jump: 0.1,
    cInf: 1.0, cProt: 0.0, c0Inf: 1.0, c0Hack: 0.5,
  },
};

// Other valid values, one override at a time. Some are chosen to reach the min(1, .) clips of games.md
// (SIS beta 4, Cyber beta 1.9) or corner cases (Advertisement k0 = 0 makes a1 = 0 at x0 = 1, u0 != 1).
const OVERRIDES: Record<string, Record<string, number[]>> = {
  sis: {
    beta: [1.3, 4], gamma: [0.35], T: [7], dt: [0.1, 0.5], p_inf0: [0.35, 0], p_high0: [0.9, 1], jump: [0.6],
    cI: [1.1], cP: [0.2], c0I: [0.5], c0F: [3],
  },
  buffet: {
    L: [3], F: [3, 2], change: [0.5, 0], dt: [0.3], gain: [0.4, 0], loss: [0.6, 2], T: [5],
    cFood: [1.5], cCrowd: [0.25], cMove: [0.3], c0Fill: [1], c0Balance: [2],
  },
  advertisement: {
    change: [0.45], jump0: [0.2, 1], T: [4], cC: [0.5], cO: [0.8], cAd: [2], cCrowd: [0.3], c0Ad: [0.25],
    c0Monopoly: [2], k0: [0.1, 0], kY: [0.9], kU0: [0.3], kU: [0.4, 0],
  },
  cyber: {
    beta: [1.2, 1.9], gamma: [0.45, 1], T: [9], p_inf0: [0.1, 1], p_mod0: [0.25], jump: [0.3, 1], cInf: [2],
    cProt: [0.25], c0Inf: [1.5], c0Hack: [0.2],
  },
};

const BINS: Record<string, number> = { sis: 10, buffet: 10, advertisement: 10, cyber: 6 };

/** Every configuration: defaults, then one override at a time. */
function configurations(family: string): Array<{ label: string; overrides: Record<string, number> }> {
  const out = [{ label: 'defaults', overrides: {} as Record<string, number> }];
  for (const [name, values] of Object.entries(OVERRIDES[family])) {
    for (const v of values) out.push({ label: `${name}=${v}`, overrides: { [name]: v } });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

const SENTINEL = -12345;

/** Calls a kernel on a buffer with a margin on both sides; checks it writes exactly its slice. */
function callRow(n: number, write: (out: Float64Array, offset: number) => void): number[] {
  const off = 3;
  const buf = new Float64Array(n + 2 * off).fill(SENTINEL);
  write(buf, off);
  for (let i = 0; i < off; i++) {
    if (buf[i] !== SENTINEL) expect.fail(`kernel wrote before its offset (${buf[i]} at ${i - off})`);
    if (buf[off + n + i] !== SENTINEL) expect.fail(`kernel wrote past its row (${buf[off + n + i]} at ${n + i})`);
  }
  return Array.from(buf.subarray(off, off + n));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= TOL)) {
      expect.fail(`${label}: entry ${i} is ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`);
    }
  }
}

function expectNumClose(actual: number, expected: number, label: string): void {
  if (!(Math.abs(actual - expected) <= TOL)) expect.fail(`${label}: ${actual}, expected ${expected}`);
}

/** Mean fields to test at: the vertices, mu0, a few boundary points and seeded random simplex points. */
function testPoints(nX: number, mu0: ArrayLike<number>, seed: number, random = 8): Float64Array[] {
  const pts: Float64Array[] = [];
  for (let v = 0; v < nX; v++) {
    const p = new Float64Array(nX);
    p[v] = 1;
    pts.push(p);
  }
  pts.push(Float64Array.from(mu0));
  pts.push(new Float64Array(nX).fill(1 / nX));
  const edge = new Float64Array(nX);
  edge[0] = 0.3;
  edge[nX - 1] = 0.7;
  pts.push(edge);
  const rng = new SeededRandom(seed);
  for (let k = 0; k < random; k++) pts.push(rng.simplex(nX));
  return pts;
}

function fmt(mu: ArrayLike<number>): string {
  return `[${Array.from(mu, (v) => v.toFixed(4)).join(', ')}]`;
}

/** Compares every kernel row and reward of `game` with the reference at `mu`. */
function compareAt(game: GameDefinition, ref: RefGame, mu: Float64Array, where: string): void {
  const { nX, nU, nX0, nU0 } = ref;
  for (let x0 = 0; x0 < nX0; x0++) {
    for (let u0 = 0; u0 < nU0; u0++) {
      const at0 = `${where} x0=${x0} u0=${u0} mu=${fmt(mu)}`;
      const row0 = callRow(nX0, (out, o) => game.majorKernel(x0, u0, mu, out, o));
      expectClose(row0, ref.major(x0, u0, mu), `majorKernel ${at0}`);
      expectNumClose(game.majorReward(x0, u0, mu), ref.r0(x0, u0, mu), `majorReward ${at0}`);
      for (let x = 0; x < nX; x++) {
        for (let u = 0; u < nU; u++) {
          const at = `${where} x=${x} u=${u} x0=${x0} u0=${u0} mu=${fmt(mu)}`;
          const row = callRow(nX, (out, o) => game.minorKernel(x, u, x0, u0, mu, out, o));
          expectClose(row, ref.minor(x, u, x0, u0, mu), `minorKernel ${at}`);
          expectNumClose(game.minorReward(x, u, x0, u0, mu), ref.r(x, u, x0, u0, mu), `minorReward ${at}`);
        }
      }
    }
  }
}

function expectGameError(fn: () => unknown, game: string, ...parts: Array<string | RegExp>): GameDefinitionError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a GameDefinitionError').toBeInstanceOf(GameDefinitionError);
  const err = caught as GameDefinitionError;
  expect(err.game).toBe(game);
  expect(err.message).toContain(`game '${game}'`);
  for (const part of parts) {
    if (typeof part === 'string') expect(err.message).toContain(part);
    else expect(err.message).toMatch(part);
  }
  return err;
}

// ---------------------------------------------------------------------------------------------------------
// 1. Building the built-in games.

describe('built-in games: defaults, sizes and overrides (games.md)', () => {
  it('registers exactly the four games under their names', () => {
    expect(Object.keys(builtinGames).sort()).toEqual(['advertisement', 'buffet', 'cyber', 'sis']);
    expect(builtinGames.sis).toBe(sis);
    expect(builtinGames.buffet).toBe(buffet);
    expect(builtinGames.advertisement).toBe(advertisement);
    expect(builtinGames.cyber).toBe(cyber);
    for (const [name, family] of Object.entries(builtinGames)) expect(family.name).toBe(name);
  });

  for (const [name, family] of Object.entries(builtinGames)) {
    it(`${name}: declares exactly the parameters and defaults of games.md`, () => {
      const resolved = resolveParams(family);
      expect({ ...resolved }).toEqual(SPEC_DEFAULTS[name]);
      expect(Object.isFrozen(resolved)).toBe(true);
      // the override table below covers every parameter, each with values other than the default
      expect(Object.keys(OVERRIDES[name]).sort()).toEqual(Object.keys(family.params).sort());
      for (const [p, values] of Object.entries(OVERRIDES[name])) {
        for (const v of values) expect(v, `${name}.${p}`).not.toBe(family.params[p].default);
      }
    });

    for (const { label, overrides } of configurations(name)) {
      it(`${name} (${label}): builds, has the sizes of games.md and a Problem at M=${BINS[name]}`, () => {
        const game = buildGame(family, overrides);
        const params = { ...resolveParams(family), ...overrides };
        expect({ ...game.params }).toEqual(params);
        const ref = REFS[name](params);
        expect(game.name).toBe(name);
        expect([game.nX, game.nU, game.nX0, game.nU0, game.T]).toEqual([ref.nX, ref.nU, ref.nX0, ref.nU0, ref.T]);
        expect(game.mu0).toBeInstanceOf(Float64Array);
        expect(game.nu0).toBeInstanceOf(Float64Array);
        expectClose(game.mu0, ref.mu0, 'mu0');
        expectClose(game.nu0, ref.nu0, 'nu0');

        const bins = BINS[name];
        const problem = new Problem(game, bins);
        const grid = new MidpointGrid(game.nX, bins);
        expect(problem.cells).toBe(grid.cells);
        expect(problem.rows).toBe(game.nX0 * grid.cells);
        expect(problem.minorP.length).toBe(problem.rows * game.nU0 * game.nX * game.nU * game.nX);
        expect(problem.minorR.length).toBe(problem.rows * game.nU0 * game.nX * game.nU);
        expect(problem.majorR.length).toBe(problem.rows * game.nU0);
        expect(problem.initialCell).toBe(grid.project(game.mu0));
      }, 30_000);
    }
  }

  it('Buffet sizes: nX = nU = nU0 = L, nX0 = F^L; L = 3 gives nX = 3, nX0 = 125', () => {
    const b3 = buildGame(buffet, { L: 3 });
    expect([b3.nX, b3.nU, b3.nX0, b3.nU0]).toEqual([3, 3, 125, 3]);
    const b = buildGame(buffet, { L: 2, F: 4 });
    expect([b.nX, b.nU, b.nX0, b.nU0]).toEqual([2, 2, 16, 2]);
    const d = buildGame(buffet);
    expect([d.nX, d.nU, d.nX0, d.nU0, d.T]).toEqual([2, 2, 25, 2, 100]);
  });

  it('fixed sizes of SIS, Advertisement and Cyber', () => {
    const s = buildGame(sis);
    expect([s.nX, s.nU, s.nX0, s.nU0, s.T]).toEqual([2, 2, 2, 2, 150]);
    const a = buildGame(advertisement);
    expect([a.nX, a.nU, a.nX0, a.nU0, a.T]).toEqual([2, 2, 2, 3, 100]);
    const c = buildGame(cyber);
    expect([c.nX, c.nU, c.nX0, c.nU0, c.T]).toEqual([4, 2, 1, 2, 100]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 2. Kernels and rewards against the formulas of games.md.

describe('kernels and rewards match games.md', () => {
  let seed = 100;
  for (const [name, family] of Object.entries(builtinGames)) {
    for (const { label, overrides } of configurations(name)) {
      const s = seed++;
      it(`${name} (${label}): every kernel row and reward at vertices, mu0 and random simplex points`, () => {
        const game = buildGame(family, overrides);
        const ref = REFS[name]({ ...resolveParams(family), ...overrides });
        // the large Buffet (nX0 = 125) gets fewer random points: its brute-force reference is slow
        const random = game.nX0 > 50 ? 3 : 8;
        for (const mu of testPoints(game.nX, game.mu0, s, random)) compareAt(game, ref, mu, `${name}(${label})`);
      }, 30_000);
    }
  }

  for (const [name, family] of Object.entries(builtinGames)) {
    it(`${name}: tabulated Problem entries equal the formulas at grid points`, () => {
      const game = buildGame(family);
      const ref = REFS[name](resolveParams(family));
      const problem = new Problem(game, BINS[name]);
      const { nX, nU, nX0, nU0 } = game;
      const rng = new SeededRandom(77);
      for (let k = 0; k < 40; k++) {
        const c = rng.int(problem.cells);
        const x0 = rng.int(nX0);
        const u0 = rng.int(nU0);
        const mu = problem.grid.point(c);
        const slot = (x0 * problem.cells + c) * nU0 + u0;
        const where = `${name} cell=${c} x0=${x0} u0=${u0}`;
        expectNumClose(problem.majorR[slot], ref.r0(x0, u0, mu), `majorR ${where}`);
        const dense = new Array(nX0).fill(0);
        for (let j = 0; j < problem.majorCount[slot]; j++) {
          dense[problem.majorTo[slot * problem.majorWidth + j]] += problem.majorP[slot * problem.majorWidth + j];
        }
        expectClose(dense, ref.major(x0, u0, mu), `major support ${where}`);
        for (let x = 0; x < nX; x++) {
          for (let u = 0; u < nU; u++) {
            const off = ((slot * nX + x) * nU + u) * nX;
            expectClose(problem.minorP.subarray(off, off + nX), ref.minor(x, u, x0, u0, mu), `minorP ${where} x=${x} u=${u}`);
            expectNumClose(problem.minorR[(slot * nX + x) * nU + u], ref.r(x, u, x0, u0, mu), `minorR ${where}`);
          }
        }
      }
    });
  }

  describe('SIS', () => {
    // built in beforeAll, so that a broken game fails these tests rather than the file's collection
    let game: GameDefinition;
    beforeAll(() => {
      game = buildGame(sis);
    });
    const row = (x: number, u: number, x0: number, u0: number, mu: number[]) =>
      callRow(2, (out, o) => game.minorKernel(x, u, x0, u0, Float64Array.from(mu), out, o));

    it('infection probability beta mu(I) (0.5 + x0 + [u0 == 0]) dt, by hand', () => {
      // defaults: beta 0.8, dt 0.25 -> 0.2 * mu(I) * factor
      const cases: Array<[number, number, number]> = [
        // x0, u0, factor
        [0, 0, 1.5],
        [0, 1, 0.5],
        [1, 0, 2.5],
        [1, 1, 1.5],
      ];
      for (const [x0, u0, factor] of cases) {
        const q = 0.2 * 0.4 * factor;
        expectClose(row(0, 0, x0, u0, [0.6, 0.4]), [1 - q, q], `S u=0 x0=${x0} u0=${u0}`);
        expectClose(row(0, 1, x0, u0, [0.6, 0.4]), [1, 0], `S u=1 x0=${x0} u0=${u0}`);
        expectClose(row(1, 0, x0, u0, [0.6, 0.4]), [0.05, 0.95], `I u=0 x0=${x0} u0=${u0}`);
        expectClose(row(1, 1, x0, u0, [0.6, 0.4]), [0.05, 0.95], `I u=1 x0=${x0} u0=${u0}`);
      }
    });

    it('infection probability is clipped to 1', () => {
      const hot = buildGame(sis, { beta: 4 });
      // 4 * 0.9 * 2.5 * 0.25 = 2.25 -> 1
      const r = callRow(2, (out, o) => hot.minorKernel(0, 0, 1, 0, Float64Array.of(0.1, 0.9), out, o));
      expectClose(r, [0, 1], 'clipped infection');
      // 4 * 0.3 * 0.5 * 0.25 = 0.15 stays
      const r2 = callRow(2, (out, o) => hot.minorKernel(0, 0, 0, 1, Float64Array.of(0.7, 0.3), out, o));
      expectClose(r2, [0.85, 0.15], 'unclipped infection');
    });

    it('season switch jump dt, independent of u0 and mu; rewards by hand', () => {
      for (const u0 of [0, 1]) {
        for (const mu of [[1, 0], [0.2, 0.8]]) {
          const m = Float64Array.from(mu);
          expectClose(callRow(2, (out, o) => game.majorKernel(0, u0, m, out, o)), [0.9, 0.1], 'L');
          expectClose(callRow(2, (out, o) => game.majorKernel(1, u0, m, out, o)), [0.1, 0.9], 'H');
        }
      }
      const mu = Float64Array.of(0.7, 0.3);
      expectNumClose(game.minorReward(1, 1, 0, 1, mu), -0.75 - 0.5 * 1.5, 'r(I, 1, ., 1)');
      expectNumClose(game.minorReward(0, 1, 1, 0, mu), -0.25, 'r(S, 1, ., 0)');
      expectNumClose(game.minorReward(0, 0, 1, 1, mu), 0, 'r(S, 0)');
      expectNumClose(game.majorReward(0, 1, mu), -2 * 0.3 - 0.2, 'r0(., 1)');
      expectNumClose(game.majorReward(1, 0, mu), -0.6, 'r0(., 0)');
    });
  });

  describe('Buffet', () => {
    // built in beforeAll, so that a broken game fails these tests rather than the file's collection
    let game: GameDefinition;
    beforeAll(() => {
      game = buildGame(buffet); // L = 2, F = 5, change 0.7, dt 0.2, gain 0.9, loss 1
    });
    const code = (f0: number, f1: number) => f0 + 5 * f1;

    it('minor moves: stay when u == x, otherwise move with change dt', () => {
      const mu = Float64Array.of(0.4, 0.6);
      expectClose(callRow(2, (out, o) => game.minorKernel(0, 0, 7, 1, mu, out, o)), [1, 0], 'stay at 0');
      expectClose(callRow(2, (out, o) => game.minorKernel(1, 1, 3, 0, mu, out, o)), [0, 1], 'stay at 1');
      expectClose(callRow(2, (out, o) => game.minorKernel(0, 1, 7, 1, mu, out, o)), [0.86, 0.14], '0 -> 1');
      expectClose(callRow(2, (out, o) => game.minorKernel(1, 0, 7, 0, mu, out, o)), [0.14, 0.86], '1 -> 0');
      const g3 = buildGame(buffet, { L: 3 });
      expectClose(
        callRow(3, (out, o) => g3.minorKernel(2, 0, 5, 1, Float64Array.of(0.2, 0.3, 0.5), out, o)),
        [0.14, 0, 0.86],
        'L=3 2 -> 0',
      );
    });

    it('major kernel at the top: a gain with a loss leaves F-1 (by hand)', () => {
      const mu = Float64Array.of(0.6, 0.4);
      const p0 = 0.6 * 0.2; // loss at location 0
      const p1 = 0.4 * 0.2; // loss at location 1
      const pg = 0.9 * 0.2;
      // f = (4, 2), refill location 0: location 0 ends at 3 only with a loss and no gain
      const row = callRow(25, (out, o) => game.majorKernel(code(4, 2), 0, mu, out, o));
      const want = new Array(25).fill(0);
      const p3 = (1 - pg) * p0;
      want[code(3, 1)] = p3 * p1;
      want[code(3, 2)] = p3 * (1 - p1);
      want[code(4, 1)] = (1 - p3) * p1;
      want[code(4, 2)] = (1 - p3) * (1 - p1);
      expectClose(row, want, 'f=(4,2) u0=0');
    });

    it('major kernel at the bottom: a loss with a gain leaves 0 + 1 - 1 = 0 (by hand)', () => {
      const mu = Float64Array.of(0.25, 0.75);
      const p0 = 0.25 * 0.2;
      const p1 = 0.75 * 0.2;
      const pg = 0.18;
      // f = (0, 3), refill location 0: location 0 reaches 1 only with a gain and no loss
      const row = callRow(25, (out, o) => game.majorKernel(code(0, 3), 0, mu, out, o));
      const want = new Array(25).fill(0);
      const up = pg * (1 - p0);
      want[code(1, 2)] = up * p1;
      want[code(1, 3)] = up * (1 - p1);
      want[code(0, 2)] = (1 - up) * p1;
      want[code(0, 3)] = (1 - up) * (1 - p1);
      expectClose(row, want, 'f=(0,3) u0=0');
      // refill location 1 instead: location 1 moves 3 -> 4 with a gain and no loss, 3 -> 2 with a loss and no
      // gain; location 0 at 0 stays 0 whatever happens.
      const row1 = callRow(25, (out, o) => game.majorKernel(code(0, 3), 1, mu, out, o));
      const want1 = new Array(25).fill(0);
      want1[code(0, 4)] = pg * (1 - p1);
      want1[code(0, 2)] = (1 - pg) * p1;
      want1[code(0, 3)] = pg * p1 + (1 - pg) * (1 - p1);
      expectClose(row1, want1, 'f=(0,3) u0=1');
    });

    it('major kernel at both clips at once, and with an empty location (mu = vertex)', () => {
      const mu = Float64Array.of(1, 0);
      const p0 = 0.2;
      const pg = 0.18;
      // f = (0, 4), refill location 1: location 1 is at the top (a gain is lost), location 0 at the bottom;
      // location 1 has no crowd, so it never loses; nothing can change.
      const row = callRow(25, (out, o) => game.majorKernel(code(0, 4), 1, mu, out, o));
      const want = new Array(25).fill(0);
      want[code(0, 4)] = 1;
      expectClose(row, want, 'f=(0,4) u0=1');
      // f = (4, 0), refill location 0 (top): 4 -> 3 only with a loss and no gain.
      const row2 = callRow(25, (out, o) => game.majorKernel(code(4, 0), 0, mu, out, o));
      const want2 = new Array(25).fill(0);
      want2[code(3, 0)] = p0 * (1 - pg);
      want2[code(4, 0)] = 1 - p0 * (1 - pg);
      expectClose(row2, want2, 'f=(4,0) u0=0');
    });

    it('major kernel equals the brute-force enumeration over loss patterns for every fill vector (L=2 and L=3)', () => {
      const configs: Array<Record<string, number>> = [{}, { L: 3 }, { F: 2 }, { L: 3, F: 3, gain: 2, loss: 1.5, dt: 0.3 }];
      for (const overrides of configs) {
        const g = buildGame(buffet, overrides);
        const ref = buffetRef({ ...resolveParams(buffet), ...overrides });
        const rng = new SeededRandom(9);
        const mus = [rng.simplex(g.nX), rng.simplex(g.nX), new Float64Array(g.nX).fill(1 / g.nX)];
        for (const mu of mus) {
          for (let x0 = 0; x0 < g.nX0; x0++) {
            for (let u0 = 0; u0 < g.nU0; u0++) {
              const row = callRow(g.nX0, (out, o) => g.majorKernel(x0, u0, mu, out, o));
              expectClose(row, ref.major(x0, u0, mu), `buffet ${JSON.stringify(overrides)} x0=${x0} u0=${u0}`);
            }
          }
        }
      }
    });

    it('rewards: cFood f_x - cCrowd mu(x) - cMove [u != x]; c0Fill mean - c0Balance mean |f - mean| (by hand)', () => {
      const mu = Float64Array.of(0.3, 0.7);
      const x0 = code(4, 1);
      expectNumClose(game.minorReward(0, 0, x0, 1, mu), 0.75 * 4 - 0.5 * 0.3, 'r(0, 0)');
      expectNumClose(game.minorReward(1, 0, x0, 1, mu), 0.75 * 1 - 0.5 * 0.7 - 1, 'r(1, 0)');
      // mean 2.5, deviations 1.5 and 1.5
      expectNumClose(game.majorReward(x0, 0, mu), 2 * 2.5 - 1 * 1.5, 'r0');
      const g3 = buildGame(buffet, { L: 3 });
      // f = (0, 1, 4): x0 = 0 + 1 * 5 + 4 * 25; mean 5/3, mean |dev| = (5/3 + 2/3 + 7/3) / 3
      const y0 = 0 + 5 + 100;
      expectNumClose(g3.majorReward(y0, 2, Float64Array.of(1, 0, 0)), 2 * (5 / 3) - 14 / 9, 'r0 L=3');
      expectNumClose(g3.minorReward(2, 1, y0, 0, Float64Array.of(0.5, 0.25, 0.25)), 3 - 0.125 - 1, 'r L=3');
    });
  });

  describe('Advertisement', () => {
    // built in beforeAll, so that a broken game fails these tests rather than the file's collection
    let game: GameDefinition;
    beforeAll(() => {
      game = buildGame(advertisement);
    });

    it('efficiencies and switch probabilities by hand, clipped at 1', () => {
      const mu = Float64Array.of(0.5, 0.5);
      // x0 = 0, u0 = 0: a1 = 0.7, a2 = 0.2
      expectClose(callRow(2, (out, o) => game.minorKernel(0, 0, 0, 0, mu, out, o)), [1 - 0.3 * (0.2 / 0.7) * 0.2, 0.3 * (0.2 / 0.7) * 0.2], '0, u=0');
      expectClose(callRow(2, (out, o) => game.minorKernel(1, 1, 0, 0, mu, out, o)), [1, 0], '1, u=1 clipped (0.3 * 3.5 * 1.2)');
      expectClose(callRow(2, (out, o) => game.minorKernel(1, 0, 0, 0, mu, out, o)), [0.21, 0.79], '1, u=0');
      // x0 = 1, u0 = 2: a1 = 0.2, a2 = 1.4
      expectClose(callRow(2, (out, o) => game.minorKernel(0, 0, 1, 2, mu, out, o)), [0.58, 0.42], '0, u=0');
      expectClose(callRow(2, (out, o) => game.minorKernel(0, 1, 1, 2, mu, out, o)), [0, 1], '0, u=1 clipped');
      // x0 = 0, u0 = 1: a1 = 1.4, a2 = 0.2
      expectClose(callRow(2, (out, o) => game.minorKernel(0, 1, 0, 1, mu, out, o)), [1 - 0.3 / 7 * 1.2, 0.3 / 7 * 1.2], '0, u=1');
    });

    it('x0 flips with jump0, independent of u0 and mu', () => {
      for (const u0 of [0, 1, 2]) {
        for (const mu of [Float64Array.of(1, 0), Float64Array.of(0.25, 0.75)]) {
          expectClose(callRow(2, (out, o) => game.majorKernel(0, u0, mu, out, o)), [0.95, 0.05], 'x0=0');
          expectClose(callRow(2, (out, o) => game.majorKernel(1, u0, mu, out, o)), [0.05, 0.95], 'x0=1');
        }
      }
    });

    it('rewards by hand', () => {
      const mu = Float64Array.of(0.8, 0.2);
      // x = 0, u = 1, x0 = 0, u0 = 1: a1 = 1.4
      expectNumClose(game.minorReward(0, 1, 0, 1, mu), 0.6 + 1.4 - 1, 'r(0, 1, 0, 1)');
      // x = 1, u = 0, x0 = 0, u0 = 2: a2 = 0.9
      expectNumClose(game.minorReward(1, 0, 0, 2, mu), -0.6 + 0.9 - 0.75, 'r(1, 0, 0, 2)');
      expectNumClose(game.majorReward(0, 0, mu), -0.6, 'r0(., 0)');
      expectNumClose(game.majorReward(1, 2, mu), -0.7, 'r0(., 2)');
    });
  });

  describe('Cyber', () => {
    // built in beforeAll, so that a broken game fails these tests rather than the file's collection
    let game: GameDefinition;
    beforeAll(() => {
      game = buildGame(cyber);
    });

    it('class switch with probability jump, independent of the infection-bit move (by hand)', () => {
      const mu = Float64Array.of(0.1, 0.3, 0.2, 0.4); // i = 0.7
      const q0 = 0.8 * 0.7 * 0.5;
      const q1 = Math.min(1, 0.8 * 0.7 * 1.5);
      for (const [x, cls] of [[0, 0], [2, 2]] as const) {
        const other = 2 - cls;
        for (const [u0, q] of [[0, q0], [1, q1]] as const) {
          const keep = callRow(4, (out, o) => game.minorKernel(x, 0, 0, u0, mu, out, o));
          const want = [0, 0, 0, 0];
          want[cls] = 1 - q;
          want[cls + 1] = q;
          expectClose(keep, want, `x=${x} u=0 u0=${u0}`);
          const sw = callRow(4, (out, o) => game.minorKernel(x, 1, 0, u0, mu, out, o));
          const want1 = [0, 0, 0, 0];
          want1[cls] = (1 - q) * 0.9;
          want1[cls + 1] = q * 0.9;
          want1[other] = (1 - q) * 0.1;
          want1[other + 1] = q * 0.1;
          expectClose(sw, want1, `x=${x} u=1 u0=${u0}`);
        }
      }
      for (const [x, cls] of [[1, 0], [3, 2]] as const) {
        const other = 2 - cls;
        for (const u0 of [0, 1]) {
          const want = [0, 0, 0, 0];
          want[cls] = 0.2;
          want[cls + 1] = 0.8;
          expectClose(callRow(4, (out, o) => game.minorKernel(x, 0, 0, u0, mu, out, o)), want, `x=${x} u=0`);
          const want1 = [0, 0, 0, 0];
          want1[cls] = 0.2 * 0.9;
          want1[cls + 1] = 0.8 * 0.9;
          want1[other] = 0.2 * 0.1;
          want1[other + 1] = 0.8 * 0.1;
          expectClose(callRow(4, (out, o) => game.minorKernel(x, 1, 0, u0, mu, out, o)), want1, `x=${x} u=1`);
        }
      }
    });

    it('q = min(1, beta i 1.5) under effort clips at 1', () => {
      const mu = Float64Array.of(0.05, 0.5, 0.05, 0.4); // i = 0.9: 0.8 * 0.9 * 1.5 = 1.08
      expectClose(callRow(4, (out, o) => game.minorKernel(2, 0, 0, 1, mu, out, o)), [0, 0, 0, 1], 'clipped');
      expectClose(callRow(4, (out, o) => game.minorKernel(0, 1, 0, 1, mu, out, o)), [0, 0.9, 0, 0.1], 'clipped, switch');
    });

    it('single major state, rewards and mu0 by hand', () => {
      const mu = Float64Array.of(0.1, 0.3, 0.2, 0.4);
      for (const u0 of [0, 1]) expectClose(callRow(1, (out, o) => game.majorKernel(0, u0, mu, out, o)), [1], 'P0');
      expect(Array.from(game.nu0)).toEqual([1]);
      expectClose(game.mu0, [0.4, 0.1, 0.4, 0.1], 'mu0 defaults');
      const g = buildGame(cyber, { p_inf0: 0.3, p_mod0: 0.25, cProt: 0.5 });
      expectClose(g.mu0, [0.7 * 0.75, 0.3 * 0.75, 0.7 * 0.25, 0.3 * 0.25], 'mu0 overrides');
      expectNumClose(g.minorReward(3, 0, 0, 1, mu), -1.5, 'r(3)');
      expectNumClose(g.minorReward(2, 1, 0, 0, mu), -0.5, 'r(2)');
      expectNumClose(g.minorReward(1, 1, 0, 0, mu), -1, 'r(1)');
      expectNumClose(g.minorReward(0, 0, 0, 1, mu), 0, 'r(0)');
      expectNumClose(game.majorReward(0, 1, mu), 0.7 - 0.5, 'r0(1)');
      expectNumClose(game.majorReward(0, 0, mu), 0.7, 'r0(0)');
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// 3. Validation messages for broken user-defined games.

/** A small valid game (nX = 3, nX0 = 2) whose parts the tests break one at a time. */
function toyGame(over: Partial<GameDefinition> = {}): GameDefinition {
  const base: GameDefinition = {
    name: 'toy',
    nX: 3,
    nU: 2,
    nX0: 2,
    nU0: 2,
    T: 3,
    mu0: Float64Array.of(0.5, 0.3, 0.2),
    nu0: Float64Array.of(0.25, 0.75),
    params: {},
    minorKernel(x, u, _x0, _u0, mu, out, o) {
      // stay with probability 1/2, otherwise go to y in proportion to mu
      for (let y = 0; y < 3; y++) out[o + y] = 0.5 * mu[y];
      out[o + ((x + u) % 3)] += 0.5;
    },
    majorKernel(x0, u0, mu, out, o) {
      const p = 0.1 + 0.2 * u0 + 0.1 * mu[0];
      out[o + 1 - x0] = p;
      out[o + x0] = 1 - p;
    },
    minorReward(x, u, x0, u0, mu) {
      return mu[x] - 0.1 * u + x0 * u0;
    },
    majorReward(x0, u0, mu) {
      return mu[0] * x0 - u0;
    },
  };
  return { ...base, ...over };
}

/** A two-state toy for grid-point defects (nX = 2, so cell c of M bins is (lin[c], 1 - lin[c])). */
function toy2(over: Partial<GameDefinition> = {}): GameDefinition {
  const base: GameDefinition = {
    name: 'toy2',
    nX: 2,
    nU: 2,
    nX0: 2,
    nU0: 2,
    T: 2,
    mu0: Float64Array.of(0.8, 0.2),
    nu0: Float64Array.of(1, 0),
    params: {},
    minorKernel(x, u, _x0, _u0, mu, out, o) {
      const p = 0.5 * mu[1 - x] * (1 - 0.5 * u);
      out[o + 1 - x] = p;
      out[o + x] = 1 - p;
    },
    majorKernel(x0, _u0, _mu, out, o) {
      out[o + x0] = 0.9;
      out[o + 1 - x0] = 0.1;
    },
    minorReward(x, u, _x0, _u0, mu) {
      return -mu[x] - u;
    },
    majorReward(_x0, u0, mu) {
      return mu[0] - u0;
    },
  };
  return { ...base, ...over };
}

describe('validation names the game, the function and the state', () => {
  it('accepts the valid toy games, in validateGame and in Problem', () => {
    expect(() => validateGame(toyGame())).not.toThrow();
    expect(() => validateGame(toy2())).not.toThrow();
    expect(new Problem(toyGame(), 5).cells).toBe(15);
    expect(new Problem(toy2(), 10).cells).toBe(10);
  });

  it('a minor kernel row summing to 0.9 at one (x, u, x0, u0)', () => {
    const good = toyGame();
    const game = toyGame({
      minorKernel(x, u, x0, u0, mu, out, o) {
        good.minorKernel(x, u, x0, u0, mu, out, o);
        if (x === 1 && u === 1 && x0 === 1 && u0 === 0) for (let y = 0; y < 3; y++) out[o + y] *= 0.9;
      },
    });
    expectGameError(
      () => validateGame(game),
      'toy',
      'minorKernel',
      '(x=1, u=1, x0=1, u0=0, mu=[1, 0, 0])',
      'not a distribution',
      /sums to 0\.9/,
    );
  });

  it('a major kernel row with a negative entry', () => {
    const game = toyGame({
      majorKernel(x0, u0, _mu, out, o) {
        out[o + x0] = u0 === 1 && x0 === 0 ? 1.25 : 1;
        out[o + 1 - x0] = u0 === 1 && x0 === 0 ? -0.25 : 0;
      },
    });
    expectGameError(() => validateGame(game), 'toy', 'majorKernel', '(x0=0, u0=1, mu=[1, 0, 0])', 'not a distribution', 'entry 1 is negative (-0.25)');
  });

  it('a kernel that leaves an entry unwritten (NaN) or writes NaN/Infinity', () => {
    const good = toyGame();
    const skip = toyGame({
      minorKernel(x, u, x0, u0, mu, out, o) {
        if (x === 2) {
          out[o] = 0.5;
          out[o + 1] = 0.5; // entry 2 left as it was
          return;
        }
        good.minorKernel(x, u, x0, u0, mu, out, o);
      },
    });
    expectGameError(() => validateGame(skip), 'toy', 'minorKernel', '(x=2, u=0, x0=0, u0=0', 'not a distribution', 'entry 2 is NaN');
    const inf = toyGame({
      majorKernel(x0, _u0, _mu, out, o) {
        out[o + x0] = x0 === 1 ? Infinity : 1;
        out[o + 1 - x0] = 0;
      },
    });
    expectGameError(() => validateGame(inf), 'toy', 'majorKernel', '(x0=1, u0=0', 'entry 1 is Infinity');
  });

  it('a defect only in part of the simplex is caught at the points validation visits, with mu', () => {
    const good = toyGame();
    const game = toyGame({
      minorKernel(x, u, x0, u0, mu, out, o) {
        good.minorKernel(x, u, x0, u0, mu, out, o);
        if (mu[2] > 0.6 && x === 0) out[o] += 0.01; // only near vertex 2
      },
    });
    expectGameError(() => validateGame(game), 'toy', 'minorKernel', '(x=0, u=0, x0=0, u0=0, mu=[0, 0, 1])', /sums to 1\.01/);
  });

  it('a NaN minor reward and an infinite major reward', () => {
    const good = toyGame();
    const nan = toyGame({
      minorReward(x, u, x0, u0, mu) {
        return x === 2 && u === 0 && x0 === 1 && u0 === 1 ? NaN : good.minorReward(x, u, x0, u0, mu);
      },
    });
    expectGameError(() => validateGame(nan), 'toy', 'minorReward', '(x=2, u=0, x0=1, u0=1, mu=[1, 0, 0])', 'NaN');
    const inf = toyGame({
      majorReward(x0, u0, mu) {
        return x0 === 1 && u0 === 0 ? -Infinity : good.majorReward(x0, u0, mu);
      },
    });
    expectGameError(() => validateGame(inf), 'toy', 'majorReward', '(x0=1, u0=0, mu=[1, 0, 0])', '-Infinity');
  });

  it('mu0 and nu0 of the wrong length, not summing to 1, negative, or not arrays', () => {
    expectGameError(() => validateGame(toyGame({ mu0: Float64Array.of(0.5, 0.5) })), 'toy', 'mu0', 'length 2', 'expected 3');
    expectGameError(() => validateGame(toyGame({ nu0: Float64Array.of(1, 0, 0) })), 'toy', 'nu0', 'length 3', 'expected 2');
    expectGameError(() => validateGame(toyGame({ nu0: Float64Array.of(0.5, 0.4) })), 'toy', 'nu0', 'not a distribution', /sums to 0\.9/);
    expectGameError(() => validateGame(toyGame({ mu0: Float64Array.of(0.5, 0.6, -0.1) })), 'toy', 'mu0', 'entry 2 is negative');
    expectGameError(() => validateGame(toyGame({ mu0: Float64Array.of(0.5, NaN, 0.5) })), 'toy', 'mu0', 'entry 1 is NaN');
    expectGameError(() => validateGame(toyGame({ nu0: 'uniform' as unknown as Float64Array })), 'toy', 'nu0', 'Float64Array');
    // within the documented tolerance is fine
    expect(() => validateGame(toyGame({ nu0: Float64Array.of(0.1, 0.9) }))).not.toThrow();
  });

  it('sizes: zero, negative, non-integer, NaN, and nX < 2', () => {
    expectGameError(() => validateGame(toyGame({ nX: 0 })), 'toy', 'nX must be a positive integer, got 0');
    expectGameError(() => validateGame(toyGame({ nU: 1.5 })), 'toy', 'nU must be a positive integer, got 1.5');
    expectGameError(() => validateGame(toyGame({ nX0: -2 })), 'toy', 'nX0 must be a positive integer, got -2');
    expectGameError(() => validateGame(toyGame({ nU0: NaN })), 'toy', 'nU0 must be a positive integer, got NaN');
    expectGameError(() => validateGame(toyGame({ T: 0 })), 'toy', 'T must be a positive integer, got 0');
    expectGameError(() => validateGame(toyGame({ T: 2.5 })), 'toy', 'T must be a positive integer, got 2.5');
    expectGameError(
      () => validateGame(toyGame({ nX: 1, mu0: Float64Array.of(1) })),
      'toy',
      'nX must be at least 2',
    );
  });

  it('kernels and rewards that throw, or are missing', () => {
    const good = toyGame();
    const boom = new Error('boom');
    const minor = toyGame({
      minorKernel(x, u, x0, u0, mu, out, o) {
        if (x === 2 && u0 === 1) throw boom;
        good.minorKernel(x, u, x0, u0, mu, out, o);
      },
    });
    const err = expectGameError(
      () => validateGame(minor),
      'toy',
      'minorKernel threw at (x=2, u=0, x0=0, u0=1, mu=[1, 0, 0]): boom',
    );
    expect(err.cause).toBe(boom);
    expectGameError(
      () => validateGame(toyGame({ majorKernel: () => { throw new RangeError('bad x0'); } })),
      'toy',
      'majorKernel threw at (x0=0, u0=0, mu=[1, 0, 0]): bad x0',
    );
    expectGameError(
      () => validateGame(toyGame({ minorReward: () => { throw new Error('no reward'); } })),
      'toy',
      'minorReward threw at (x=0, u=0, x0=0, u0=0',
      'no reward',
    );
    expectGameError(
      () => validateGame(toyGame({ majorReward: undefined as unknown as GameDefinition['majorReward'] })),
      'toy',
      'majorReward must be a function',
    );
  });

  it('an unnamed game is reported as (unnamed)', () => {
    expectGameError(() => validateGame(toyGame({ name: '', nX: 0 })), '(unnamed)', 'nX');
  });

  it('a minor-row defect only at a grid point passes validateGame but not new Problem, which names the cell', () => {
    const bins = 10;
    const grid = new MidpointGrid(2, bins);
    const target = grid.lin[3]; // cell 3 is (lin[3], 1 - lin[3])
    const good = toy2();
    const game = toy2({
      minorKernel(x, u, x0, u0, mu, out, o) {
        good.minorKernel(x, u, x0, u0, mu, out, o);
        if (mu[0] === target && x === 1 && u === 0 && x0 === 1) out[o] += 0.05;
      },
    });
    expect(() => validateGame(game)).not.toThrow();
    expectGameError(
      () => new Problem(game, bins),
      'toy2',
      'minorKernel',
      '(x=1, u=0, x0=1, u0=0, mu=[0.350000, 0.650000])',
      'not a distribution',
      'grid cell 3',
    );
  });

  it('a major-row defect only at a grid point of a 3-state game names the cell', () => {
    const bins = 6;
    const grid = new MidpointGrid(3, bins);
    const cell = 11;
    const target = Array.from(grid.point(cell));
    const good = toyGame();
    const game = toyGame({
      majorKernel(x0, u0, mu, out, o) {
        good.majorKernel(x0, u0, mu, out, o);
        if (mu[0] === target[0] && mu[1] === target[1] && u0 === 1) out[o] = -out[o];
      },
    });
    expect(() => validateGame(game)).not.toThrow();
    expectGameError(() => new Problem(game, bins), 'toy', 'majorKernel', '(x0=0, u0=1, mu=[', 'negative', `grid cell ${cell})`);
  });

  it('a non-finite reward only at a grid point is caught by new Problem with the state', () => {
    const bins = 10;
    const target = new MidpointGrid(2, bins).lin[7];
    const good = toy2();
    const game = toy2({
      minorReward(x, u, x0, u0, mu) {
        return mu[0] === target && x === 0 && u === 1 ? NaN : good.minorReward(x, u, x0, u0, mu);
      },
    });
    expect(() => validateGame(game)).not.toThrow();
    expectGameError(() => new Problem(game, bins), 'toy2', 'minorReward', '(x=0, u=1, x0=0, u0=0, mu=[0.750000, 0.250000])', 'NaN');
  });
});

// ---------------------------------------------------------------------------------------------------------
// 4. Parameter resolution errors.

describe('resolveParams names the game and the parameter', () => {
  it('unknown parameter, listing the known ones (also through buildGame)', () => {
    const err = expectGameError(() => resolveParams(sis, { betta: 1 }), 'sis', "unknown parameter 'betta'", 'known:');
    for (const p of Object.keys(sis.params)) expect(err.message).toContain(p);
    const err2 = expectGameError(() => buildGame(buffet, { l: 3 }), 'buffet', "unknown parameter 'l'");
    for (const p of Object.keys(buffet.params)) expect(err2.message).toContain(p);
  });

  it('non-finite values', () => {
    for (const v of [NaN, Infinity, -Infinity]) {
      expectGameError(() => resolveParams(sis, { beta: v }), 'sis', "parameter 'beta' must be a finite number", `got ${v}`);
    }
    expectGameError(
      () => resolveParams(cyber, { jump: '0.5' as unknown as number }),
      'cyber',
      "parameter 'jump' must be a finite number",
    );
  });

  it('non-integer values for integer parameters', () => {
    expectGameError(() => resolveParams(sis, { T: 10.5 }), 'sis', "parameter 'T' must be an integer, got 10.5");
    expectGameError(() => buildGame(buffet, { L: 2.5 }), 'buffet', "parameter 'L' must be an integer, got 2.5");
    expectGameError(() => resolveParams(buffet, { F: 4.01 }), 'buffet', "parameter 'F' must be an integer");
  });

  it('below min and above max', () => {
    expectGameError(() => resolveParams(sis, { beta: -0.1 }), 'sis', "parameter 'beta' must be >= 0, got -0.1");
    expectGameError(() => resolveParams(sis, { p_inf0: 1.5 }), 'sis', "parameter 'p_inf0' must be <= 1, got 1.5");
    expectGameError(() => resolveParams(buffet, { L: 1 }), 'buffet', "parameter 'L' must be >= 2, got 1");
    expectGameError(() => resolveParams(buffet, { F: 21 }), 'buffet', "parameter 'F' must be <= 20, got 21");
    expectGameError(() => resolveParams(cyber, { gamma: 1.01 }), 'cyber', "parameter 'gamma' must be <= 1");
    expectGameError(() => buildGame(advertisement, { jump0: -0.5 }), 'advertisement', "parameter 'jump0' must be >= 0");
  });

  for (const [name, family] of Object.entries(builtinGames as Record<string, GameFamily>)) {
    it(`${name}: every declared bound and integrality is enforced, and the bounds themselves are accepted`, () => {
      for (const [p, spec] of Object.entries(family.params)) {
        const step = spec.integer ? 1 : 1e-3;
        if (spec.integer) {
          expectGameError(() => resolveParams(family, { [p]: spec.default + 0.5 }), name, `parameter '${p}' must be an integer`);
        }
        if (spec.min !== undefined) {
          expectGameError(() => resolveParams(family, { [p]: spec.min! - step }), name, `parameter '${p}' must be >= ${spec.min}`);
          expect(resolveParams(family, { [p]: spec.min })[p]).toBe(spec.min);
        }
        if (spec.max !== undefined) {
          expectGameError(() => resolveParams(family, { [p]: spec.max! + step }), name, `parameter '${p}' must be <= ${spec.max}`);
          expect(resolveParams(family, { [p]: spec.max })[p]).toBe(spec.max);
        }
      }
    });
  }
});
