// The game model: a finite major-minor mean field game (../shared/spec/games.md, "The games, exactly").
//
//   minor states X = {0..nX-1}, actions U = {0..nU-1}; major states X0 = {0..nX0-1}, actions U0 = {0..nU0-1};
//   horizon T; minor kernel P(x' | x, u, x0, u0, mu); major kernel P0(x0' | x0, u0, mu);
//   rewards r(x, u, x0, u0, mu) and r0(x0, u0, mu); initial distributions mu0 over X and nu0 over X0.
//
// Kernels write one probability row into a caller-provided array, so a table builder can fill a flat
// Float64Array without allocating. `mu` is a length-nX view (a point of the simplex).

import { GameDefinitionError } from './errors.ts';

/** One named numeric parameter of a game, with its default and the domain it must lie in. */
export interface ParamSpec {
  readonly default: number;
  readonly description: string;
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
}

export type Params = Readonly<Record<string, number>>;

/** A fully instantiated game: sizes, initial distributions, kernels and rewards. */
export interface GameDefinition {
  readonly name: string;
  readonly nX: number;
  readonly nU: number;
  readonly nX0: number;
  readonly nU0: number;
  readonly T: number;
  readonly mu0: Float64Array;
  readonly nu0: Float64Array;
  readonly params: Params;
  /** Writes P(x' | x, u, x0, u0, mu) for x' = 0..nX-1 into out[offset..offset+nX). */
  minorKernel(x: number, u: number, x0: number, u0: number, mu: Float64Array, out: Float64Array, offset: number): void;
  /** Writes P0(x0' | x0, u0, mu) for x0' = 0..nX0-1 into out[offset..offset+nX0). */
  majorKernel(x0: number, u0: number, mu: Float64Array, out: Float64Array, offset: number): void;
  minorReward(x: number, u: number, x0: number, u0: number, mu: Float64Array): number;
  majorReward(x0: number, u0: number, mu: Float64Array): number;
}

/**
 * Optional names of states and actions, used by reports (panel headers, legends, captions). Each list is
 * indexed by the state or action number; a missing list or entry is shown as the number.
 */
export interface GameLabels {
  /** Minor states X, e.g. ['S', 'I']. */
  readonly states?: readonly string[];
  /** Minor actions U. */
  readonly actions?: readonly string[];
  /** Major states X0. */
  readonly majorStates?: readonly string[];
  /** Major actions U0. */
  readonly majorActions?: readonly string[];
}

/** A game family: named parameters with defaults, and a constructor from resolved parameters. */
export interface GameFamily {
  readonly name: string;
  readonly description: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** Names of states and actions for reports (optional). */
  readonly labels?: GameLabels;
  create(params: Params): GameDefinition;
}

/** Tolerance for "sums to 1" on kernel rows and initial distributions. */
export const MASS_TOLERANCE = 1e-12;

/** Resolves user overrides against a family's declared parameters; every failure names the parameter. */
export function resolveParams(family: GameFamily, overrides: Readonly<Record<string, number>> = {}): Params {
  const out: Record<string, number> = {};
  for (const name of Object.keys(overrides)) {
    if (!Object.hasOwn(family.params, name)) {
      const known = Object.keys(family.params).join(', ');
      throw new GameDefinitionError(family.name, `unknown parameter '${name}' (known: ${known})`);
    }
  }
  for (const [name, spec] of Object.entries(family.params)) {
    const value = Object.hasOwn(overrides, name) ? overrides[name] : spec.default;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new GameDefinitionError(family.name, `parameter '${name}' must be a finite number, got ${String(value)}`);
    }
    if (spec.integer && !Number.isInteger(value)) {
      throw new GameDefinitionError(family.name, `parameter '${name}' must be an integer, got ${value}`);
    }
    if (spec.min !== undefined && value < spec.min) {
      throw new GameDefinitionError(family.name, `parameter '${name}' must be >= ${spec.min}, got ${value}`);
    }
    if (spec.max !== undefined && value > spec.max) {
      throw new GameDefinitionError(family.name, `parameter '${name}' must be <= ${spec.max}, got ${value}`);
    }
    out[name] = value;
  }
  return Object.freeze(out);
}

/** Human-readable "(x=.., u=.., x0=.., u0=.., mu=[..])" for error messages. */
export function describeState(fields: Record<string, number>, mu?: ArrayLike<number>): string {
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${v}`);
  if (mu) parts.push(`mu=[${Array.from(mu, (v) => formatNumber(v)).join(', ')}]`);
  return `(${parts.join(', ')})`;
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

/**
 * Checks that `row[offset..offset+n)` is a probability distribution within MASS_TOLERANCE.
 * Returns null when it is, or a short reason.
 */
export function distributionProblem(row: ArrayLike<number>, offset: number, n: number): string | null {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = row[offset + i];
    if (!Number.isFinite(p)) return `entry ${i} is ${p}`;
    if (p < 0) return `entry ${i} is negative (${p})`;
    sum += p;
  }
  if (Math.abs(sum - 1) > MASS_TOLERANCE) return `sums to ${sum}, not 1`;
  return null;
}
