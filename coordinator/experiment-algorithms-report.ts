// The algorithm study's report: per game one Vega-Lite chart (total exploitability on a log scale against wall
// seconds and against iterations, one line per method), rendered to SVG/PNG, and the table of the lowest total
// exploitability within 10 s and 60 s, in one self-contained HTML page.

import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { ensureDir, writeFileAtomic } from './results.ts';
import { thin } from './report/charts.ts';
import { text } from './report/html.ts';
import { renderSvg, svgToPng } from './report/render.ts';
import type { StudyRunInfo, TableRow, Trace } from './experiment-algorithms.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** One game's chart: total exploitability (log) against seconds and against iterations. */
export function studyChart(game: string, traces: readonly Trace[]): TopLevelSpec {
  const rows = traces
    .filter((t) => t.game === game)
    .flatMap((t) => thin(t.points, 600).filter((p) => p.total > 0).map((p) => ({ method: t.label, iteration: p.iteration, seconds: p.seconds, total: p.total })));
  const bins = traces.find((t) => t.game === game)?.bins;
  const y = { field: 'total', type: 'quantitative' as const, title: 'total exploitability', scale: { type: 'log' as const } };
  const color = { field: 'method', type: 'nominal' as const, title: 'method', scale: { scheme: 'tableau20' }, sort: traces.filter((t) => t.game === game).map((t) => t.label) };
  const panel = (x: 'seconds' | 'iteration', title: string) => ({
    width: 380,
    height: 280,
    mark: { type: 'line' as const, strokeWidth: 1.3, clip: true },
    encoding: { x: { field: x, type: 'quantitative' as const, title }, y, color },
  });
  return {
    $schema: SCHEMA,
    title: `${game}, M = ${bins}: total exploitability`,
    data: { values: rows },
    hconcat: [panel('seconds', 'wall seconds (noisy: shared machine)'), panel('iteration', 'iteration')],
  } as TopLevelSpec;
}

/** How the runs ran, for the report and table headers: what a "wall second" of the table is. */
export function studyConditions(run: Pick<StudyRunInfo, 'budget' | 'cap' | 'threads' | 'stopBelow'> & { parallel?: number }): string {
  const side = (run.parallel ?? 1) > 1 ? `, ${run.parallel} runs side by side, each on one thread` : `, one run at a time on ${run.threads} thread${run.threads === 1 ? '' : 's'}`;
  return `Each run: wall-clock budget ${run.budget} s, at most ${run.cap} iterations, stopped once its total exploitability is at most ${run.stopBelow}${side}; seconds are wall seconds of that run.`;
}

export async function writeStudyReport(out: string, traces: readonly Trace[], table: readonly TableRow[], run: StudyRunInfo & { budgets: readonly number[] }): Promise<string> {
  const dir = join(out, 'report');
  const figures = join(out, 'figures');
  ensureDir(dir);
  ensureDir(figures);
  const games = [...new Set(traces.map((t) => t.game))];
  const sections: string[] = [];
  for (const game of games) {
    const svg = await renderSvg(studyChart(game, traces));
    writeFileAtomic(join(figures, `algorithms-${game}.svg`), svg);
    writeFileAtomic(join(figures, `algorithms-${game}.png`), svgToPng(svg));
    sections.push(`<section><h2>${text(game)}</h2>${svg.replace(/^<\?xml[^>]*>/, '')}</section>`);
  }
  const head = `<tr><th>game</th><th>method</th>${run.budgets.map((s) => `<th>lowest ≤ ${s} s</th>`).join('')}<th>lowest (iteration)</th><th>iterations</th><th>seconds</th><th>stop</th></tr>`;
  const body = table
    .map((r) => {
      const cells = r.best.map((b) => `<td>${b ? `${b.total.toPrecision(3)} (it ${b.iteration})` : 'n/a'}</td>`).join('');
      return `<tr><td>${text(r.game)}</td><td>${text(r.label)}</td>${cells}<td>${r.lowest.total.toPrecision(3)} (${r.lowest.iteration})</td><td>${r.iterations}</td><td>${r.seconds.toFixed(1)}</td><td>${text(r.stopReason)}</td></tr>`;
    })
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>m3fg algorithm study</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style></head>
<body><h1>Algorithm study</h1>
<p>${text(studyConditions(run))} Wall seconds were measured on a shared machine and are noisy; the curves against
iterations are exact (deterministic). "n/a": the run was cut before that budget.</p>
${sections.join('\n')}
<h2>Lowest total exploitability</h2><table>${head}\n${body}</table>
</body></html>
`;
  const path = join(dir, 'index.html');
  writeFileAtomic(path, html);
  return path;
}
