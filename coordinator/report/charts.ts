// Vega-Lite specifications of the report's charts, built from the runs' data. Pure: no I/O, no rendering.
//
//   exploitability   major, minor and total exploitability vs iteration (paper, Figures 1 and 2); log y axis
//   start values     best-response vs policy value at the initial state, major and minor, vs iteration
//   bins             the result's exploitability vs grid bins M, when the runs differ in M (paper, Figure 3)
//   policy heatmaps  for nX = 2: the probability of the last action over time t and the cell's mu(1), one panel
//                    per (x, x0) for the minor policy and per x0 for the major policy (paper, Figure 5 a-d)

import type { TopLevelSpec } from 'vega-lite';
import type { ReportCurvePoint, RunData } from './data.ts';
import { runIterates } from './iterates.ts';
import { actionLabel, name, stateLabel } from './labels.ts';
import { configLabel } from './variant.ts';

export interface Chart {
  /** File-name stem of the PNG and id of the figure in the page. */
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
  /** The chart's data, written beside its PNG as CSV. */
  rows: Array<Record<string, unknown>>;
  /** A heading the page groups charts under (the paper experiment's figures). */
  section?: string;
}

/** At most this many points per curve are drawn (every k-th point, and the last). */
export const MAX_CURVE_POINTS = 2000;
/** At most this many rectangles per heatmap chart (about 100 bytes of SVG each); beyond it, blocks of time
 *  steps or cells are averaged. */
export const HEATMAP_RECT_BUDGET = 12000;

const FONT = 'DejaVu Sans';
/** Okabe & Ito's colour-blind-safe palette (yellow last: faint on white). */
export const OKABE_ITO = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
export const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: '#cccccc' },
  range: { category: OKABE_ITO },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const },
  header: { labelFontSize: 12, titleFontSize: 12, labelLimit: 300 },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const, labelLimit: 520, titleLimit: 520 },
  title: { fontSize: 14, anchor: 'start' as const, subtitleFontSize: 11 },
};
export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Legends of charts with many series go below the plot, in columns, so they never widen the chart. */
export const BOTTOM_LEGEND = { orient: 'bottom' as const, direction: 'vertical' as const, columns: 2, labelLimit: 420 };
const ITERATION_AXIS = {
  field: 'iteration',
  type: 'quantitative' as const,
  title: 'iteration',
  axis: { format: 'd', tickMinStep: 1 },
};

export interface BuildChartsOptions {
  /** A study's own charts, first (e.g. the sweep's final numbers per swept setting). */
  lead?: Chart[];
  /** Draw the exploitability curves only for 1..maxCurves runs (more lines are unreadable); default: always. */
  maxCurves?: number;
  /** The start values, bins and per-run policy charts (default true). */
  perRun?: boolean;
}

export function buildCharts(runs: RunData[], options: BuildChartsOptions = {}): Chart[] {
  const charts: Chart[] = [...(options.lead ?? [])];
  const { maxCurves } = options;
  if (maxCurves === undefined || (runs.length > 0 && runs.length <= maxCurves)) charts.push(exploitabilityChart(runs));
  if (options.perRun !== false) {
    charts.push(startValuesChart(runs));
    const bins = binsChart(runs);
    if (bins) charts.push(bins);
    for (const run of runs) charts.push(...policyHeatmaps(run, runs.length > 1 ? run.name : undefined));
  }
  // run names that slug alike ('a/b', 'a_b') must not overwrite each other's PNG
  const seen = new Set<string>();
  for (const chart of charts) {
    let id = chart.id;
    for (let k = 2; seen.has(id); k++) id = `${chart.id}-${k}`;
    seen.add(id);
    chart.id = id;
  }
  return charts;
}

/** Every k-th point and the last, so that a curve has at most `max` points. */
export function thin<T>(points: readonly T[], max = MAX_CURVE_POINTS): T[] {
  if (points.length <= max) return [...points];
  const stride = Math.ceil(points.length / (max - 1));
  const out = points.filter((_, i) => i % stride === 0);
  if ((points.length - 1) % stride !== 0) out.push(points[points.length - 1]);
  return out;
}

// ---------------------------------------------------------------------------------------------- curves

export function exploitabilityChart(runs: RunData[]): Chart {
  const components = ['total', 'major', 'minor'] as const;
  const rows: Array<{ run: string; iteration: number; component: string; value: number | null }> = [];
  let dropped = 0;
  let allPositive = true;
  for (const run of runs) for (const p of run.curve) for (const c of components) if (!(p.exploitability[c] > 0)) allPositive = false;
  for (const run of runs) {
    for (const p of thin(run.curve)) {
      for (const c of components) {
        const v = p.exploitability[c];
        // a log axis cannot show 0 or a rounding-level negative value: leave a gap there and say so
        const shown = allPositive || v > 0 ? v : null;
        if (shown === null) dropped++;
        rows.push({ run: run.name, iteration: p.iteration, component: c, value: shown });
      }
    }
  }
  // no positive value at all (a game whose best responses never gain, e.g. one action): a log axis would have
  // an empty domain, so draw the values as they are on a linear axis
  const logScale = rows.some((r) => r.value !== null);
  if (!logScale) {
    rows.length = 0;
    for (const run of runs) for (const p of thin(run.curve)) for (const c of components) rows.push({ run: run.name, iteration: p.iteration, component: c, value: p.exploitability[c] });
    dropped = 0;
  }
  const y = {
    field: 'value',
    type: 'quantitative' as const,
    title: 'exploitability',
    scale: logScale ? { type: 'log' as const } : { zero: true },
  };
  const x = ITERATION_AXIS;
  const caption =
    `Exploitability of the average policy before each iteration: major (the major player's gain from a best ` +
    `response), minor (a minor player's) and total, ${logScale ? 'on a log scale' : 'on a linear scale: no value is above 0, the policies are exact equilibria'}.` +
    (dropped > 0 ? ` ${dropped} values ≤ 0 (rounding level) are left out of the log scale.` : '');
  const title = 'Exploitability';
  if (runs.length === 1) {
    return {
      id: 'exploitability',
      title,
      caption,
      rows,
      spec: {
        $schema: SCHEMA,
        config: CONFIG,
        title: `${title}: ${runTitle(runs[0])}`,
        width: 560,
        height: 300,
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: { x, y, color: { field: 'component', type: 'nominal', sort: [...components], title: null } },
      },
    };
  }
  return {
    id: 'exploitability',
    title,
    caption: `${caption} One curve per run.`,
    rows,
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      title,
      data: { values: rows },
      facet: { column: { field: 'component', type: 'nominal', sort: [...components], title: null } },
      spec: {
        width: 300,
        height: 260,
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: { x, y, color: { field: 'run', type: 'nominal', title: 'run', sort: runs.map((r) => r.name), legend: BOTTOM_LEGEND } },
      },
    },
  };
}

export function startValuesChart(runs: RunData[]): Chart {
  const rows: Array<{ run: string; iteration: number; player: string; value_of: string; value: number }> = [];
  const add = (run: RunData, p: ReportCurvePoint) => {
    rows.push({ run: run.name, iteration: p.iteration, player: 'major player', value_of: 'best response', value: p.value.majorBestResponse });
    rows.push({ run: run.name, iteration: p.iteration, player: 'major player', value_of: 'policy', value: p.value.majorPolicy });
    rows.push({ run: run.name, iteration: p.iteration, player: 'minor player', value_of: 'best response', value: p.value.minorBestResponse });
    rows.push({ run: run.name, iteration: p.iteration, player: 'minor player', value_of: 'policy', value: p.value.minorPolicy });
  };
  for (const run of runs) for (const p of thin(run.curve)) add(run, p);
  const x = ITERATION_AXIS;
  const y = { field: 'value', type: 'quantitative' as const, title: 'value at the initial state', scale: { zero: false } };
  const valueOf = { field: 'value_of', type: 'nominal' as const, title: 'value of', sort: ['best response', 'policy'] };
  const encoding =
    runs.length === 1
      ? { x, y, color: valueOf }
      : { x, y, color: { field: 'run', type: 'nominal' as const, title: 'run', sort: runs.map((r) => r.name), legend: BOTTOM_LEGEND }, strokeDash: valueOf };
  return {
    id: 'start-values',
    title: 'Start values',
    rows,
    caption:
      'Expected total reward from the initial state of the best response and of the average policy, for the major ' +
      'and a minor player; the gap between the two is the exploitability.' +
      (runs.length > 1 ? ' Colour: run; dashes: best response vs policy.' : ''),
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      title: runs.length === 1 ? `Start values: ${runTitle(runs[0])}` : 'Start values',
      data: { values: rows },
      facet: { column: { field: 'player', type: 'nominal', title: null, sort: ['major player', 'minor player'] } },
      spec: { width: 300, height: 260, mark: { type: 'line', strokeWidth: 1.5 }, encoding },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

/**
 * Final exploitability against the grid bins M, one line per configuration apart from M (game, algorithm,
 * every variant setting, iterations, overrides): runs of different variants or iteration counts are never
 * joined. Only where some configuration was run at two or more M.
 */
export function binsChart(runs: RunData[]): Chart | undefined {
  const finished = runs.filter((r) => !r.inProgress && runIterates(r).length > 0 && typeof r.info.bins === 'number');
  const seriesOf = (r: RunData) => configLabel(r.info, { bins: false });
  const binsBySeries = new Map<string, Set<number>>();
  for (const r of finished) {
    const key = seriesOf(r);
    if (!binsBySeries.has(key)) binsBySeries.set(key, new Set());
    binsBySeries.get(key)!.add(r.info.bins as number);
  }
  if (![...binsBySeries.values()].some((b) => b.size >= 2)) return undefined;
  const rows = finished.flatMap((r) => {
    const result = runIterates(r)[0].point; // the written policies (best iterate), not the last curve point
    const series = seriesOf(r);
    return (['major', 'minor'] as const).map((c) => ({ series, run: r.name, bins: r.info.bins as number, component: c, value: result.exploitability[c] }));
  });
  rows.sort((a, b) => a.bins - b.bins);
  return {
    id: 'bins',
    title: 'Exploitability vs grid bins',
    rows,
    caption: 'Exploitability of each run\'s result (the written policies: the best iterate, or the last with --keep last) against its mean-field grid bins M per dimension (as Figure 3 of the paper).',
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      title: 'Final exploitability vs grid bins M',
      data: { values: rows },
      facet: { column: { field: 'component', type: 'nominal', title: null, sort: ['major', 'minor'] } },
      spec: {
        width: 300,
        height: 240,
        mark: { type: 'line', point: true, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'bins', type: 'quantitative', title: 'grid bins M', scale: { zero: false, padding: 12 }, axis: { format: 'd', tickMinStep: 1 } },
          y: { field: 'value', type: 'quantitative', title: 'exploitability of the result', scale: { zero: false, padding: 12 } },
          color: { field: 'series', type: 'nominal', title: 'configuration (all but M)', legend: BOTTOM_LEGEND },
        },
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

// -------------------------------------------------------------------------------------------- heatmaps

export interface HeatmapRect {
  panel: string;
  t0: number;
  t1: number;
  y0: number;
  y1: number;
  p: number;
}

export interface HeatmapGrid {
  rects: HeatmapRect[];
  /** Time steps and cells averaged into one rectangle (1 = none). */
  timeBlock: number;
  cellBlock: number;
}

/** Probabilities are drawn to this resolution (a colour scale has fewer levels); equal neighbours merge. */
const LEVELS = 1000;

/**
 * Rectangles of a policy heatmap: for every panel, time step t (x from t to t+1) and cell (y around the cell's
 * mu(1), halfway to its neighbours), the probability `prob(panel, t, cell)` rounded to 1/LEVELS; neighbouring
 * cells of one time step with the same rounded value make one rectangle. Beyond `budget` rectangles in all,
 * blocks of consecutive time steps (and, if that is not enough, of neighbouring cells) are averaged.
 */
export function heatmapGrid(
  panels: readonly string[],
  T: number,
  mu1: ArrayLike<number>,
  prob: (panel: number, t: number, cell: number) => number,
  budget = HEATMAP_RECT_BUDGET,
): HeatmapGrid {
  const cells = mu1.length;
  const order = Array.from({ length: cells }, (_, c) => c).sort((a, b) => mu1[a] - mu1[b] || a - b);
  const v = order.map((c) => mu1[c]);
  // edges[i]..edges[i+1] is the band of the i-th cell in mu(1) order
  const edges = new Array<number>(cells + 1);
  for (let i = 1; i < cells; i++) edges[i] = (v[i - 1] + v[i]) / 2;
  edges[0] = cells > 1 ? Math.max(0, v[0] - (v[1] - v[0]) / 2) : 0;
  edges[cells] = cells > 1 ? Math.min(1, v[cells - 1] + (v[cells - 1] - v[cells - 2]) / 2) : 1;

  const build = (timeBlock: number, cellBlock: number): HeatmapRect[] => {
    const rects: HeatmapRect[] = [];
    panels.forEach((panel, k) => {
      for (let ta = 0; ta < T; ta += timeBlock) {
        const tb = Math.min(T, ta + timeBlock);
        let open: HeatmapRect | undefined;
        for (let ia = 0; ia < cells; ia += cellBlock) {
          const ib = Math.min(cells, ia + cellBlock);
          let sum = 0;
          for (let t = ta; t < tb; t++) for (let i = ia; i < ib; i++) sum += prob(k, t, order[i]);
          const p = Math.round((sum / ((tb - ta) * (ib - ia))) * LEVELS) / LEVELS;
          if (open && open.p === p) {
            open.y1 = edges[ib];
          } else {
            open = { panel, t0: ta, t1: tb, y0: edges[ia], y1: edges[ib], p };
            rects.push(open);
          }
        }
      }
    });
    return rects;
  };
  let timeBlock = 1;
  let cellBlock = 1;
  for (;;) {
    const rects = build(timeBlock, cellBlock);
    if (rects.length <= budget || (timeBlock >= T && cellBlock >= cells)) return { rects, timeBlock, cellBlock };
    // coarsen the finer direction first, in steps of about 25%
    const columns = Math.ceil(T / timeBlock);
    const rows = Math.ceil(cells / cellBlock);
    if ((columns >= rows && timeBlock < T) || cellBlock >= cells) timeBlock = Math.max(timeBlock + 1, Math.ceil(timeBlock * 1.25));
    else cellBlock = Math.max(cellBlock + 1, Math.ceil(cellBlock * 1.25));
    timeBlock = Math.min(timeBlock, T);
    cellBlock = Math.min(cellBlock, cells);
  }
}

/** The minor and major policy heatmaps of one run, or none when nX != 2 or the run has no policies. */
export function policyHeatmaps(run: RunData, runLabel?: string): Chart[] {
  const pol = run.policies;
  if (!pol || pol.header.sizes.nX !== 2) return [];
  const { T, nX, nU, nX0, nU0, cells } = pol.header.sizes;
  const game = run.labels;
  const mu1 = Array.from({ length: cells }, (_, c) => pol.gridPoints[c * nX + 1]);
  const suffix = runLabel ? `-${slug(runLabel)}` : '';
  const forRun = runLabel ? ` (${runLabel})` : '';
  const columns = nX0 <= 4 ? nX0 : 4;

  const minorPanels: string[] = [];
  const minorIndex: Array<{ x: number; x0: number }> = [];
  for (let x = 0; x < nX; x++) {
    for (let x0 = 0; x0 < nX0; x0++) {
      minorPanels.push(`${stateLabel(game, 'x', x)}, ${stateLabel(game, 'x0', x0)}`);
      minorIndex.push({ x, x0 });
    }
  }
  const u = nU - 1;
  const minor = heatmapGrid(minorPanels, T, mu1, (k, t, c) => {
    const { x, x0 } = minorIndex[k];
    return pol.minorPolicy[(((t * nX0 + x0) * cells + c) * nX + x) * nU + u];
  });
  const majorPanels = Array.from({ length: nX0 }, (_, x0) => stateLabel(game, 'x0', x0));
  const u0 = nU0 - 1;
  const major = heatmapGrid(majorPanels, T, mu1, (x0, t, c) => pol.majorPolicy[((t * nX0 + x0) * cells + c) * nU0 + u0]);

  const minorAction = actionLabel(game, 'u', u);
  const majorAction = actionLabel(game, 'u0', u0);
  const yTitle = `μ(${name(game, 'x', 1) ?? 1}) of the grid cell`;
  return [
    {
      id: `policy-minor${suffix}`,
      title: `Minor policy${forRun}`,
      rows: minor.rects as unknown as Array<Record<string, unknown>>,
      caption:
        `Probability that a minor player in state x takes ${minorAction}, over time t and the mean field μ(1) ` +
        `of the grid cell, one panel per (x, x0) (as Figure 5 of the paper). The policy is defined in every state and cell, also where ` +
        `the run puts no mass.` + blockNote(minor),
      spec: heatmapSpec(`Minor policy: P(${minorAction})${forRun}`, minor, minorPanels, columns, T, yTitle, `P(u = ${u})`),
    },
    {
      id: `policy-major${suffix}`,
      title: `Major policy${forRun}`,
      rows: major.rects as unknown as Array<Record<string, unknown>>,
      caption:
        `Probability that the major player in state x0 takes ${majorAction}, over time t and the mean field μ(1) ` +
        `of the grid cell, one panel per x0.` + blockNote(major),
      spec: heatmapSpec(`Major policy: P(${majorAction})${forRun}`, major, majorPanels, columns, T, yTitle, `P(u0 = ${u0})`),
    },
  ];
}

function heatmapSpec(
  title: string,
  grid: HeatmapGrid,
  panels: string[],
  columns: number,
  T: number,
  yTitle: string,
  legendTitle: string,
): TopLevelSpec {
  const size = panels.length > 4 ? 170 : 250;
  const color = { field: 'p', type: 'quantitative' as const, scale: { domain: [0, 1], scheme: 'viridis' } };
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title,
    data: { values: grid.rects },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels, header: { labelLimit: size } },
    columns,
    // lay the panels out by their plot areas: a wide panel header must not push a panel away from its axis
    bounds: 'flush',
    spacing: { row: 34, column: 24 },
    spec: {
      width: size,
      height: Math.round(size * 0.8),
      // a thin stroke in the fill colour closes the anti-aliasing seams between neighbouring rectangles
      transform: [{ calculate: 'datum.p', as: 'edge' }],
      mark: { type: 'rect', strokeWidth: 0.6, aria: false },
      encoding: {
        x: { field: 't0', type: 'quantitative', title: 'time t', scale: { domain: [0, T], nice: false, zero: true } },
        x2: { field: 't1' },
        y: { field: 'y0', type: 'quantitative', title: yTitle, scale: { domain: [0, 1], nice: false } },
        y2: { field: 'y1' },
        color: { ...color, title: legendTitle, legend: { gradientLength: 160 } },
        // a field of its own: a legend-less stroke on field p would take the colour legend with it
        stroke: { ...color, field: 'edge', legend: null },
      },
    },
  };
}

function blockNote(grid: HeatmapGrid): string {
  const parts: string[] = [];
  if (grid.timeBlock > 1) parts.push(`${grid.timeBlock} consecutive time steps`);
  if (grid.cellBlock > 1) parts.push(`${grid.cellBlock} neighbouring cells`);
  return parts.length ? ` Each rectangle averages ${parts.join(' and ')} to keep the page small.` : '';
}

function runTitle(run: RunData): string {
  return run.info.game !== undefined || run.info.algorithm !== undefined ? configLabel(run.info) : run.name;
}

/** A file-name-safe form of a run name. */
export function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+|_+$/g, '') || 'run';
}
