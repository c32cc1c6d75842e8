// The finite game of the paper's system (1), simulated with the solved (projected) policies:
//   N minor players and the major player; x^i_0 ~ mu0 (i.i.d.), x0_0 ~ nu0; for t = 0..T-1, with the empirical
//   mean field mu^N_t = (1/N) sum_i 1[x^i_t = .] and its policy cell c_t (shared/policy-cell.ts),
//     u0_t  ~ pi0[t][x0_t][c_t],                u^i_t ~ pi[t][x^i_t][x0_t][c_t]        (everyone acts on c_t)
//     x0_{t+1} ~ P0(. | x0_t, u0_t, mu^N_t),     x^i_{t+1} ~ P(. | x^i_t, u^i_t, x0_t, u0_t, mu^N_t)
//     major return  J0 = sum_t r0(x0_t, u0_t, mu^N_t),
//     minor return  J  = (1/N) sum_i sum_t r(x^i_t, u^i_t, x0_t, u0_t, mu^N_t)   (average over the minors)
//   (kernels and rewards at the empirical mean field itself, not at its cell; no transition after T-1).
// The policy cell: nearest, c_t = proj(mu^N_t) (the paper's scheme); interpolate, one vertex of the lattice
// simplex around mu^N_t drawn with its barycentric weight by ONE uniform per step, shared by the major player
// and every minor player (the scheme's chain, docs/discretisation.md). That uniform is the step's first draw;
// nearest runs draw none, so their streams are those of the runs before interpolation existed.
// Policy tables as in shared/tables.ts, rows = nX0 * cells:
//   minorPolicy[((t * rows + x0 * cells + c) * nX + x) * nU + u],  majorPolicy[(t * rows + x0 * cells + c) * nU0 + u0].
//
// Two samplers with the same distribution of (J0, J):
//   'players' draws each player's action and next state, O(N) per step;
//   'counts' draws, for each state x, the action counts ~ Multinomial(n_x, pi(. | x)), then for each (x, u) group
//   the next-state counts ~ Multinomial(n_xu, P(. | x, u, ...)), and J's step term is sum_xu n_xu r(x, u) / N:
//   exact because the minors are exchangeable (only the counts enter mu^N, the policies and the rewards), and
//   O(nX nU nX) per step whatever N is.
// Episode k draws from the stream of (seed, k) only (shared/sampling.ts), so results do not depend on how
// episodes are split across threads. No I/O, no allocation inside an episode.

import type { GameDefinition } from './model.ts';
import type { GridKind, MeanFieldGrid } from './grid.ts';
import { policyCell, type PolicyCell, type Projection } from './policy-cell.ts';
import { checkStreamIndex, EpisodeRandom } from './sampling.ts';

export type Sampler = 'counts' | 'players';
export const SAMPLERS: readonly Sampler[] = ['counts', 'players'];

/** Most minor players an episode can have (the 'players' sampler keeps one Int32 state per player). */
export const MAX_PLAYERS = 2 ** 31 - 1;

export interface EpisodePolicies {
  readonly minorPolicy: Float64Array;
  readonly majorPolicy: Float64Array;
}

/** What an episode task names: the game (rebuilt from its family and parameters) and the grid. */
export interface GameSpec {
  readonly game: string;
  readonly params: Readonly<Record<string, number>>;
  readonly bins: number;
  /** Default 'midpoint'. */
  readonly grid?: GridKind;
  /** The cell the players act on at an off-grid mean field; default 'nearest' ('interpolate' needs the lattice grid). */
  readonly projection?: Projection;
}

/**
 * One range of episodes for a worker thread: it rebuilds the game and grid from `spec`, simulates episodes
 * [from, to) and writes episode k's returns to major[k] and minor[k] (arrays on SharedArrayBuffers).
 * `job` identifies the (spec, policies, players, sampler) combination so a thread can reuse its simulator.
 */
export interface EpisodeTask {
  readonly job: string;
  readonly spec: GameSpec;
  readonly minorPolicy: Float64Array;
  readonly majorPolicy: Float64Array;
  readonly players: number;
  readonly sampler: Sampler;
  readonly seed: number;
  readonly from: number;
  readonly to: number;
  readonly major: Float64Array;
  readonly minor: Float64Array;
}

/** What an episode task returns (worker/episode-worker.ts): its range of episodes and the simulator's time. */
export interface EpisodeTaskResult {
  readonly from: number;
  readonly to: number;
  /** Time spent in the simulator, ms. */
  readonly ms: number;
}

export class EpisodeSimulator {
  readonly game: GameDefinition;
  readonly grid: MeanFieldGrid;
  readonly players: number;
  readonly sampler: Sampler;
  private readonly minorPolicy: Float64Array;
  private readonly majorPolicy: Float64Array;
  private readonly rows: number;
  private readonly mu: Float64Array;
  private counts: Float64Array;
  private nextCounts: Float64Array;
  /** Action counts n_xu of the step ('counts'). */
  private readonly groups: Float64Array;
  /** r(x, u, x0, u0, mu^N) of the step ('players'). */
  private readonly rewards: Float64Array;
  /** Minor kernel rows of the step, (x * nU + u) * nX + x'. */
  private readonly kernel: Float64Array;
  private readonly draw: Float64Array;
  private readonly majorRow: Float64Array;
  private readonly states: Int32Array;
  private random?: EpisodeRandom;
  /** Returns of the episode just simulated. */
  private majorReturn = 0;
  private minorReturn = 0;

  private readonly cell: PolicyCell;
  private readonly shared: boolean;

  constructor(
    game: GameDefinition,
    grid: MeanFieldGrid,
    policies: EpisodePolicies,
    players: number,
    sampler: Sampler,
    projection: Projection = 'nearest',
  ) {
    const { nX, nU, nX0, nU0, T } = game;
    if (grid.nX !== nX) throw new RangeError(`episodes: the grid is for nX = ${grid.nX}, the game has nX = ${nX}`);
    if (!Number.isSafeInteger(players) || players < 1 || players > MAX_PLAYERS) {
      throw new RangeError(`episodes: players must be an integer in 1..${MAX_PLAYERS}, got ${players}`);
    }
    if (!SAMPLERS.includes(sampler)) throw new RangeError(`episodes: unknown sampler '${String(sampler)}'`);
    const rows = nX0 * grid.cells;
    const minorLength = T * rows * nX * nU;
    const majorLength = T * rows * nU0;
    if (policies.minorPolicy.length !== minorLength) {
      throw new RangeError(`episodes: minorPolicy has ${policies.minorPolicy.length} entries, expected T * rows * nX * nU = ${minorLength}`);
    }
    if (policies.majorPolicy.length !== majorLength) {
      throw new RangeError(`episodes: majorPolicy has ${policies.majorPolicy.length} entries, expected T * rows * nU0 = ${majorLength}`);
    }
    this.game = game;
    this.grid = grid;
    this.players = players;
    this.sampler = sampler;
    this.minorPolicy = policies.minorPolicy;
    this.majorPolicy = policies.majorPolicy;
    this.rows = rows;
    this.mu = new Float64Array(nX);
    this.counts = new Float64Array(nX);
    this.nextCounts = new Float64Array(nX);
    this.groups = new Float64Array(nX * nU);
    this.rewards = new Float64Array(nX * nU);
    this.kernel = new Float64Array(nX * nU * nX);
    this.draw = new Float64Array(nX);
    this.majorRow = new Float64Array(nX0);
    this.states = new Int32Array(sampler === 'players' ? players : 0);
    if (projection !== 'nearest' && projection !== 'interpolate') throw new RangeError(`episodes: unknown projection '${String(projection)}'`);
    this.cell = policyCell(grid, projection); // throws for interpolate on a grid other than the lattice
    this.shared = projection === 'interpolate';
  }

  /** Simulates episodes [from, to) of `seed`; episode k's returns go to major[k - from + at], minor[same]. */
  runRange(seed: number, from: number, to: number, major: Float64Array, minor: Float64Array, at = 0): void {
    checkStreamIndex('episode index', from);
    if (!(Number.isSafeInteger(to) && to >= from)) throw new RangeError(`episodes: bad range [${from}, ${to})`);
    if (at < 0 || at + (to - from) > major.length || at + (to - from) > minor.length) {
      throw new RangeError(`episodes: output arrays too short for ${to - from} episodes at ${at}`);
    }
    if (!this.random || this.random.seed !== seed) this.random = new EpisodeRandom(seed);
    const rng = this.random;
    for (let k = from; k < to; k++) {
      rng.startEpisode(k);
      if (this.sampler === 'counts') this.episodeByCounts(rng);
      else this.episodeByPlayers(rng);
      major[at + k - from] = this.majorReturn;
      minor[at + k - from] = this.minorReturn;
    }
  }

  /** Returns of episode k of `seed`. */
  run(seed: number, k: number): { major: number; minor: number } {
    const major = new Float64Array(1);
    const minor = new Float64Array(1);
    this.runRange(seed, k, k + 1, major, minor);
    return { major: major[0], minor: minor[0] };
  }

  /** mu^N = counts / N, its policy cell (one shared uniform for interpolate), and the row x0 * cells + c of time t. */
  private policyRow(t: number, x0: number, rng: EpisodeRandom): number {
    const { nX } = this.game;
    const N = this.players;
    for (let x = 0; x < nX; x++) this.mu[x] = this.counts[x] / N;
    const c = this.cell.cellAt(this.mu, 0, this.shared ? rng.uniform() : 0);
    return t * this.rows + x0 * this.grid.cells + c;
  }

  private episodeByCounts(rng: EpisodeRandom): void {
    const game = this.game;
    const { nX, nU, nX0, nU0, T } = game;
    const N = this.players;
    const { mu, groups, kernel, draw, majorRow, minorPolicy, majorPolicy } = this;
    rng.multinomial(N, game.mu0, 0, nX, this.counts, 0);
    let x0 = rng.categorical(game.nu0, 0, nX0);
    let majorReturn = 0;
    let minorReturn = 0;
    for (let t = 0; t < T; t++) {
      const row = this.policyRow(t, x0, rng);
      const counts = this.counts;
      const u0 = rng.categorical(majorPolicy, row * nU0, nU0);
      majorReturn += game.majorReward(x0, u0, mu);
      let step = 0;
      for (let x = 0; x < nX; x++) {
        const nx = counts[x];
        if (nx === 0) {
          for (let u = 0; u < nU; u++) groups[x * nU + u] = 0;
          continue;
        }
        rng.multinomial(nx, minorPolicy, (row * nX + x) * nU, nU, groups, x * nU);
        for (let u = 0; u < nU; u++) {
          const n = groups[x * nU + u];
          if (n > 0) step += n * game.minorReward(x, u, x0, u0, mu);
        }
      }
      minorReturn += step / N;
      if (t === T - 1) break;

      game.majorKernel(x0, u0, mu, majorRow, 0);
      const x0Next = rng.categorical(majorRow, 0, nX0);
      const next = this.nextCounts;
      next.fill(0);
      for (let x = 0; x < nX; x++) {
        if (counts[x] === 0) continue;
        // groups of one state whose kernel rows are equal move as one group (a sum of independent
        // multinomials with the same row is the multinomial of the summed count): fewer draws, same law
        for (let u = 0; u < nU; u++) {
          const xu = x * nU + u;
          if (groups[xu] === 0) continue;
          game.minorKernel(x, u, x0, u0, mu, kernel, xu * nX);
          for (let v = 0; v < u; v++) {
            const xv = x * nU + v;
            if (groups[xv] > 0 && sameRow(kernel, xv * nX, xu * nX, nX)) {
              groups[xv] += groups[xu];
              groups[xu] = 0;
              break;
            }
          }
        }
        for (let u = 0; u < nU; u++) {
          const xu = x * nU + u;
          const n = groups[xu];
          if (n === 0) continue;
          rng.multinomial(n, kernel, xu * nX, nX, draw, 0);
          for (let y = 0; y < nX; y++) next[y] += draw[y];
        }
      }
      this.nextCounts = counts;
      this.counts = next;
      x0 = x0Next;
    }
    this.majorReturn = majorReturn;
    this.minorReturn = minorReturn;
  }

  private episodeByPlayers(rng: EpisodeRandom): void {
    const game = this.game;
    const { nX, nU, nX0, nU0, T } = game;
    const N = this.players;
    const { mu, rewards, kernel, majorRow, minorPolicy, majorPolicy, states } = this;
    const counts0 = this.counts;
    counts0.fill(0);
    for (let i = 0; i < N; i++) {
      const x = rng.categorical(game.mu0, 0, nX);
      states[i] = x;
      counts0[x]++;
    }
    let x0 = rng.categorical(game.nu0, 0, nX0);
    let majorReturn = 0;
    let minorReturn = 0;
    for (let t = 0; t < T; t++) {
      const row = this.policyRow(t, x0, rng);
      const counts = this.counts;
      const u0 = rng.categorical(majorPolicy, row * nU0, nU0);
      majorReturn += game.majorReward(x0, u0, mu);
      const last = t === T - 1;
      // rewards and kernel rows of the occupied states, at the empirical mean field
      for (let x = 0; x < nX; x++) {
        if (counts[x] === 0) continue;
        for (let u = 0; u < nU; u++) {
          rewards[x * nU + u] = game.minorReward(x, u, x0, u0, mu);
          if (!last) game.minorKernel(x, u, x0, u0, mu, kernel, (x * nU + u) * nX);
        }
      }
      const policyBase = row * nX * nU;
      let step = 0;
      if (last) {
        for (let i = 0; i < N; i++) {
          const x = states[i];
          const u = rng.categorical(minorPolicy, policyBase + x * nU, nU);
          step += rewards[x * nU + u];
        }
        minorReturn += step / N;
        break;
      }
      const next = this.nextCounts;
      next.fill(0);
      for (let i = 0; i < N; i++) {
        const x = states[i];
        const u = rng.categorical(minorPolicy, policyBase + x * nU, nU);
        step += rewards[x * nU + u];
        const y = rng.categorical(kernel, (x * nU + u) * nX, nX);
        states[i] = y;
        next[y]++;
      }
      minorReturn += step / N;
      game.majorKernel(x0, u0, mu, majorRow, 0);
      x0 = rng.categorical(majorRow, 0, nX0);
      this.nextCounts = counts;
      this.counts = next;
    }
    this.majorReturn = majorReturn;
    this.minorReturn = minorReturn;
  }
}

/** Mean, sample standard deviation and the 95% normal confidence half-width of values[0..n), in index order. */
export interface Summary {
  n: number;
  mean: number;
  stdev: number;
  /** 1.96 * stdev / sqrt(n): the interval is mean +- halfWidth95. */
  halfWidth95: number;
}

export const Z95 = 1.959963984540054;

export function summarize(values: ArrayLike<number>, n = values.length): Summary {
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    ss += d * d;
  }
  const stdev = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  return { n, mean, stdev, halfWidth95: n > 0 ? (Z95 * stdev) / Math.sqrt(n) : NaN };
}

function sameRow(a: Float64Array, i: number, j: number, n: number): boolean {
  for (let y = 0; y < n; y++) if (a[i + y] !== a[j + y]) return false;
  return true;
}
