// Stopping rules (issue 15): --target stops at the first iteration at or below epsilon, --time-limit after the
// iteration that passes the limit, and a resumed --target run ends bitwise like an uninterrupted one.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve, type SolveOptions } from '../coordinator/solver.ts';
import { collected, expectSameBits } from './helpers/same-bits.ts';
import { problemOf } from './helpers/variants.ts';
import { runCli } from './helpers/cli.ts';

const c = { game: 'sis', params: { T: 12 }, bins: 10 };
const spec = { game: c.game, params: c.params, bins: c.bins };

async function run(options: SolveOptions) {
  const problem = await problemOf(c);
  const result = await solve(spec, problem, new InlineExecutor(), options);
  return { ...(await collected(result)), stopReason: result.stopReason };
}

/** The first iteration of the curve at or below eps (from the full curve, the slow obvious way). */
function firstAtOrBelow(totals: number[], eps: number): number {
  return totals.findIndex((v) => v <= eps);
}

describe('--target and --time-limit', () => {
  it('--target stops at the first iteration at or below epsilon, with the tables of that iteration', async () => {
    const full = await run({ algorithm: 'omd', iterations: 15, temperature: 0.1 });
    expect(full.stopReason).toBe('iterations');
    const totals = full.curve.map((p) => p.exploitability.total);
    // a target the curve first meets somewhere inside the run, strictly after iteration 0
    const eps = totals[8];
    const stop = firstAtOrBelow(totals, eps);
    expect(stop).toBeGreaterThan(0);
    const targeted = await run({ algorithm: 'omd', iterations: 15, temperature: 0.1, target: eps });
    expect(targeted.stopReason).toBe('target');
    expect(targeted.curve).toHaveLength(stop + 1);
    const capped = await run({ algorithm: 'omd', iterations: stop + 1, temperature: 0.1 });
    expectSameBits(capped, targeted, 'target run vs a run capped at the stop');
    expectSameBits({ ...full, curve: full.curve.slice(0, stop + 1), minorPolicy: capped.minorPolicy, majorPolicy: capped.majorPolicy, minorY: capped.minorY, majorY: capped.majorY }, targeted, 'curve prefix');
    // a target below every point: the cap decides
    const never = await run({ algorithm: 'omd', iterations: 4, temperature: 0.1, target: Math.min(...totals) / 2 });
    expect(never.stopReason).toBe('iterations');
    expect(never.curve).toHaveLength(4);
  });

  it('--time-limit stops after the iteration that passes it', async () => {
    const limited = await run({ algorithm: 'fp', iterations: 50, timeLimit: 1e-9 });
    expect(limited.stopReason).toBe('time-limit');
    expect(limited.curve).toHaveLength(1);
  });

  // FP: checkpoints hold the policies, not OMD's accumulators (an OMD resume is not bitwise today)
  it('a resumed --target run (checkpoint + --resume) is bitwise equal to an uninterrupted one', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-target-'));
    const base = ['solve', '--game', 'sis', '--bins', '8', '--param', 'T=10', '--algorithm', 'fp', '--threads', '1', '--quiet'];
    const probe = runCli([...base, '--iterations', '14', '--out', join(root, 'probe')]);
    expect(probe.code, probe.stderr).toBe(0);
    const totals = (JSON.parse(readFileSync(join(root, 'probe', 'curve.json'), 'utf8')) as Array<{ exploitability: { total: number } }>).map((p) => p.exploitability.total);
    const eps = totals[9];
    const stop = firstAtOrBelow(totals, eps);
    expect(stop).toBeGreaterThan(2);
    const whole = join(root, 'whole');
    const a = runCli([...base, '--iterations', '14', '--target', String(eps), '--checkpoint-every', '1', '--out', whole]);
    expect(a.code, a.stderr).toBe(0);
    // interrupted: the same run capped before the stop, then resumed with the cap of the whole run
    const cut = join(root, 'cut');
    const b = runCli([...base, '--iterations', String(stop - 1), '--target', String(eps), '--checkpoint-every', '1', '--out', cut]);
    expect(b.code, b.stderr).toBe(0);
    const r = runCli(['solve', '--resume', cut, '--iterations', '14', '--threads', '1', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    // the best iterate (the result) and the last one (last/) alike
    for (const file of ['policies.bin', 'curve.json', 'last/policies.bin', 'last/result.json']) {
      expect(readFileSync(join(cut, file)).equals(readFileSync(join(whole, file))), file).toBe(true);
    }
    const runA = JSON.parse(readFileSync(join(whole, 'run.json'), 'utf8'));
    const runB = JSON.parse(readFileSync(join(cut, 'run.json'), 'utf8'));
    expect(runA.stopReason).toBe('target');
    expect(runB.stopReason).toBe('target');
    expect(runB.target).toBe(eps);
    expect(runB.result).toEqual(runA.result);
    expect(runB.last).toEqual(runA.last);
    expect(JSON.parse(readFileSync(join(whole, 'curve.json'), 'utf8'))).toHaveLength(stop + 1);
  });

  it('rejects a bad --target or --time-limit with one line, exit 2', () => {
    for (const [flag, value] of [['--target', '-1'], ['--target', 'x'], ['--time-limit', '0']]) {
      const res = runCli(['solve', flag, value, '--quiet', '--out', join(tmpdir(), 'm3fg-never-written')]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(new RegExp(`^m3fg: ${flag}: expected a number`));
    }
  });
});
