// User-defined games from a module path: the example solves (with its parameters overridable), and broken
// modules are refused with one line naming the game, the function and the state.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';

const out = () => join(mkdtempSync(join(tmpdir(), 'm3fg-user-')), 'run');

describe('m3fg solve --game ./module', () => {
  it('solves the example game, with a parameter override', () => {
    const dir = out();
    const res = runCli(['solve', '--game', './examples/vaccination.ts', '--param', 'cV=0.5', '--bins', '8', '--iterations', '3', '--threads', '1', '--out', dir, '--quiet']);
    expect(res.code, res.stderr).toBe(0);
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(run.params.cV).toBe(0.5);
    expect(JSON.parse(readFileSync(join(dir, 'curve.json'), 'utf8'))).toHaveLength(3);
  });

  const refusals: Array<[string, RegExp]> = [
    ['./test/fixtures/bad-row.ts', /^m3fg: game 'bad-row': minorKernel at \(x=1, u=0, x0=0, u0=0, mu=\[1, 0\]\) is not a distribution: sums to 0\.9/],
    ['./test/fixtures/nan-reward.mjs', /^m3fg: game 'nan-reward': minorReward at \(x=0, u=1, x0=0, u0=0, mu=\[.*\]\) is not finite: returned NaN/],
    ['./test/fixtures/wrong-size.mjs', /^m3fg: game 'wrong-size': mu0 has length 3, expected 2/],
    ['./test/fixtures/not-a-game.mjs', /^m3fg: --game \S*test\/fixtures\/not-a-game\.mjs: the module exports no game/],
    ['./test/fixtures/missing.ts', /^m3fg: --game \S*test\/fixtures\/missing\.ts: cannot load the module/],
  ];
  it('refuses a module whose top-level code loops forever: one line naming it, after the deadline', () => {
    const res = runCli(['solve', '--game', './test/fixtures/top-level-loop.mjs', '--bins', '5', '--iterations', '1', '--task-timeout', '2', '--out', out(), '--quiet']);
    expect(res.code, res.stderr).toBe(2);
    const lines = res.stderr.trimEnd().split('\n');
    expect(lines, res.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^m3fg: game '\S*test\/fixtures\/top-level-loop\.mjs': loading the game module did not return within 2 s/);
  }, 120_000);

  for (const [path, message] of refusals) {
    it(`refuses ${path}`, () => {
      const res = runCli(['solve', '--game', path, '--bins', '5', '--iterations', '1', '--out', out(), '--quiet']);
      expect(res.code).toBe(2);
      const lines = res.stderr.trimEnd().split('\n');
      expect(lines, res.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    });
  }
});
