// `m3fg sweep` takes every algorithm `m3fg solve` takes, through solve's own parser: damped with its step and
// schedule (swept as lists), `--algorithm auto` resolved per game as solve resolves it. Each configuration is
// byte-identical to the same solve alone; the job hash tells every method apart (never a shared result or
// chain); a chained damped adaptive run (its step depends on the curve) equals the run solved alone.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chainPrefixes, configHash, solveConfig, solveJobSpec } from '../coordinator/jobs/spec.ts';
import type { SweepSummary } from '../coordinator/sweep-run.ts';
import { expectRefused, runCli } from './helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'm3fg-sweepalg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const RESULT_FILES = ['curve.json', 'policies.bin', 'last/policies.bin'];
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

function sweep(name: string, args: string[]): { dir: string; summary: SweepSummary } {
  const dir = join(root, name);
  const res = runCli(['sweep', ...args, '--threads', '2', '--no-report', '--quiet', '--out', dir]);
  expect(res.code, res.stderr).toBe(0);
  return { dir, summary: json(join(dir, 'sweep.json')) };
}

function sameAsSolve(runDir: string, solveArgs: string[], name: string): void {
  const alone = join(root, name);
  const solo = runCli(['solve', '--quiet', '--threads', '1', ...solveArgs, '--out', alone]);
  expect(solo.code, solo.stderr).toBe(0);
  for (const f of RESULT_FILES) expect(readFileSync(join(runDir, f)).equals(readFileSync(join(alone, f))), `${runDir}/${f}`).toBe(true);
  const [a, b] = [json(join(runDir, 'run.json')), json(join(alone, 'run.json'))];
  for (const k of ['algorithm', 'auto', 'step', 'schedule', 'temperature', 'result']) expect(a[k], k).toEqual(b[k]);
}

describe('sweep job identity of the algorithm settings', () => {
  const job = (more: Record<string, string>) => solveJobSpec({ game: 'sis', bins: '10', iterations: '20', ...more });

  it('gives every method its own hash and key; the hashes of fp and constant OMD stay what they were', () => {
    const jobs = [
      job({ algorithm: 'fp' }),
      job({ algorithm: 'omd' }),
      job({ algorithm: 'omd', schedule: 'anneal' }),
      job({ algorithm: 'auto' }), // on SIS: OMD, temperature 0.1 annealed
      job({ algorithm: 'damped' }),
      job({ algorithm: 'damped', step: '0.3' }),
      job({ algorithm: 'damped', step: '0.3', schedule: 'adaptive' }),
    ];
    expect(new Set(jobs.map((j) => j.hash)).size).toBe(jobs.length);
    expect(new Set(jobs.map((j) => j.key)).size).toBe(jobs.length);
    expect(jobs[3].key).toMatch(/^sis-auto-omd-anneal-m10-k20-/);
    expect(jobs[6].key).toMatch(/^sis-damped-step0.3-adaptive-m10-k20-/);
    // run.json records step and schedule for every algorithm: where they do not act they leave the hash alone
    const base = { game: 'sis', params: {}, bins: 10, algorithm: 'fp', iterations: 20, temperature: 0.1 };
    expect(configHash(solveConfig({ ...base, step: 0.1, schedule: 'constant' }))).toBe(configHash(solveConfig(base)));
    expect(configHash(solveConfig({ ...base, algorithm: 'damped', step: 0.1 }))).not.toBe(configHash(solveConfig({ ...base, algorithm: 'damped', step: 0.2 })));
  });

  it('chains only runs of one method: another step or schedule is another chain', () => {
    const damped = (iterations: string, more: Record<string, string> = {}) => job({ algorithm: 'damped', schedule: 'adaptive', iterations, ...more });
    const [short, long, otherStep, constant] = [damped('5'), damped('10'), damped('12', { step: '0.3' }), job({ algorithm: 'damped', iterations: '15' })];
    const auto = [job({ algorithm: 'auto', iterations: '5' }), job({ algorithm: 'auto', iterations: '10' })];
    const omd = job({ algorithm: 'omd', schedule: 'anneal', iterations: '3' });
    chainPrefixes([short, long, otherStep, constant, ...auto, omd]);
    expect(long.prefix?.key).toBe(short.key);
    expect(otherStep.prefix).toBeUndefined();
    expect(constant.prefix).toBeUndefined();
    expect(auto[1].prefix?.key).toBe(auto[0].key); // never the explicit OMD run, though it is the same method
  });
});

describe('m3fg sweep with the algorithm flags of solve', () => {
  it('--algorithm damped --schedule adaptive --step 0.2,0.3: byte-identical to the two solves', () => {
    const args = ['--game', 'advertisement', '--bins', '6', '--iterations', '10', '--algorithm', 'damped', '--schedule', 'adaptive'];
    const { dir, summary } = sweep('damped', [...args, '--step', '0.2,0.3']);
    expect(summary.configurations.map((c) => [c.config.step, c.status])).toEqual([['0.2', 'ran'], ['0.3', 'ran']]);
    for (const c of summary.configurations) sameAsSolve(join(dir, c.dir), [...args, '--step', c.config.step], `damped-alone-${c.config.step}`);
  }, 300_000);

  it('--algorithm auto on two games resolves per game, as solve does', () => {
    const { dir, summary } = sweep('auto', ['--game', 'sis,buffet', '--bins', '6', '--iterations', '6', '--algorithm', 'auto']);
    const runOf = (game: string) => summary.configurations.find((c) => c.config.game === game)!;
    const [sis, buffet] = [json(join(dir, runOf('sis').dir, 'run.json')), json(join(dir, runOf('buffet').dir, 'run.json'))];
    expect([sis.auto, sis.algorithm, sis.schedule, sis.temperature]).toEqual([true, 'omd', 'anneal', 0.1]);
    expect([buffet.auto, buffet.algorithm, buffet.schedule, buffet.step]).toEqual([true, 'damped', 'adaptive', 0.3]);
    sameAsSolve(join(dir, runOf('buffet').dir), ['--game', 'buffet', '--bins', '6', '--iterations', '6', '--algorithm', 'auto'], 'auto-alone-buffet');
    // run.json records auto: its recorded configuration hashes to the job's, so a second invocation reuses both
    expect(sweep('auto', ['--game', 'sis,buffet', '--bins', '6', '--iterations', '6', '--algorithm', 'auto']).summary.reused).toBe(2);
    // a game parameter swept: auto takes the general choice, as solve does with --param
    const p = sweep('auto-param', ['--game', 'buffet', '--bins', '6', '--iterations', '2', '--algorithm', 'auto', '--param', 'change=0.5']);
    expect(json(join(p.dir, p.summary.configurations[0].dir, 'run.json')).algorithm).toBe('omd');
  }, 300_000);

  it('chains damped adaptive --iterations 4,12: the 12 resume the 4 and equal the run solved alone', () => {
    // step 1 on Advertisement: the total rises after iteration 4, so the continued run's steps depend on the prefix's curve
    const args = ['--game', 'advertisement', '--bins', '6', '--algorithm', 'damped', '--schedule', 'adaptive', '--step', '1'];
    const { dir, summary } = sweep('chain', [...args, '--iterations', '4,12']);
    const long = summary.configurations.find((c) => c.config.iterations === '12')!;
    expect(json(join(dir, long.dir, 'run.json')).resumedAt).toBe(4);
    const totals = json(join(dir, long.dir, 'curve.json')).map((p: { exploitability: { total: number } }) => p.exploitability.total);
    expect(totals.slice(4).some((t: number, i: number) => t > totals[i + 3])).toBe(true);
    sameAsSolve(join(dir, long.dir), [...args, '--iterations', '12'], 'chain-alone');
  }, 300_000);

  it.each([
    [['--algorithm', 'fp,damped', '--step', '0.2'], /^m3fg: --step: only with --algorithm damped \(in the configuration algorithm=fp\)\n/],
    [['--algorithm', 'damped', '--step', '0.2,1.5'], /^m3fg: --step: expected a number in \(0, 1\], got '1.5' \(in the configuration step=1.5\)\n/],
    [['--algorithm', 'damped', '--step', '0.1:0.3:0'], /^m3fg: --step: range '0.1:0.3:0': step 0\n/],
    [['--algorithm', 'damped', '--schedule', 'adaptive,bogus'], /^m3fg: --schedule: unknown value 'bogus'/],
    [['--algorithm', 'omd', '--schedule', 'adaptive'], /^m3fg: --schedule adaptive: only with --algorithm damped\n/],
    [['--algorithm', 'auto', '--temperature', '0.2'], /^m3fg: --temperature: --algorithm auto sets it itself/],
    [['--algorithm', 'auto,bogus'], /^m3fg: --algorithm: unknown value 'bogus'/],
    [['--param', 'step=0.2'], /^m3fg: --param step: 'step' is a setting, not a game parameter \(use --step\)\n/],
  ])('refuses %j with one line, exit 2, writing nothing', (args, message) => {
    expectRefused(['sweep', ...args], message, join(root, 'refused'));
  });
});
