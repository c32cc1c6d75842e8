// `m3fg report DIR`: DIR/report/index.html (self-contained: inline SVG charts, no scripts, nothing fetched)
// and DIR/report/<chart>.png, for a results directory or a folder of results directories.
//
// Steps: find and read the runs (data.ts), build the Vega-Lite specs (charts.ts), render each to SVG and PNG
// (render.ts), write the page (html.ts). Files are written atomically; a failure throws (ReportError for bad
// input). After a solve, `reportAfterSolve` turns a failure into a warning instead.

import { readdirSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ensureDir, writeFileAtomic } from '../results.ts';
import { buildCharts } from './charts.ts';
import { loadRuns } from './data.ts';
import { reportHtml, type RenderedChart } from './html.ts';

export { ReportError } from './data.ts';

export interface ReportResult {
  /** DIR/report */
  dir: string;
  html: string;
  pngs: string[];
  charts: number;
  runs: number;
}

export function reportDir(dir: string): string {
  return join(dir, 'report');
}

export async function writeReport(dir: string): Promise<ReportResult> {
  const runs = loadRuns(dir);
  // loaded here, not at the top: Vega takes most of a second to import, which every other CLI call would pay
  const { renderSvg, svgToPng } = await import('./render.ts');
  const charts = buildCharts(runs);
  const out = reportDir(dir);
  ensureDir(out);
  const rendered: RenderedChart[] = [];
  for (const chart of charts) {
    let svg: string;
    try {
      svg = await renderSvg(chart.spec);
    } catch (err) {
      throw new Error(`report: chart '${chart.id}': ${(err as Error).message}`, { cause: err });
    }
    const png = `${chart.id}.png`;
    writeFileAtomic(join(out, png), svgToPng(svg));
    rendered.push({ id: chart.id, title: chart.title, caption: chart.caption, svg, png });
  }
  // PNGs of charts an earlier report had but this one has not (a run removed, a renamed run) would mislead
  const current = new Set(rendered.map((c) => c.png));
  for (const name of readdirSync(out)) if (name.endsWith('.png') && !current.has(name)) rmSync(join(out, name));

  const source = resolve(dir);
  const title = runs.length === 1 && runs[0].name === '.' ? `m3fg report: ${basename(source)}` : `m3fg report: ${basename(source)} (${runs.length} runs)`;
  const html = join(out, 'index.html');
  writeFileAtomic(html, reportHtml({ title, source, runs, charts: rendered, generated: new Date() }));
  return { dir: out, html, pngs: rendered.map((c) => join(out, c.png)), charts: rendered.length, runs: runs.length };
}

/** The report at the end of `m3fg solve`: never fails the solve, logs a warning instead. */
export async function reportAfterSolve(dir: string, logger: Logger): Promise<ReportResult | undefined> {
  const started = performance.now();
  try {
    const result = await writeReport(dir);
    logger.info({ report: result.html, charts: result.charts, ms: Math.round(performance.now() - started) }, 'report written');
    return result;
  } catch (err) {
    logger.warn({ err, dir }, `report not written: ${(err as Error).message}`);
    return undefined;
  }
}
