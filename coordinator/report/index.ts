// `m3fg report DIR`: DIR/report/index.html (self-contained: inline SVG charts, no scripts, nothing fetched)
// and DIR/report/<chart>.png, for a results directory or a folder of results directories.
//
// Steps: find and read the runs (data.ts), build the Vega-Lite specs (charts.ts), render each to SVG and PNG
// (render.ts), write the page (html.ts). Files are written atomically; a failure throws (ReportError for bad
// input). After a solve, `reportAfterSolve` turns a failure into a warning instead.

import { hashReady } from '../policy-file.ts';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { ensureDir, writeFileAtomic } from '../results.ts';
import { builtinGames } from '../../shared/games/index.ts';
import { isGamePath, resolveGameFamily } from '../../shared/game-source.ts';
import { buildCharts, type Chart } from './charts.ts';
import { loadRuns, type RunData } from './data.ts';
import { toCsv } from './csv.ts';
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

export interface ReportOptions {
  /** Charts to show instead of the standard ones (the paper experiment's figures); built from the runs. */
  charts?: (runs: RunData[]) => Chart[];
  /** Page title (default: "m3fg report: <folder>"). */
  title?: string;
}

export async function writeReport(dir: string, options: ReportOptions = {}): Promise<ReportResult> {
  await hashReady;
  const runs = loadRuns(dir);
  await attachLabels(runs);
  // loaded here, not at the top: Vega takes most of a second to import, which every other CLI call would pay
  const { renderSvg, svgToPng } = await import('./render.ts');
  const charts = options.charts ? options.charts(runs) : buildCharts(runs);
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
    const csv = `${chart.id}.csv`;
    writeFileAtomic(join(out, png), svgToPng(svg));
    writeFileAtomic(join(out, csv), toCsv(chart.rows));
    rendered.push({ id: chart.id, title: chart.title, caption: chart.caption, section: chart.section, svg, png, csv });
  }
  // files of charts an earlier report had but this one has not (a run removed, a renamed run) would mislead
  const current = new Set(rendered.flatMap((c) => [c.png, c.csv]));
  for (const name of readdirSync(out)) if (/\.(png|csv)$/.test(name) && !current.has(name)) rmSync(join(out, name));

  const source = resolve(dir);
  const title =
    options.title ??
    (runs.length === 1 && runs[0].name === '.' ? `m3fg report: ${basename(source)}` : `m3fg report: ${basename(source)} (${runs.length} runs)`);
  const html = join(out, 'index.html');
  writeFileAtomic(html, reportHtml({ title, source, runs, charts: rendered, generated: new Date() }));
  return { dir: out, html, pngs: rendered.map((c) => join(out, c.png)), charts: rendered.length, runs: runs.length };
}

/**
 * State and action names from each run's game module (GameFamily.labels): built-in games by name, a user's
 * module by the path run.json recorded. A module that no longer loads leaves its states numbered.
 */
async function attachLabels(runs: RunData[]): Promise<void> {
  const cache = new Map<string, RunData['labels']>();
  for (const run of runs) {
    const game = run.info.game;
    if (typeof game !== 'string') continue;
    if (!cache.has(game)) {
      let labels: RunData['labels'];
      if (Object.hasOwn(builtinGames, game)) labels = builtinGames[game].labels;
      else if (isGamePath(game) && existsSync(game)) {
        try {
          labels = (await resolveGameFamily(game, async (p) => (await import(pathToFileURL(resolve(p)).href)) as Record<string, unknown>)).labels;
        } catch {
          labels = undefined;
        }
      }
      cache.set(game, labels);
    }
    run.labels = cache.get(game);
  }
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
