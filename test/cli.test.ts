// The CLI's contract for bad input: one clear line on stderr, a non-zero exit, nothing written.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';

describe('m3fg solve input errors', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--game', 'chess'], /--game: unknown game 'chess'/],
    [['--algorithm', 'sgd'], /--algorithm: unknown value 'sgd' \(one of: fp, fpi, omd, alternating, damped, auto\)/],
    [['--bins', '0'], /--bins: expected a positive integer, got '0'/],
    [['--bins', '2.5'], /--bins: expected a positive integer/],
    [['--iterations', 'many'], /--iterations: expected a positive integer, got 'many'/],
    [['--param', 'beta'], /--param: expected name=value, got 'beta'/],
    [['--param', 'beta=fast'], /--param beta: 'fast' is not a finite number/],
    [['--param', 'delta=1'], /game 'sis': unknown parameter 'delta'/],
    [['--param', 'T=2.5'], /game 'sis': parameter 'T' must be an integer, got 2.5/],
    [['--param', 'p_inf0=1.5'], /game 'sis': parameter 'p_inf0' must be <= 1, got 1.5/],
    [['--param', 'gamma=-1'], /game 'sis': parameter 'gamma' must be >= 0, got -1/],
    [['--game', 'advertisement', '--param', 'k0=0', '--param', 'kY=0'], /game 'advertisement': parameters 'k0' and 'kY' cannot both be 0/],
    [['--game', 'buffet', '--param', 'L=1'], /game 'buffet': parameter 'L' must be >= 2, got 1/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
  ];
  for (const [args, message] of cases) {
    it(`rejects ${args.join(' ')}`, () => {
      const out = join(mkdtempSync(join(tmpdir(), 'm3fg-cli-')), 'never');
      const res = runCli(['solve', ...args, '--out', out, '--iterations', args.includes('--iterations') ? args[args.indexOf('--iterations') + 1] : '1']);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      const lines = res.stderr.trimEnd().split('\n');
      expect(lines, res.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^m3fg: /);
      expect(lines[0]).toMatch(message);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('rejects an unknown command', () => {
    const res = runCli(['sovle']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^m3fg: unknown command 'sovle'/);
  });
});
