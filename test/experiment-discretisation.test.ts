// `m3fg experiment discretisation --quick`: the jobs, the table, the figures, reuse; the table's predictions are
// the saved policies' values in each run's own scheme and its agreement column follows the issue's rule.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { policyStartValues } from '../shared/policy-value.ts';
import { buildGame } from '../shared/validate.ts';
import { createLogger } from '../coordinator/logger.ts';
import { readPolicies, resultPaths } from '../coordinator/results.ts';
import { hashReady } from '../coordinator/policy-file.ts';
import { configHash, solveConfig, solveDir, solveJobSpec } from '../coordinator/jobs/spec.ts';
import {
  agrees,
  discretisationSettings,
  planDiscretisation,
  runDiscretisationExperiment,
  type DiscretisationSummary,
} from '../coordinator/experiment-discretisation.ts';
import { runCli } from './helpers/cli.ts';

describe('experiment discretisation: keys and the agreement rule', () => {
  it('the projection is part of a solve job\'s key and hash; nearest keeps the hash it had before projections', () => {
    const flags = { game: 'sis', algorithm: 'fp', bins: '10', iterations: '5', grid: 'lattice' };
    const near = solveJobSpec({ ...flags, projection: 'nearest' });
    const interp = solveJobSpec({ ...flags, projection: 'interpolate' });
    expect(near.hash).not.toBe(interp.hash);
    expect(interp.key).toMatch(/^sis-fp-m10-k5-interpolate-/);
    expect(near.hash).toBe(solveJobSpec(flags).hash);
    // a run.json without the field (written before projections existed) hashes like nearest
    const recorded = { game: 'sis', params: { ...buildGame(builtinGames.sis).params }, bins: 10, grid: 'lattice', algorithm: 'fp', iterations: 5, horizon: 'finite', discount: 0.99, tolerance: 1e-5, softmax: false, temperature: 1, inner: 1 };
    expect(configHash(solveConfig({ ...recorded, projection: 'nearest' }))).toBe(configHash(solveConfig(recorded)));
  });

  it('agrees: inside the 95% interval or within 1% of the mean', () => {
    expect(agrees(-100.5, { players: 1000, mean: -100, halfWidth95: 0.6 })).toBe(true);
    expect(agrees(-100.9, { players: 1000, mean: -100, halfWidth95: 0.1 })).toBe(true);
    expect(agrees(-101.1, { players: 1000, mean: -100, halfWidth95: 0.6 })).toBe(false);
    expect(agrees(0.5, { players: 1000, mean: 0, halfWidth95: 0.4 })).toBe(false);
  });

  it('plans both schemes on the lattice for every game and M, with an N-player job each', () => {
    const runs = planDiscretisation(discretisationSettings(false));
    expect(runs).toHaveLength(3 * 4 * 2);
    expect(new Set(runs.map((r) => r.solve.key)).size).toBe(runs.length);
    for (const r of runs) {
      expect(r.solve.flags).toMatchObject({ grid: 'lattice', projection: r.scheme, algorithm: 'fp' });
      expect(r.nplayer.players).toEqual([50, 200, 1000, 5000]);
      expect(r.nplayer.from.key).toBe(r.solve.key);
    }
  });
});

describe('m3fg experiment discretisation --quick (M = 4, 8)', () => {
  const out = mkdtempSync(join(tmpdir(), 'm3fg-discretisation-'));
  let first: DiscretisationSummary;
  beforeAll(async () => {
    await hashReady;
    first = await runDiscretisationExperiment({ out, quick: true, threads: 1, logger: createLogger('silent'), print: () => {} });
  }, 300_000);

  it('writes the table (one row per game, player, M and scheme), the CSV and one chart per game', () => {
    expect(first.ran).toBe(3 * 2 * 2 * 2);
    expect(first.rows).toHaveLength(3 * 2 * 2 * 2);
    const md = readFileSync(join(out, 'table.md'), 'utf8').trimEnd().split('\n');
    expect(md).toHaveLength(2 + first.rows.length);
    expect(md[0]).toMatch(/\| game \| player \| M \| scheme \| MF prediction \| N = 50 \| N = 200 \|/);
    expect(readFileSync(join(out, 'table.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(1 + first.rows.length * 2);
    for (const g of ['sis', 'advertisement', 'buffet']) {
      expect(existsSync(join(out, 'figures', `discretisation-${g}.png`))).toBe(true);
      expect(readFileSync(join(out, 'figures', `discretisation-${g}.svg`), 'utf8')).toContain('mean-field prediction');
    }
  });

  it('each prediction is the saved policies\' value in the run\'s own scheme; the agreement column follows the rule', () => {
    const runs = planDiscretisation(first.settings);
    let differ = 0;
    for (const run of runs) {
      const { tables } = readPolicies(resultPaths(solveDir(out, run.solve.key)).policies);
      const game = buildGame(builtinGames[run.game]);
      const v = policyStartValues(new Problem(game, run.bins, 'lattice', run.scheme), tables.minorPolicy, tables.majorPolicy);
      const major = first.rows.find((r) => r.game === run.game && r.bins === run.bins && r.scheme === run.scheme && r.player === 'major')!;
      const minor = first.rows.find((r) => r.game === run.game && r.bins === run.bins && r.scheme === run.scheme && r.player === 'minor')!;
      expect(major.prediction).toBe(v.majorPolicy);
      expect(minor.prediction).toBe(v.minorPolicy);
      for (const r of [major, minor]) {
        const last = r.estimates[r.estimates.length - 1];
        expect(r.agrees).toBe(Math.abs(r.prediction - last.mean) <= Math.max(last.halfWidth95, 0.01 * Math.abs(last.mean)));
        expect(r.gap).toBe(last.mean - r.prediction);
      }
      if (run.scheme === 'interpolate') {
        const other = first.rows.find((r) => r.game === run.game && r.bins === run.bins && r.scheme === 'nearest' && r.player === 'major')!;
        if (other.prediction !== major.prediction) differ++;
      }
    }
    // the two schemes are different computations (their policies and predictions differ)
    expect(differ).toBeGreaterThan(0);
  });

  it('a second run reuses every job and writes the same table', async () => {
    const table = readFileSync(join(out, 'table.md'), 'utf8');
    const again = await runDiscretisationExperiment({ out, quick: true, threads: 1, logger: createLogger('silent'), print: () => {} });
    expect(again.ran).toBe(0);
    expect(again.reused).toBe(first.ran);
    expect(readFileSync(join(out, 'table.md'), 'utf8')).toBe(table);
  }, 120_000);

  it('the CLI rejects a bad flag with one m3fg line and exit 2', () => {
    for (const args of [['--games', 'cyber'], ['--bins', '0'], ['--iterations', 'x']]) {
      const res = runCli(['experiment', 'discretisation', '--quick', '--out', join(out, 'never'), ...args]);
      expect(res.code).toBe(2);
      expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(res.stderr).toMatch(/^m3fg: /);
      expect(existsSync(join(out, 'never'))).toBe(false);
    }
  }, 60_000);
});
