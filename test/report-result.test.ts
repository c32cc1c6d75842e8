// The report and the solve summary say which iterate the result is: the best iterate's iteration and
// exploitability (run.json `result`) next to the last iterate's (`last`), not the curve's last point (the input
// of the last iteration, which is neither). OMD with tau = 1 on a small SIS has its best iterate inside the
// curve and a worse last one (test/best-iterate.test.ts), so the three numbers differ.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunData, RunInfo, RunIterate } from '../coordinator/report/data.ts';
import { reportHtml, runIterates } from '../coordinator/report/html.ts';
import { runCli } from './helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'm3fg-report-result-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The rows of the page's final-numbers table as arrays of cell texts. */
function finalRows(html: string): string[][] {
  const section = html.slice(html.indexOf('<h2>Final numbers</h2>'), html.indexOf('<h2>Charts</h2>'));
  const body = section.slice(section.indexOf('<tbody>'), section.indexOf('</tbody>'));
  return [...body.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]));
}

const sig = (x: number) => x.toPrecision(6);

describe('the result is named in the report and the summary', () => {
  it('m3fg solve --keep best: the summary and the report show the best iterate and the last one, with their iterations', () => {
    const out = join(root, 'omd');
    const r = runCli(['solve', '--game', 'sis', '--param', 'T=8', '--bins', '8', '--algorithm', 'omd', '--temperature', '1', '--iterations', '12', '--threads', '1', '--log-level', 'error', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { result: RunIterate; last: RunIterate };
    const curve = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8')) as RunIterate[];
    // the case this test needs: the best inside the curve, the last iterate (after 12 updates) worse
    expect(run.result.iteration).toBeLessThan(12);
    expect(run.last.iteration).toBe(12);
    expect(run.last.exploitability.total).toBeGreaterThan(run.result.exploitability.total);
    expect(run.result.exploitability).toEqual(curve[run.result.iteration].exploitability);

    expect(r.stdout).toContain(`result (best iterate, after ${run.result.iteration} updates): exploitability ${run.result.exploitability.total} `);
    expect(r.stdout).toContain(`last iterate (last/, after 12 updates): exploitability ${run.last.exploitability.total} `);

    const rows = finalRows(readFileSync(join(out, 'report', 'index.html'), 'utf8'));
    expect(rows.map((row) => row.slice(1, 6))).toEqual([
      ['result (best iterate)', String(run.result.iteration), sig(run.result.exploitability.total), sig(run.result.exploitability.major), sig(run.result.exploitability.minor)],
      ['last iterate (last/)', '12', sig(run.last.exploitability.total), sig(run.last.exploitability.major), sig(run.last.exploitability.minor)],
    ]);
  });

  it('m3fg solve --keep last: one row, the last iterate, which is the result; the stop reason is in the run table', () => {
    const out = join(root, 'target');
    const r = runCli(['solve', '--game', 'sis', '--param', 'T=8', '--bins', '8', '--algorithm', 'omd', '--temperature', '1', '--iterations', '50', '--target', '1e9', '--keep', 'last', '--threads', '1', '--out', out]);
    expect(r.code).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { result: RunIterate; last?: RunIterate };
    expect(run.last).toBeUndefined();
    expect(run.result.iteration).toBe(1);
    expect(r.stdout).toContain(`result (last iterate, after 1 updates): exploitability ${run.result.exploitability.total} `);
    expect(r.stdout).not.toContain('(last/');
    const html = readFileSync(join(out, 'report', 'index.html'), 'utf8');
    expect(finalRows(html).map((row) => row.slice(1, 4))).toEqual([['result (last iterate)', '1', sig(run.result.exploitability.total)]]);
    expect(html).toContain('1 of 50 (stopped: target)');
  });

  it('runs without a result in run.json (in progress, or older) show their last curve point, labelled as such', () => {
    const p = (iteration: number, total: number) => ({
      iteration,
      exploitability: { total, major: total, minor: 0 },
      value: { majorBestResponse: 0, majorPolicy: -total, minorBestResponse: 0, minorPolicy: 0 },
    });
    const run = (name: string, info: RunInfo, inProgress: boolean): RunData => ({ name, dir: join(root, name), info, curve: [p(0, 3), p(1, 2)], inProgress });
    expect(runIterates(run('old', {}, false))).toEqual([{ label: 'last curve point', point: p(1, 2) }]);
    expect(runIterates(run('cp', {}, true))).toEqual([{ label: 'last curve point (in progress)', point: p(1, 2) }]);
    // a best iterate that is the last one is one row
    const same = { iteration: 2, exploitability: p(0, 1).exploitability, value: p(0, 1).value };
    expect(runIterates(run('same', { keep: 'best', result: same, last: same }, false))).toEqual([{ label: 'result (best iterate, the last one)', point: same }]);
    const html = reportHtml({ title: 't', source: root, runs: [run('old', { game: 'sis' }, false)], charts: [], generated: new Date(0) });
    expect(finalRows(html).map((row) => row.slice(0, 4))).toEqual([['old', 'last curve point', '1', sig(2)]]);
  });
});
