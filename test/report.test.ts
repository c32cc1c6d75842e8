// `m3fg report` end to end: results written by `m3fg solve` (which writes its own report) and by the library,
// the report of the folder from the CLI, then both pages opened in headless Chromium (Debian's, driven by
// playwright-core) with every request outside the report refused: no console errors, one <svg> per chart, and
// a PNG next to the page for every chart that decodes and is not blank.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { chromium, type BrowserContext } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCheckpoint } from '../coordinator/checkpoint.ts';
import { arraySource } from '../shared/table-source.ts';
import { heatmapGrid } from '../coordinator/report/charts.ts';
import { reportAfterSolve, writeReport } from '../coordinator/report/index.ts';
import { loadRuns } from '../coordinator/report/data.ts';
import { runIterates } from '../coordinator/report/html.ts';
import { readPolicies } from '../coordinator/results.ts';
import { sis } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { compactSvg } from '../coordinator/report/render.ts';
import { parseSolveFlags } from '../coordinator/options.ts';
import { runSolve } from '../coordinator/run-solve.ts';
import { runCli } from './helpers/cli.ts';

const CHROMIUM = process.env.M3FG_CHROMIUM ?? '/usr/bin/chromium';
// as .library/env/machines/node.md: without the background-networking flags Chromium dials out at every start
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let root: string;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'm3fg-report-'));
  // a: through the CLI, so that solve's own report is covered
  const a = runCli(['solve', '--game', 'sis', '--bins', '10', '--iterations', '5', '--out', join(root, 'runs', 'a'), '--quiet']);
  expect(a.stderr).toBe('');
  expect(a.code).toBe(0);
  // b: the same configuration on a finer grid (the bins chart); c: another game with an override, FPI, three major actions
  await runSolve(parseSolveFlags({ game: 'sis', bins: '12', iterations: '5', out: join(root, 'runs', 'b') }), { logger: silent });
  await runSolve(
    parseSolveFlags({ game: 'advertisement', algorithm: 'fpi', bins: '8', iterations: '3', param: ['change=0.4'], out: join(root, 'runs', 'c') }),
    { logger: silent },
  );
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('m3fg report', () => {
  it('solve writes the report of its own run: the page and a PNG per chart', () => {
    const dir = join(root, 'runs', 'a', 'report');
    expect(readdirSync(dir).sort()).toEqual([
      'exploitability.csv', 'exploitability.png', 'index.html', 'policy-major.csv', 'policy-major.png', 'policy-minor.csv',
      'policy-minor.png', 'start-values.csv', 'start-values.png',
    ]);
  });

  it('m3fg report DIR on a folder of runs writes DIR/report with the curves overlaid and every run in the table', () => {
    const res = runCli(['report', join(root, 'runs')]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(join(root, 'runs', 'report', 'index.html'));
    expect(res.stdout).toContain('3 runs, 9 charts');
    const html = readFileSync(join(root, 'runs', 'report', 'index.html'), 'utf8');
    for (const text of ['advertisement', 'fpi', 'change=0.4', 'Final exploitability vs grid bins M', 'favour company 2']) expect(html).toContain(text);
    expect(pngs(join(root, 'runs', 'report'))).toEqual([
      'bins.png',
      'exploitability.png',
      'policy-major-a.png',
      'policy-major-b.png',
      'policy-major-c.png',
      'policy-minor-a.png',
      'policy-minor-b.png',
      'policy-minor-c.png',
      'start-values.png',
    ]);
  }, 60_000);

  it('a directory without results is one line on stderr and exit status 2', () => {
    const empty = mkdtempSync(join(root, 'empty-'));
    const res = runCli(['report', empty]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`m3fg: ${empty}: no results found (expected curve.json and run.json, or checkpoint.bin, here or in a folder below)\n`);
    expect(existsSync(join(empty, 'report'))).toBe(false);
  }, 30_000);

  it('opens in headless Chromium without errors or network, with one <svg> per chart, and every PNG decodes and is not blank', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium) or set M3FG_CHROMIUM`);
    }
    const single = join(root, 'runs', 'a', 'report');
    const folder = join(root, 'runs', 'report');
    if (!existsSync(join(folder, 'index.html'))) await writeReport(join(root, 'runs'));
    const profile = mkdtempSync(join(root, 'chromium-profile-'));
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
      for (const [dir, charts] of [
        [single, 4],
        [folder, 9],
      ] as const) {
        const page = await context.newPage();
        const problems: string[] = [];
        const outside: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        const pageUrl = pathToFileURL(join(dir, 'index.html')).href;
        await page.route('**/*', (route) => {
          const url = route.request().url();
          if (url === pageUrl) return route.continue();
          outside.push(url);
          return route.abort();
        });
        await page.goto(pageUrl, { waitUntil: 'load' });
        const figures = page.locator('figure');
        const drawn: boolean[] = [];
        for (const svg of await page.locator('figure > svg').all()) {
          const box = await svg.boundingBox();
          drawn.push(box !== null && box.width > 100 && box.height > 100 && (await svg.locator('path').count()) > 10);
        }
        const ids = await page.locator('[id]').evaluateAll((elements) => elements.map((e) => e.id));
        const found = {
          figures: await figures.count(),
          svgs: await page.locator('figure > svg').count(),
          drawn: drawn.filter(Boolean).length,
          pngLinks: await page.locator('figure figcaption a[href$=".png"]').evaluateAll((links) => links.map((a) => a.getAttribute('href'))),
          csvLinks: await page.locator('figure figcaption a[href$=".csv"]').evaluateAll((links) => links.map((a) => a.getAttribute('href'))),
          duplicateIds: ids.filter((id, i) => ids.indexOf(id) !== i),
          tableRows: await page.locator('table tbody tr').count(),
        };
        expect(problems).toEqual([]);
        expect(outside).toEqual([]);
        expect(found.figures).toBe(charts);
        expect(found.svgs).toBe(charts);
        expect(found.drawn).toBe(charts);
        expect(found.duplicateIds).toEqual([]);
        // the settings table (a row per run) and the final numbers (the result, and the last iterate when it is another one)
        const runs = loadRuns(dir === single ? join(root, 'runs', 'a') : join(root, 'runs'));
        expect(found.tableRows).toBe(runs.length + runs.reduce((n, r) => n + runIterates(r).length, 0));
        expect([...found.pngLinks].sort()).toEqual(pngs(dir));
        // every chart's data beside its PNG
        expect([...found.csvLinks].sort()).toEqual(pngs(dir).map((p) => p.replace(/\.png$/, '.csv')));
        for (const name of pngs(dir)) expectNonBlankPng(join(dir, name));
        await page.close();
      }
    } finally {
      await context?.close();
    }
  }, 60_000);
});

describe('report pieces', () => {
  it('a run in progress is reported from its checkpoint.bin', async () => {
    const dir = mkdtempSync(join(root, 'checkpoint-'));
    const { tables } = readPolicies(join(root, 'runs', 'a', 'policies.bin'));
    const curve = JSON.parse(readFileSync(join(root, 'runs', 'a', 'curve.json'), 'utf8'));
    const problem = new Problem(buildGame(sis, {}), 10);
    const id = {
      game: 'sis', params: {}, bins: 10, algorithm: 'fp' as const, iterations: 50, checkpointEvery: 1, grid: 'midpoint' as const,
      horizon: 'finite' as const, discount: 0.99, tolerance: 1e-5, softmax: false, temperature: 0.1, inner: 1,
    };
    await writeCheckpoint(dir, problem, { minorPolicy: arraySource(tables.minorPolicy), majorPolicy: arraySource(tables.majorPolicy) }, id, 3, curve);
    const result = await writeReport(dir);
    expect(result.charts).toBe(4);
    const html = readFileSync(result.html, 'utf8');
    expect(html).toContain('(in progress, from checkpoint.bin)');
    expect(html).toContain('3 of 50');
  }, 30_000);

  it('after a solve, a report failure is a warning, not an error', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    const empty = mkdtempSync(join(root, 'no-results-'));
    await expect(reportAfterSolve(empty, logger)).resolves.toBeUndefined();
    expect(warnings).toEqual([`report not written: ${empty}: no results found (expected curve.json and run.json, or checkpoint.bin, here or in a folder below)`]);
  });

  it('heatmapGrid: one rectangle per time step and cell run of equal value, bands halfway between grid points', () => {
    const mu1 = [0.75, 0.25]; // cells in lexicographic order of mu(0): mu(1) descending
    const { rects, timeBlock, cellBlock } = heatmapGrid(['p'], 2, mu1, (_, t, c) => (t === 0 ? c : 0.5));
    expect({ timeBlock, cellBlock }).toEqual({ timeBlock: 1, cellBlock: 1 });
    expect(rects).toEqual([
      { panel: 'p', t0: 0, t1: 1, y0: 0, y1: 0.5, p: 1 },
      { panel: 'p', t0: 0, t1: 1, y0: 0.5, y1: 1, p: 0 },
      { panel: 'p', t0: 1, t1: 2, y0: 0, y1: 1, p: 0.5 },
    ]);
  });

  it('heatmapGrid: beyond the budget, blocks are averaged', () => {
    const mu1 = Array.from({ length: 10 }, (_, c) => 1 - (c + 0.5) / 10);
    const { rects, timeBlock } = heatmapGrid(['p'], 100, mu1, (_, t, c) => ((t * 7 + c * 3) % 11) / 10, 300);
    expect(rects.length).toBeLessThanOrEqual(300);
    expect(timeBlock).toBeGreaterThan(1);
    expect(rects[0].t1 - rects[0].t0).toBe(timeBlock);
  });

  it('compactSvg rounds coordinates to 1/100 pixel and leaves text alone', () => {
    expect(compactSvg('<path d="M0,196.66666666666666h3.3333333333333335v-0.004Z"/><text x="1.23456">0.123456</text>')).toBe(
      '<path d="M0,196.67h3.33v0Z"/><text x="1.23">0.123456</text>',
    );
  });
});

function pngs(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort();
}

function expectNonBlankPng(path: string) {
  const png = PNG.sync.read(readFileSync(path));
  expect(png.width, path).toBeGreaterThan(200);
  expect(png.height, path).toBeGreaterThan(100);
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length && colours.size < 3; i += 4 * 7) colours.add(png.data.readUInt32BE(i));
  expect(colours.size, `${path}: all pixels one colour`).toBeGreaterThanOrEqual(3);
}
