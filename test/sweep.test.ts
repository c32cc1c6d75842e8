// `m3fg sweep`: 8 SIS configurations at M = 20, each run byte-identical to the same configuration solved alone
// with `m3fg solve`; a second invocation reuses all 8; sweep.json and the combined report; bad input refused
// with one line before anything is written.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SweepSummary } from '../coordinator/sweep-run.ts';
import { parseValues, type Axis } from '../coordinator/sweep.ts';
import { buildCharts } from '../coordinator/report/charts.ts';
import { sweepCharts } from '../coordinator/sweep-report.ts';
import { expectRefused, runCli } from './helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'm3fg-sweep-'));
const out = join(root, 'study');
afterAll(() => rmSync(root, { recursive: true, force: true }));

export const SWEEP_ARGS = ['--game', 'sis', '--bins', '20', '--algorithm', 'fp,omd', '--param', 'beta=0.4:0.7:0.1', '--iterations', '25'];

function runJsonTimes(dir: string): Map<string, number> {
  const runs = join(dir, 'runs');
  return new Map(readdirSync(runs).map((d) => [d, statSync(join(runs, d, 'run.json')).mtimeMs]));
}

describe('sweep grammar', () => {
  it('expands lists and inclusive ranges, both directions, without float noise', () => {
    expect(parseValues('--x', '0.4:0.8:0.2', true)).toEqual(['0.4', '0.6', '0.8']);
    expect(parseValues('--x', '0.7:0.4:-0.1', true)).toEqual(['0.7', '0.6', '0.5', '0.4']);
    expect(parseValues('--x', '1,3:7:2,9', true)).toEqual(['1', '3', '5', '7', '9']);
    expect(parseValues('--x', '5:5:1', true)).toEqual(['5']);
    expect(parseValues('--x', '0:1:0.3', true)).toEqual(['0', '0.3', '0.6', '0.9']);
    expect(parseValues('--x', 'fp,omd,fp', false)).toEqual(['fp', 'omd']);
  });
});

describe('sweep report charts', () => {
  it("are the report's buildCharts with the sweep's charts first, no per-run charts, distinct ids", () => {
    // two parameters whose names slug alike ('a.b', 'a_b'): their PNGs must not overwrite each other
    const axes: Axis[] = [
      { name: 'a.b', flag: 'param', values: ['1', '2'], numeric: true },
      { name: 'a_b', flag: 'param', values: ['3', '4'], numeric: true },
    ];
    const final = { exploitability: 1, major: 0.5, minor: 0.5, majorObjective: -1, minorObjective: -2 };
    const points = [1, 2].flatMap((x) => [3, 4].map((y) => ({ point: { 'a.b': String(x), a_b: String(y) }, final })));
    const own = sweepCharts(axes, points);
    expect(own.map((c) => c.id)).toEqual(['sweep-a_b', 'sweep-a_b']);
    const charts = buildCharts([], { lead: sweepCharts(axes, points), maxCurves: 24, perRun: false });
    expect(charts.map((c) => c.id)).toEqual(['sweep-a_b', 'sweep-a_b-2']);
    expect(charts.map((c) => c.title)).toEqual(own.map((c) => c.title));
  });
});

describe('m3fg sweep', () => {
  let first: SweepSummary;
  let times: Map<string, number>;

  it('runs 8 SIS configurations, each byte-identical to m3fg solve alone', () => {
    const res = runCli(['sweep', ...SWEEP_ARGS, '--out', out]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    first = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    expect(first.configurations).toHaveLength(8);
    expect(first.ran).toBe(8);
    expect(first.reused).toBe(0);
    const betas = new Set(first.configurations.map((c) => c.config.beta));
    expect([...betas].sort()).toEqual(['0.4', '0.5', '0.6', '0.7']);
    for (const c of first.configurations) {
      expect(c.status).toBe('ran');
      expect(c.final?.exploitability).toBeGreaterThan(0);
      expect(Number.isFinite(c.final?.majorObjective)).toBe(true);
      expect(Number.isFinite(c.final?.minorObjective)).toBe(true);
      // the final numbers are the result's (the written policies, the best iterate), not the last curve point's
      const result = JSON.parse(readFileSync(join(out, c.dir, 'run.json'), 'utf8')).result;
      expect(c.final).toEqual({ exploitability: result.exploitability.total, major: result.exploitability.major, minor: result.exploitability.minor, majorObjective: result.value.majorPolicy, minorObjective: result.value.minorPolicy });
      const alone = join(root, `alone-${c.key}`);
      const solo = runCli(['solve', '--quiet', '--game', 'sis', '--bins', '20', '--algorithm', c.config.algorithm, '--param', `beta=${c.config.beta}`, '--iterations', '25', '--out', alone]);
      expect(solo.code, solo.stderr).toBe(0);
      for (const file of ['curve.json', 'policies.bin']) {
        const a = readFileSync(join(out, c.dir, file));
        const b = readFileSync(join(alone, file));
        expect(a.equals(b), `${c.key}/${file}`).toBe(true);
      }
    }
    // the combined report: a chart per swept setting, the page lists every run
    const html = readFileSync(join(out, 'report', 'index.html'), 'utf8');
    for (const png of ['sweep-beta.png', 'sweep-algorithm.png']) expect(existsSync(join(out, 'report', png))).toBe(true);
    for (const c of first.configurations) expect(html).toContain(c.key);
    times = runJsonTimes(out);
  }, 400_000); // 8 sweeps and 8 solves: about 160 s alone on a loaded 2-core machine

  it('runs a TypeScript game module on its run threads, each run byte-identical to m3fg solve alone', () => {
    const dir = join(root, 'module');
    const res = runCli(['sweep', '--game', './examples/vaccination.ts', '--param', 'cV=0.4,0.5', '--bins', '6', '--iterations', '3', '--threads', '2', '--no-report', '--out', dir]);
    expect(res.code, res.stderr).toBe(0);
    const s: SweepSummary = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
    expect(s.configurations.map((c) => c.status)).toEqual(['ran', 'ran']);
    const alone = join(root, 'module-alone');
    const solo = runCli(['solve', '--game', './examples/vaccination.ts', '--param', 'cV=0.5', '--bins', '6', '--iterations', '3', '--threads', '1', '--quiet', '--out', alone]);
    expect(solo.code, solo.stderr).toBe(0);
    const c = s.configurations.find((e) => e.config.cV === '0.5')!;
    for (const file of ['curve.json', 'policies.bin']) expect(readFileSync(join(dir, c.dir, file)).equals(readFileSync(join(alone, file))), file).toBe(true);
  }, 300_000);

  it('runs --iterations 6,15 once: the 15 continue the 6, byte-identical to m3fg solve alone; run threads log at --log-level', () => {
    const dir = join(root, 'chain');
    const res = runCli(['sweep', '--game', 'sis', '--bins', '10', '--iterations', '6,15', '--threads', '2', '--no-report', '--log-level', 'info', '--out', dir], { M3FG_LOG_LEVEL: 'warn' });
    expect(res.code, res.stderr).toBe(0);
    // the runs' own info lines come from the run threads, at the command's --log-level (not M3FG_LOG_LEVEL)
    expect(res.stderr.match(/solve finished/g)).toHaveLength(2);
    const s: SweepSummary = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
    expect(s.configurations.map((c) => c.status)).toEqual(['ran', 'ran']);
    const long = s.configurations.find((c) => c.config.iterations === '15')!;
    expect(JSON.parse(readFileSync(join(dir, long.dir, 'run.json'), 'utf8')).resumedAt).toBe(6);
    const alone = join(root, 'chain-alone');
    const solo = runCli(['solve', '--quiet', '--game', 'sis', '--bins', '10', '--iterations', '15', '--threads', '1', '--out', alone]);
    expect(solo.code, solo.stderr).toBe(0);
    for (const file of ['curve.json', 'policies.bin', 'last/policies.bin']) expect(readFileSync(join(dir, long.dir, file)).equals(readFileSync(join(alone, file))), file).toBe(true);
  }, 300_000);

  it('reuses all 8 on a second invocation', () => {
    const res = runCli(['sweep', ...SWEEP_ARGS, '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    const second: SweepSummary = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    expect(second.reused).toBe(8);
    expect(second.ran).toBe(0);
    expect(second.configurations.map((c) => c.key)).toEqual(first.configurations.map((c) => c.key));
    expect(second.configurations.map((c) => c.final)).toEqual(first.configurations.map((c) => c.final));
    expect(runJsonTimes(out)).toEqual(times);
    // --quiet: the final line only (no progress, schedule or report lines), nothing on stderr
    const quiet = runCli(['sweep', ...SWEEP_ARGS, '--out', out, '--no-report', '--quiet'], { M3FG_LOG_LEVEL: 'info' });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^0 ran, 8 reused; total wall time [^\n]+\n$/);
  });

  it.each([
    [['--param', 'gamma=0.1:0.3:0.1', '--game', 'sis,buffet'], /^m3fg: --param gamma: game 'buffet' has no parameter 'gamma'/],
    [['--param', 'beta=0.4:0.8:0'], /^m3fg: --param beta: range '0.4:0.8:0': step 0\n/],
    [['--param', 'beta=0.8:0.4:0.1'], /^m3fg: --param beta: range '0.8:0.4:0.1' is empty/],
    [['--param', 'beta=0.4:0.8:-0.1'], /^m3fg: --param beta: range '0.4:0.8:-0.1' is empty/],
    [['--param', 'beta='], /^m3fg: --param beta: empty/],
    [['--bins', '10,,20'], /^m3fg: --bins: empty item/],
    [['--bins', '1:101:1', '--param', 'beta=0.01:1:0.01'], /^m3fg: the sweep has 10,100 configurations \(more than 10,000\); pass --yes/],
    [['--param', 'beta=0.4,-1'], /^m3fg: game 'sis': parameter 'beta' must be >= 0/],
  ])('refuses %j with one line, writing nothing', (args, message) => {
    expectRefused(['sweep', ...args], message, join(root, 'refused'));
  });
});
