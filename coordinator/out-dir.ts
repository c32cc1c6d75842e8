// The results directory of a solve, prepared before anything is computed: a path that cannot be a
// writable directory (a file, a path under a file, /proc, /sys, a read-only place) is refused with one line
// naming it; a directory holding a run of another configuration is refused unless --force, which first
// removes that run's files (and only those). Directories created for a run that then fails are removed
// again when still empty; temporary files left by a killed writer are removed.

import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { OptionError } from '../shared/errors.ts';
import { removeStaleTemporaries, unlinkQuietly, writeFileAtomic } from './atomic.ts';
import { readPolicyHeader } from './policy-file.ts';

/** Every file a solve run writes into its directory (and what later commands add to it). */
export const RUN_FILES = [
  'curve.json', 'policies.bin', 'run.json', 'minorPolicy.npy', 'majorPolicy.npy', 'gridPoints.npy', 'curve.npy',
  'checkpoint.bin', 'checkpoint.curve', 'nplayer.json',
] as const;
const RUN_DIRS = ['report'] as const;

export class OutDirError extends OptionError {
  override name = 'OutDirError';
}

export interface PreparedDir {
  /** With --force: removes the other configuration's run files (call once the new run is known to be valid). */
  replaceOtherRun(): void;
  /** Removes the directories this run created if they are still empty (after a failed run). */
  removeIfEmpty(): void;
}

/**
 * Makes DIR an existing writable directory. `identity` is the run's configuration (run.json's fields that
 * decide its numbers); `force` removes another configuration's run first; `resume` keeps the directory's run.
 */
export function prepareOutDir(dir: string, opts: { identity: Record<string, unknown>; force: boolean; resume: boolean; flag?: string }): PreparedDir {
  const flag = opts.flag ?? '--out';
  const fail = (what: string): never => {
    throw new OutDirError(`${flag} ${dir}: ${what}`);
  };
  const created = makeDirs(resolve(dir), fail);
  try {
    accessSync(dir, constants.W_OK);
    // root passes access() everywhere; only a real write shows a read-only or pseudo file system
    const probe = join(dir, `.m3fg-probe.${process.pid}.tmp`);
    writeFileAtomic(probe, '');
    unlinkQuietly(probe);
  } catch (err) {
    removeEmpty(created);
    fail(`not writable (${describe(err)})`);
  }
  removeStaleTemporaries(dir);
  const other = opts.resume ? undefined : otherRun(dir, opts.identity);
  if (other && !opts.force) {
    removeEmpty(created);
    fail(`holds a run of another configuration (${other}); choose another --out or add --force to replace it`);
  }
  return {
    replaceOtherRun: () => {
      if (!other) return;
      for (const f of RUN_FILES) unlinkQuietly(join(dir, f));
      for (const d of RUN_DIRS) rmSync(join(dir, d), { recursive: true, force: true });
    },
    removeIfEmpty: () => removeEmpty(created),
  };
}

/** Creates the missing components of `path` one by one (no recursive mkdir: it spins on /proc); returns them. */
function makeDirs(path: string, fail: (what: string) => never): string[] {
  const missing: string[] = [];
  let p = path;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') fail(`cannot reach ${p} (${describe(err)})`);
      missing.unshift(p);
      const up = dirname(p);
      if (up === p) fail('no existing folder above it');
      p = up;
      continue;
    }
    if (!st.isDirectory()) fail(p === path ? 'is a file, not a directory' : `${p} is a file, not a directory`);
    break;
  }
  const created: string[] = [];
  for (const m of missing) {
    try {
      mkdirSync(m);
      created.push(m);
    } catch (err) {
      removeEmpty(created);
      fail(`cannot create ${m} (${describe(err)})`);
    }
  }
  return created;
}

function removeEmpty(created: string[]): void {
  for (const d of [...created].reverse()) {
    try {
      if (readdirSync(d).length === 0) rmdirSync(d);
    } catch {
      return;
    }
  }
}

const IDENTITY_KEYS = ['game', 'algorithm', 'bins', 'params', 'grid', 'projection', 'horizon', 'discount', 'tolerance', 'softmax', 'temperature', 'inner', 'init', 'iterations'] as const;
/** Identity keys added later: a run.json without one had this value. */
const IDENTITY_DEFAULTS: Partial<Record<(typeof IDENTITY_KEYS)[number], unknown>> = { projection: 'nearest' };

/** A description of the run in DIR when its configuration differs from `identity`, else undefined. */
function otherRun(dir: string, identity: Record<string, unknown>): string | undefined {
  let saved: Record<string, unknown> | undefined;
  const run = join(dir, 'run.json');
  const checkpoint = join(dir, 'checkpoint.bin');
  try {
    saved = JSON.parse(readFileSync(run, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return 'an unreadable run.json';
    try {
      saved = readPolicyHeader(checkpoint).checkpoint?.run;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || /cannot open \(ENOENT\)/.test((e as Error).message)) {
        // no run.json, no checkpoint: other result files alone still belong to some run
        const leftovers = RUN_FILES.filter((f) => f !== 'nplayer.json' && f !== 'checkpoint.curve' && exists(join(dir, f)));
        return leftovers.length > 0 ? `files of an unfinished run: ${leftovers.join(', ')}` : undefined;
      }
      return 'an unreadable checkpoint.bin';
    }
  }
  if (!saved) return 'a run without its settings';
  const value = (run: Record<string, unknown>, k: (typeof IDENTITY_KEYS)[number]) => JSON.stringify(run[k] ?? IDENTITY_DEFAULTS[k] ?? null);
  const differs = IDENTITY_KEYS.filter((k) => value(saved!, k) !== value(identity, k));
  if (differs.length === 0) return undefined;
  return `${String(saved.game)} ${String(saved.algorithm)} M = ${String(saved.bins)}; differs in ${differs.join(', ')}`;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}
