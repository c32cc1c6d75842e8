// A job: one whole run of a study (`m3fg sweep`, `m3fg experiment paper`), described by plain data so that
// it can run on this machine's threads or travel to a cluster node as a message.
//
//   solve    an ordinary results directory ROOT/runs/<key>/ (curve.json, policies.bin, run.json, *.npy);
//   nplayer  the N-player check of a solved run, ROOT/nplayer/<key>.json.
//
// A key is a readable prefix plus `hash`, a hash of the full configuration (game, all parameters, bins, grid,
// algorithm, iterations, variant settings, which iterate is kept); a finished job whose recorded configuration hashes to the same
// value is reused, never recomputed.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isGamePath } from '../../shared/game-source.ts';
import type { GameFamily } from '../../shared/model.ts';
import { makeGrid } from '../../shared/problem.ts';
import { buildGame } from '../../shared/validate.ts';
import { parseSolveFlags, type RawSolveFlags, type SolveSettings } from '../options.ts';

export interface SolveJobSpec {
  kind: 'solve';
  key: string;
  hash: string;
  /** The solve flags, without --out and --threads. */
  flags: RawSolveFlags;
  /** Estimated work (arbitrary units, comparable between jobs): orders the queue, splits small from big. */
  cost: number;
  /** 'one': inline on one thread, several at once; 'all': alone, on every thread of the machine. */
  threads: 'one' | 'all';
  /** Write DIR/checkpoint.bin at the end: a longer run of the same configuration continues from it (chainPrefixes). */
  keepCheckpoint?: boolean;
  /**
   * The same configuration with fewer iterations, whose run is this run's first `iterations` iterations: this
   * run starts once it has finished and continues from its checkpoint (or from scratch without one).
   */
  prefix?: { key: string; hash: string; iterations: number };
}

export interface NplayerJobSpec {
  kind: 'nplayer';
  key: string;
  hash: string;
  /** The solve job whose policies are simulated (it must have finished first). */
  from: { key: string; hash: string };
  players: number[];
  episodes: number;
  seed: number;
  cost: number;
  threads: 'one' | 'all';
}

export type JobSpec = SolveJobSpec | NplayerJobSpec;

/** What a finished job reports. */
export interface JobOutcome {
  /** A solve's iterations (run.json's seconds); an N-player check's whole run. */
  seconds: number;
  /** The whole job on its thread (settings, model, iterations, writing the results), when it ran here. */
  jobSeconds?: number;
  /** Final exploitability and objectives (policy values at the initial state) of a solve. */
  final?: FinalNumbers;
  /** The cluster node whose results bucket it came from (`--nats` studies). */
  node?: string;
}

export interface FinalNumbers {
  exploitability: number;
  major: number;
  minor: number;
  majorObjective?: number;
  minorObjective?: number;
}

// ----------------------------------------------------------------------------------------------- keys

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function configHash(config: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(config))).digest('hex').slice(0, 12);
}

/** Everything that decides a solve run's numbers, in the form run.json records it. */
export function solveConfig(s: {
  game?: unknown; params?: unknown; bins?: unknown; grid?: unknown; projection?: unknown; algorithm?: unknown; iterations?: unknown; horizon?: unknown;
  discount?: unknown; tolerance?: unknown; softmax?: unknown; temperature?: unknown; inner?: unknown; init?: unknown;
  step?: unknown; schedule?: unknown; auto?: unknown; keep?: unknown;
}) {
  return {
    game: s.game, params: s.params, bins: s.bins, grid: s.grid, algorithm: s.algorithm, iterations: s.iterations, horizon: s.horizon,
    discount: s.discount, tolerance: s.tolerance, softmax: s.softmax, temperature: s.temperature, inner: s.inner, init: s.init,
    // only when not the default: the configurations (and hashes) of nearest runs stay what they were
    ...(s.projection !== undefined && s.projection !== 'nearest' ? { projection: s.projection } : {}),
    // run.json records a step for every algorithm; only damped uses it
    ...(s.algorithm === 'damped' ? { step: s.step } : {}),
    ...(s.schedule !== undefined && s.schedule !== 'constant' ? { schedule: s.schedule } : {}),
    ...(s.auto === true ? { auto: true } : {}),
    // the written result: the best iterate (the default) or the last; a run recorded without `keep` kept the last
    ...(s.keep !== 'best' ? { keep: 'last' } : {}),
  };
}

/**
 * The job of one solve configuration. Throws OptionError / GameDefinitionError for a bad flag or parameter
 * (before anything runs). `family` is the game's family when --game is a module path (loadSolveSettings).
 */
export function solveJobSpec(flags: RawSolveFlags, family?: GameFamily): SolveJobSpec {
  const { out: _out, threads: _threads, ...rest } = flags;
  const s = parseSolveFlags({ ...rest, threads: '1' }, family);
  const game = buildGame(s.family, s.params); // validates every parameter against the game
  const hash = configHash(solveConfig({ ...s, params: { ...game.params } }));
  const label = isGamePath(s.game) ? s.family.name : s.game;
  const overrides = Object.keys(s.params).sort().map((k) => `-${k}${s.params[k]}`).join('');
  const key = `${label}-${methodLabel(s)}-m${s.bins}-k${s.iterations}${s.init ? `-init-${s.init}` : ''}${s.projection === 'interpolate' ? '-interpolate' : ''}${overrides}-${hash}`.replace(/[^A-Za-z0-9._+-]/g, '_');
  // a sweep of the flow and the backward pass per iteration: rows x transitions, each O(nX nU)
  const cells = makeGrid(s.grid, game.nX, s.bins).cells;
  const cost = s.iterations * game.T * game.nX0 * cells * game.nU0 * game.nX * game.nX * game.nU;
  return { kind: 'solve', key, hash, flags: { ...rest, game: s.game }, cost, threads: 'one' };
}

/** The method in a key: the algorithm and its non-default settings (auto: `auto-` and what it chose). */
function methodLabel(s: SolveSettings): string {
  const parts: string[] = [s.auto ? `auto-${s.algorithm}` : s.algorithm];
  if (s.algorithm === 'damped') parts.push(`step${s.step}`);
  if (s.schedule !== 'constant') parts.push(s.schedule);
  return parts.join('-');
}

export function nplayerJobSpec(from: SolveJobSpec, players: number[], episodes: number, seed = 1): NplayerJobSpec {
  const hash = configHash({ from: from.hash, players, episodes, sampler: 'counts', seed });
  const s = parseSolveFlags({ ...from.flags, threads: '1' });
  const game = buildGame(s.family, s.params);
  const key = `${s.game}-m${s.bins}-n${players[players.length - 1]}-e${episodes}-${hash}`;
  // the counts sampler (executeJob's): a step draws the action counts per state and the next-state counts
  // per (state, action), whatever N is: episodes x T steps per N
  const cost = NPLAYER_COST_PER_STEP * episodes * players.length * game.T * ((game.nX * game.nU * game.nX) / 8);
  return { kind: 'nplayer', key, hash, from: { key: from.key, hash: from.hash }, players, episodes, seed, cost, threads: 'one' };
}

/**
 * A counts-sampler step (nX = nU = 2) costs about this many solve cost units: measured on the paper's runs
 * (~25 ns a unit inline), 1.0-1.5 us a step for SIS, Buffet and Advertisement.
 */
const NPLAYER_COST_PER_STEP = 50;

/** Flags that leave a run's first iterations as they are: runs differing only in these are one configuration. */
const LENGTH_FLAGS = ['iterations', 'checkpointEvery', 'target', 'timeLimit'] as const;

/**
 * Work done twice: a study that solves one configuration for K and for k < K iterations (the paper's Buffet
 * M = 120 at 200 and 1000) computes the k-iteration run twice, since the solver's iteration n depends on n
 * alone. Chains each such pair: the shorter run keeps its checkpoint, the longer one continues from it (the
 * nearest shorter run; its estimated cost falls to the iterations left). The results are byte-identical to
 * solving each alone (a resumed run is, `m3fg solve --resume`). Runs with a stopping rule (--target,
 * --time-limit) are left alone. Only for jobs that share a folder (this machine), not a cluster's nodes.
 */
export function chainPrefixes(jobs: JobSpec[]): void {
  const rest = (flags: RawSolveFlags) => configHash(Object.fromEntries(Object.entries(flags).filter(([k]) => !(LENGTH_FLAGS as readonly string[]).includes(k))));
  const chains = new Map<string, SolveJobSpec[]>();
  for (const j of jobs) {
    if (j.kind !== 'solve' || j.flags.iterations === undefined || j.flags.target !== undefined || j.flags.timeLimit !== undefined) continue;
    const group = rest(j.flags);
    chains.set(group, [...(chains.get(group) ?? []), j]);
  }
  for (const chain of chains.values()) {
    const its = (j: SolveJobSpec) => Number(j.flags.iterations);
    chain.sort((a, b) => its(a) - its(b));
    for (let i = 1; i < chain.length; i++) {
      const [short, long] = [chain[i - 1], chain[i]];
      if (its(short) >= its(long)) continue;
      short.keepCheckpoint = true;
      long.prefix = { key: short.key, hash: short.hash, iterations: its(short) };
      long.cost = (long.cost * (its(long) - its(short))) / its(long);
    }
  }
}

/**
 * Marks the jobs that run alone on every thread: those whose estimated cost exceeds one thread's share of
 * the whole study (total / threads), which would otherwise finish last, on one thread, long after the rest.
 * Every other job runs inline, one per thread: a thread per run is worth more than sharding a run whose
 * steps mostly stay inline anyway (the local executor shards only steps above ~1 ms). With one thread, none.
 */
export function assignThreads(jobs: JobSpec[], threads: number, sequential = false): void {
  const total = jobs.reduce((a, j) => a + j.cost, 0);
  // sequential (--sequential, the baseline the side-by-side schedule is measured against): one job at a time, each on every thread
  for (const j of jobs) j.threads = threads > 1 && (sequential || j.cost > total / threads) ? 'all' : 'one';
}

// ----------------------------------------------------------------------------------------------- paths

export function solveDir(root: string, key: string): string {
  return join(root, 'runs', key);
}

export function nplayerFile(root: string, key: string): string {
  return join(root, 'nplayer', `${key}.json`);
}

/** A solve job's settings for running into ROOT/runs/<key> with `threads` threads. */
export function solveSettingsOf(root: string, job: SolveJobSpec, threads: number): RawSolveFlags {
  return { ...job.flags, out: solveDir(root, job.key), threads: String(threads) };
}
