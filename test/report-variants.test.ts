// Reports that know variants: the run table names every setting that changes the numbers, charts over M
// never join runs of different configurations, every chart's data is written as CSV, state names come from
// the game module, and a game whose exploitability is exactly 0 still gets its report.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { binsChart } from '../coordinator/report/charts.ts';
import type { RunData, RunInfo } from '../coordinator/report/data.ts';
import { reportHtml } from '../coordinator/report/html.ts';
import { toCsv } from '../coordinator/report/csv.ts';
import { runCli } from './helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'm3fg-report-variants-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const point = (iteration: number, total: number) => ({
  iteration,
  exploitability: { total, major: total / 2, minor: total / 2 },
  value: { majorBestResponse: 0, majorPolicy: -total / 2, minorBestResponse: 0, minorPolicy: -total / 2 },
});

function fakeRun(name: string, info: RunInfo, total = 1): RunData {
  return { name, dir: join(root, name), info: { game: 'sis', algorithm: 'fp', iterations: 2, ...info }, curve: [point(0, 2 * total), point(1, total)], inProgress: false };
}

describe('reports know variants', () => {
  it('the run table shows algorithm, response and temperature, horizon and discount, initial policy and grid', () => {
    const runs = [
      fakeRun('plain', { bins: 20, sizes: { T: 150, nX: 2, nU: 2, nX0: 2, nU0: 2, cells: 20 } }),
      fakeRun('variant', { bins: 12, softmax: true, temperature: 0.5, horizon: 'infinite', discount: 0.95, init: 'last', grid: 'lattice' }),
      fakeRun('omd', { bins: 12, algorithm: 'omd', temperature: 2 }),
      fakeRun('alt', { bins: 12, algorithm: 'alternating', inner: 3 }),
    ];
    const html = reportHtml({ title: 't', source: root, runs, charts: [], generated: new Date(0) });
    for (const text of [
      '<th>response</th>', '<th>horizon</th>', '<th>initial policy</th>', '<th>grid</th>',
      'greedy', 'finite, T = 150', 'first (default)', 'midpoint, M = 20',
      'softmax, τ = 0.5', 'infinite, γ = 0.95', '<td>last</td>', 'lattice, M = 12',
      'softmax, τ = 2', 'alternating, k = 3',
    ]) expect(html).toContain(text);
  });

  it('the bins chart draws one line per configuration apart from M: variants and iteration counts are never joined', () => {
    const runs = [
      fakeRun('a20', { bins: 20 }), fakeRun('a40', { bins: 40 }),
      fakeRun('s20', { bins: 20, softmax: true, temperature: 0.5 }), fakeRun('s40', { bins: 40, softmax: true, temperature: 0.5 }),
      fakeRun('t40', { bins: 40, softmax: true, temperature: 0.2 }),
      fakeRun('k20', { bins: 20, iterations: 7 }),
      fakeRun('i20', { bins: 20, horizon: 'infinite', discount: 0.9 }), fakeRun('i40', { bins: 40, horizon: 'infinite', discount: 0.9 }),
    ];
    const chart = binsChart(runs)!;
    const series = new Map<string, Set<string>>();
    for (const row of chart.rows as Array<{ series: string; run: string }>) {
      if (!series.has(row.series)) series.set(row.series, new Set());
      series.get(row.series)!.add(row.run);
    }
    expect([...series.values()].map((s) => [...s].sort().join(' ')).sort()).toEqual(['a20 a40', 'i20 i40', 'k20', 's20 s40', 't40']);
    expect([...series.keys()]).toContain('sis fp softmax τ=0.5 2 it.');
    expect([...series.keys()]).toContain('sis fp infinite γ=0.9 2 it.');
  });

  it("the bins chart shows each run's result (the written policies), not its last curve point", () => {
    const result = { ...point(1, 0.25), iteration: 1 };
    const last = { ...point(2, 4), iteration: 2 };
    const runs = [
      fakeRun('best', { bins: 20, keep: 'best', result, last }), // curve ends at 1, result 0.25, last iterate 4
      fakeRun('old', { bins: 40 }), // no result in run.json (older runs): the last curve point, 1
    ];
    const rows = binsChart(runs)!.rows as Array<{ run: string; component: string; value: number }>;
    expect(rows.filter((r) => r.run === 'best').map((r) => r.value)).toEqual([0.125, 0.125]);
    expect(rows.filter((r) => r.run === 'old').map((r) => r.value)).toEqual([0.5, 0.5]);
  });

  it('CSV: a header and one line per row, quoting only where needed', () => {
    expect(toCsv([{ a: 1, b: 'x' }, { a: 2.5, b: 'say "hi", twice', c: true }])).toBe('a,b,c\n1,x,\n2.5,"say ""hi"", twice",true\n');
  });

  it('a game with exploitability exactly 0 gets its report, with CSVs and the state names from its module', () => {
    const out = join(root, 'zero');
    const res = runCli(['solve', '--game', 'test/fixtures/one-action.mjs', '--bins', '10', '--iterations', '3', '--threads', '1', '--out', out, '--quiet']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const curve = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8')) as Array<{ exploitability: { total: number } }>;
    expect(curve.every((p) => p.exploitability.total === 0)).toBe(true);
    const files = readdirSync(join(out, 'report')).sort();
    expect(files).toEqual([
      'exploitability.csv', 'exploitability.png', 'index.html', 'policy-major.csv', 'policy-major.png', 'policy-minor.csv',
      'policy-minor.png', 'start-values.csv', 'start-values.png',
    ]);
    const html = readFileSync(join(out, 'report', 'index.html'), 'utf8');
    expect(html).toContain('linear scale: no value is above 0');
    expect(html).toContain('x = healthy');
    expect(html).toContain('u = 0 (wait)');
    expect(html).toContain('x0 = calm');
    const csv = readFileSync(join(out, 'report', 'exploitability.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('run,iteration,component,value');
    expect(csv).toHaveLength(1 + 3 * 3);
  });
});
