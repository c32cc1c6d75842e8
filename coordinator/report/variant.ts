// A run's full configuration in words, from its run.json: the algorithm and every variant setting that
// changes its numbers (response rule and temperature, horizon and discount, initial policy, grid and bins,
// iterations, parameter overrides). Reports show it per run and group charts by it.
import type { RunInfo } from './data.ts';

export interface VariantText {
  algorithm: string;
  /** greedy, or softmax with its temperature (OMD: always softmax). */
  response: string;
  /** finite (T), or infinite with its discount. */
  horizon: string;
  /** The initial policy, "(default)" when the run did not choose one. */
  init: string;
  /** The grid kind and bins M, and the projection when it is interpolate. */
  grid: string;
}

export function defaultInit(i: RunInfo): string {
  return i.softmax && i.algorithm !== 'omd' ? 'uniform' : 'first';
}

export function variantText(i: RunInfo): VariantText {
  const alg = i.algorithm ?? '?';
  const softmax = alg === 'omd' || i.softmax === true;
  const T = i.sizes?.T ?? i.params?.T;
  return {
    algorithm: alg === 'alternating' && typeof i.inner === 'number' ? `alternating, k = ${i.inner}` : alg,
    response: softmax ? `softmax, τ = ${i.temperature ?? 0.1}` : 'greedy',
    horizon: i.horizon === 'infinite' ? `infinite, γ = ${i.discount ?? 0.99}` : `finite${T !== undefined ? `, T = ${T}` : ''}`,
    init: typeof i.init === 'string' ? i.init : `${defaultInit(i)} (default)`,
    grid: `${typeof i.grid === 'string' ? i.grid : 'midpoint'}${i.bins !== undefined ? `, M = ${i.bins}` : ''}${i.projection === 'interpolate' ? ', interpolated' : ''}`,
  };
}

/**
 * A short label naming everything that distinguishes a run: game and algorithm always, then only the settings
 * that differ from the defaults; `bins: false` leaves M out (charts over M), `iterations: false` the count.
 */
export function configLabel(i: RunInfo, opts: { bins?: boolean; iterations?: boolean } = {}): string {
  const parts = [i.game !== undefined ? gameName(i.game) : '?', i.algorithm ?? '?'];
  if (i.algorithm === 'alternating' && typeof i.inner === 'number') parts.push(`k=${i.inner}`);
  if (i.algorithm === 'omd' || i.softmax === true) parts.push(`${i.algorithm === 'omd' ? '' : 'softmax '}τ=${i.temperature ?? 0.1}`);
  if (i.horizon === 'infinite') parts.push(`infinite γ=${i.discount ?? 0.99}`);
  if (typeof i.init === 'string' && i.init !== defaultInit(i)) parts.push(`init ${i.init}`);
  if (typeof i.grid === 'string' && i.grid !== 'midpoint') parts.push(`${i.grid} grid`);
  if (i.projection === 'interpolate') parts.push('interpolated');
  if (opts.bins !== false && i.bins !== undefined) parts.push(`M=${i.bins}`);
  if (opts.iterations !== false && i.iterations !== undefined) parts.push(`${i.iterations} it.`);
  for (const [k, v] of Object.entries(i.overrides ?? {})) parts.push(`${k}=${v}`);
  return parts.join(' ');
}

/** A user module's game is recorded by its path: show the file name. */
function gameName(game: string): string {
  return game.includes('/') ? game.slice(game.lastIndexOf('/') + 1) : game;
}
