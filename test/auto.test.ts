// --algorithm auto resolves to the study's recommended method with its fixed settings, records `auto`, and
// refuses the flags it sets itself; the new flags (--step, --schedule, --target, --time-limit) parse and
// refuse bad values with one line naming the flag.
import { describe, expect, it } from 'vitest';
import { parseSolveFlags } from '../coordinator/options.ts';
import { AUTO_METHOD } from '../coordinator/auto.ts';
import { updateRule } from '../coordinator/solver.ts';

describe('--algorithm auto and the study flags', () => {
  it('auto is the recommended method, recorded as such', () => {
    const s = parseSolveFlags({ game: 'sis', algorithm: 'auto', target: '0.01', timeLimit: '60' });
    expect(s.algorithm).toBe(AUTO_METHOD.algorithm);
    expect(s.temperature).toBe(AUTO_METHOD.temperature);
    expect(s.schedule).toBe(AUTO_METHOD.schedule);
    expect(s.auto).toBe(true);
    expect(s.target).toBe(0.01);
    expect(s.timeLimit).toBe(60);
    expect(s.out).toBe('results/sis-auto-m20');
    expect(updateRule(s, 3)).toEqual(updateRule({ algorithm: 'omd', temperature: 0.1, schedule: 'anneal' }, 3));
    expect(parseSolveFlags({ game: 'sis' }).auto).toBeUndefined();
  });

  it('refuses what auto fixes and bad values of the new flags', () => {
    expect(() => parseSolveFlags({ algorithm: 'auto', temperature: '0.5' })).toThrow(/^--temperature: --algorithm auto sets it itself/);
    expect(() => parseSolveFlags({ algorithm: 'auto', softmax: true })).toThrow(/^--softmax: --algorithm auto/);
    expect(() => parseSolveFlags({ algorithm: 'fp', step: '0.2' })).toThrow(/^--step: only with --algorithm damped/);
    expect(() => parseSolveFlags({ algorithm: 'damped', step: '0' })).toThrow(/^--step: expected a number in \(0, 1\]/);
    expect(parseSolveFlags({ algorithm: 'damped', step: '1' }).step).toBe(1);
    expect(() => parseSolveFlags({ algorithm: 'fp', schedule: 'sqrt' })).toThrow(/^--schedule: only with --algorithm omd/);
    expect(() => parseSolveFlags({ algorithm: 'omd', schedule: 'fast' })).toThrow(/^--schedule: unknown value 'fast'/);
    expect(() => parseSolveFlags({ algorithm: 'omd', schedule: 'adaptive' })).toThrow(/^--schedule adaptive: only with --algorithm damped/);
    expect(() => parseSolveFlags({ algorithm: 'damped', schedule: 'anneal' })).toThrow(/^--schedule anneal: only with --algorithm omd/);
    const adaptive = parseSolveFlags({ algorithm: 'damped', schedule: 'adaptive', step: '0.3' });
    expect([adaptive.schedule, adaptive.step, adaptive.out]).toEqual(['adaptive', 0.3, 'results/sis-damped-m20-step0.3-adaptive']);
    expect(() => parseSolveFlags({ target: '0' })).toThrow(/^--target: expected a number/);
    expect(() => parseSolveFlags({ timeLimit: '-3' })).toThrow(/^--time-limit: expected a number/);
  });
});
