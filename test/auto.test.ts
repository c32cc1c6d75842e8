// --algorithm auto resolves to the study's recommended method for the problem with its fixed settings, records `auto`, and
// refuses the flags it sets itself; the new flags (--step, --schedule, --target, --time-limit) parse and
// refuse bad values with one line naming the flag.
import { describe, expect, it } from 'vitest';
import { parseSolveFlags } from '../coordinator/options.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTO_METHOD, autoMethod } from '../coordinator/auto.ts';
import { runCli } from './helpers/cli.ts';
import { solve as librarySolve } from '../index.ts';
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

  it('auto chooses per problem where the study measured one: Buffet the adaptive damped step, Advertisement FPI', () => {
    const pick = (flags: Parameters<typeof parseSolveFlags>[0]) => {
      const s = parseSolveFlags({ ...flags, algorithm: 'auto' });
      return { algorithm: s.algorithm, step: s.step, schedule: s.schedule, softmax: s.softmax, temperature: s.temperature, auto: s.auto };
    };
    const adaptive = { algorithm: 'damped', step: 0.3, schedule: 'adaptive', softmax: false, temperature: 0.1, auto: true };
    expect(pick({ game: 'buffet' })).toEqual(adaptive);
    // the discretisation stays the user's: auto picks the method, not the grid
    const interp = parseSolveFlags({ game: 'buffet', algorithm: 'auto', grid: 'lattice', projection: 'interpolate' });
    expect([interp.algorithm, interp.schedule, interp.grid, interp.projection]).toEqual(['damped', 'adaptive', 'lattice', 'interpolate']);
    expect(pick({ game: 'advertisement' })).toMatchObject({ algorithm: 'fpi', softmax: false, auto: true });
    const omd = { algorithm: 'omd', temperature: 0.1, schedule: 'anneal' };
    for (const game of ['sis', 'cyber']) expect(pick({ game })).toMatchObject(omd);
    // outside what the study measured (other parameters, the infinite horizon, a module): the general choice
    expect(pick({ game: 'advertisement', param: ['cCrowd=0'] })).toMatchObject(omd);
    expect(pick({ game: 'buffet', horizon: 'infinite' })).toMatchObject(omd);
    expect(autoMethod({ game: 'buffet', builtin: false, params: false, horizon: 'finite' })).toBe(AUTO_METHOD);
    expect(() => parseSolveFlags({ game: 'buffet', algorithm: 'auto', step: '0.5' })).toThrow(/^--step: --algorithm auto sets it itself \(here: damped, adaptive step ≤ 0.3\)$/);
  });

  it('an auto run is the run of the method it chose, byte for byte (Buffet and Advertisement)', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-auto-'));
    try {
      for (const [game, method] of [['buffet', ['--algorithm', 'damped', '--schedule', 'adaptive', '--step', '0.3']], ['advertisement', ['--algorithm', 'fpi']]] as const) {
        const common = ['solve', '--game', game, '--bins', '6', '--iterations', '8', '--threads', '1', '--quiet'];
        const a = runCli([...common, '--algorithm', 'auto', '--out', join(root, `${game}-auto`)]);
        const b = runCli([...common, ...method, '--out', join(root, `${game}-method`)]);
        expect(a.code, a.stderr).toBe(0);
        expect(b.code, b.stderr).toBe(0);
        for (const f of ['curve.json', 'policies.bin']) expect(readFileSync(join(root, `${game}-auto`, f)).equals(readFileSync(join(root, `${game}-method`, f))), `${game} ${f}`).toBe(true);
        expect(JSON.parse(readFileSync(join(root, `${game}-auto`, 'run.json'), 'utf8')).auto).toBe(true);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);

  it("the library's auto chooses as the CLI does: FPI for Advertisement, OMD annealed once its parameters change", async () => {
    const totals = async (request: Omit<Parameters<typeof librarySolve>[0], 'game'>) => (await librarySolve({ game: 'advertisement', bins: 6, iterations: 4, ...request })).curve.map((p) => p.exploitability.total);
    const omd = { algorithm: 'omd', temperature: 0.1, schedule: 'anneal' } as const;
    expect(await totals({ algorithm: 'auto' })).toEqual(await totals({ algorithm: 'fpi' }));
    expect(await totals({ algorithm: 'auto' })).not.toEqual(await totals(omd));
    expect(await totals({ algorithm: 'auto', params: { cCrowd: 0 } })).toEqual(await totals({ ...omd, params: { cCrowd: 0 } }));
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
