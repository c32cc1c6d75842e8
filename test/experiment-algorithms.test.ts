// `m3fg experiment algorithms --quick`: every (game, method) run is traced per iteration, the table's lowest
// values are those of the traces, and the report, figures and table are written.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { lowest, mergeStudies, METHODS, studyPlan, studyTable, type Trace } from '../coordinator/experiment-algorithms.ts';
import { runStudyRun, STOP_BELOW } from '../coordinator/experiment-algorithms-run.ts';
import { createLogger } from '../coordinator/logger.ts';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';

describe('experiment algorithms', () => {
  it('--quick runs every method on every quick game and writes the report and table', async () => {
    const out = mkdtempSync(join(tmpdir(), 'm3fg-study-'));
    const res = runCli(['experiment', 'algorithms', '--quick', '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    // it says first how long it will take: 2 games x 4 methods, 2 s each
    expect(res.stdout.split('\n')[0]).toMatch(/^algorithm study: 2 games x 4 methods = 8 runs, each until 2 s, 6 iterations or a total ≤ 1e-12: at most 16 s /);
    expect(res.stdout).toContain('[8/8] advertisement M=8');
    const study = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')) as { traces: Trace[]; table: Array<{ game: string; method: string; lowest: { total: number } }> };
    expect(study.traces.map((t) => `${t.game}/${t.method}`)).toEqual(
      ['sis', 'advertisement'].flatMap((g) => ['fp', 'omd-0.1', 'omd-anneal-1', 'damped-0.2'].map((m) => `${g}/${m}`)),
    );
    for (const t of study.traces) {
      expect(t.points.map((p) => p.iteration)).toEqual(t.points.map((_, i) => i));
      expect(t.points.every((p, i) => i === 0 || p.seconds >= t.points[i - 1].seconds)).toBe(true);
      // the same numbers as a plain solve of that method (the first method, FP, checked through the CLI below)
      const row = study.table.find((r) => r.game === t.game && r.method === t.method);
      expect(row?.lowest.total).toBe(Math.min(...t.points.map((p) => p.total)));
    }
    const fp = runCli(['solve', '--game', 'sis', '--bins', '8', '--param', 'T=10', '--iterations', '6', '--threads', '1', '--quiet', '--out', join(out, 'fp')]);
    expect(fp.code, fp.stderr).toBe(0);
    const curve = JSON.parse(readFileSync(join(out, 'fp', 'curve.json'), 'utf8')) as Array<{ exploitability: { total: number } }>;
    expect(study.traces[0].points.map((p) => p.total)).toEqual(curve.map((p) => p.exploitability.total));
    for (const f of ['report/index.html', 'table.md', 'figures/algorithms-sis.png', 'figures/algorithms-advertisement.svg', 'runs/sis-fp.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'table.md'), 'utf8')).toContain('| OMD τ=0.1 |');
    // --merge of one study is the same study
    const merged = await mergeStudies(join(out, 'merged'), [out]);
    expect(readFileSync(join(out, 'merged', 'table.md'), 'utf8')).toBe(readFileSync(join(out, 'table.md'), 'utf8'));
    expect(merged.traces).toEqual(study.traces);
    // --parallel 2: two runs side by side, one thread each; the same traces (apart from seconds), in the same order
    const side = join(out, 'side');
    const par = runCli(['experiment', 'algorithms', '--quick', '--parallel', '2', '--out', side]);
    expect(par.code, par.stderr).toBe(0);
    expect(par.stdout.split('\n')[0]).toContain('8 runs, each until 2 s, 6 iterations or a total ≤ 1e-12, 2 side by side on one thread each: at most 8 s');
    const study2 = JSON.parse(readFileSync(join(side, 'study.json'), 'utf8')) as { parallel: number; traces: Trace[] };
    const exact = (ts: Trace[]) => ts.map((t) => ({ ...t, points: t.points.map(({ seconds: _, ...p }) => p) }));
    expect(exact(study2.traces)).toEqual(exact(study.traces));
    expect(study2.parallel).toBe(2);
    expect(readFileSync(join(side, 'table.md'), 'utf8').split('\n')[0]).toContain('2 runs side by side, each on one thread');
    expect(readFileSync(join(side, 'report', 'index.html'), 'utf8')).toContain('2 runs side by side, each on one thread');
  }, 120_000);

  it('--parallel with --threads above 1 is refused: one line, exit 2, nothing written', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'm3fg-study-')), 'x');
    const res = runCli(['experiment', 'algorithms', '--quick', '--parallel', '2', '--threads', '2', '--out', out]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toMatch(/^m3fg: --parallel: /);
    expect(existsSync(out)).toBe(false);
  });

  it('a run stops once its total is at most 1e-12 (Cyber at M = 8 starts at an equilibrium): one point, not the cap', async () => {
    const g = { game: 'cyber', bins: 8, params: {} };
    const problem = new Problem(buildGame(builtinGames.cyber, {}), 8);
    for (const key of ['fp', 'omd-0.1']) {
      const t = await runStudyRun({ game: g, method: METHODS.find((m) => m.key === key)!, budget: 60, cap: 50 }, problem, 1, createLogger('warn'));
      expect(t.stopReason).toBe('target');
      expect(t.points).toHaveLength(1);
      expect(t.points[0].total).toBeLessThanOrEqual(STOP_BELOW);
    }
    // a run above it goes on to its cap
    const sis = { game: 'sis', bins: 8, params: { T: 10 } };
    const t = await runStudyRun({ game: sis, method: METHODS[0], budget: 60, cap: 7 }, new Problem(buildGame(builtinGames.sis, sis.params), 8), 1, createLogger('warn'));
    expect([t.stopReason, t.points.length]).toEqual(['iterations', 7]);
  });

  it('the plan of the full study at --budget 60: 4 games x 14 methods, at most 56 min (28 side by side), with the time it ends', () => {
    const line = studyPlan(4, 14, 60, 5000, new Date('2026-01-01T10:00:00Z'));
    expect(line).toContain('56 runs, each until 60 s, 5000 iterations or a total ≤ 1e-12: at most 56 min');
    expect(studyPlan(4, 15, 60, 5000, new Date('2026-01-01T10:00:00Z'), 2)).toContain('2 side by side on one thread each: at most 30 min (plus up to one iteration per run and building each model; done by about 10:30 UTC)');
    expect(line).toContain('done by about 10:56 UTC');
    expect(studyPlan(4, 14, 180, 5000, new Date(0))).toContain('at most 2 h 48 min');
  });

  it('the table takes the lowest total within each budget from the trace', () => {
    const t: Trace = {
      game: 'g', bins: 1, method: 'm', label: 'm', stopReason: 'time-limit',
      points: [
        { iteration: 0, seconds: 3, total: 5, major: 4, minor: 1 },
        { iteration: 1, seconds: 9, total: 2, major: 1, minor: 1 },
        { iteration: 2, seconds: 11, total: 1, major: 1, minor: 0 },
        { iteration: 3, seconds: 25, total: 3, major: 1, minor: 2 },
      ],
    };
    const [row] = studyTable([t], [10, 60]);
    expect(row.best[0]).toEqual({ seconds: 10, total: 2, iteration: 1 });
    expect(row.best[1]).toBeUndefined(); // cut by its time limit before 60 s
    expect(lowest(t.points).iteration).toBe(2);
    const [capped] = studyTable([{ ...t, stopReason: 'iterations' }], [10, 60]);
    expect(capped.best[1]).toEqual({ seconds: 60, total: 1, iteration: 2 });
  });
});
