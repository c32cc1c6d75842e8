// The combined report of a sweep, DIR/report/: per swept setting, the exploitability and both objectives
// (policy values at the initial state) of each run's result (the written policies, run.json `result`) against
// it, one line per combination of the other swept settings; then every run's exploitability curve (when there
// are few enough to read). The page and the
// rendering are the report's own (coordinator/report/): runs table, inline SVG, a PNG per chart.

import { resolve, basename } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { buildCharts, CONFIG, type Chart } from './report/charts.ts';
import { writeReport } from './report/index.ts';
import type { FinalNumbers } from './jobs/spec.ts';
import type { Axis } from './sweep.ts';

/** At most this many runs' curves in the curves chart (beyond it the lines are unreadable). */
const MAX_CURVES = 24;

export interface SweepPoint {
  /** Axis name to value (flag text). */
  point: Record<string, string>;
  final?: FinalNumbers;
}

const MEASURES = ['exploitability of the result', 'major objective', 'minor objective'] as const;

function axisLabel(a: Axis): string {
  return a.flag === 'bins' ? 'grid bins M' : a.flag === 'param' ? `parameter ${a.name}` : a.name;
}

function shortValue(a: Axis, v: string): string {
  if (a.flag === 'game' || a.flag === 'algorithm') return v;
  if (a.flag === 'bins') return `M=${v}`;
  return `${a.name}=${v}`;
}

/** One chart per swept setting (an axis with at least two values). */
export function sweepCharts(axes: Axis[], points: SweepPoint[]): Chart[] {
  const swept = axes.filter((a) => a.values.length >= 2);
  const charts: Chart[] = [];
  for (const axis of swept) {
    const others = swept.filter((a) => a !== axis);
    const rows = points
      .filter((p) => p.final)
      .flatMap((p) => {
        const series = others.map((o) => shortValue(o, p.point[o.name])).join(' ') || 'all runs';
        const x = axis.numeric ? Number(p.point[axis.name]) : p.point[axis.name];
        const f = p.final!;
        const values = [f.exploitability, f.majorObjective, f.minorObjective];
        return MEASURES.map((measure, i) => ({ x, series, measure, value: values[i] ?? null }));
      });
    const title = `Final numbers vs ${axisLabel(axis)}`;
    charts.push({
      id: `sweep-${axis.name.replace(/[^A-Za-z0-9_-]/g, '_')}`,
      title,
      rows,
      caption: `Exploitability and the major and minor objectives (policy values at the initial state) of each run's result (the written policies: the best iterate, or the last with --keep last) against ${axisLabel(axis)}; one line per combination of the other swept settings.`,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        config: CONFIG,
        title,
        data: { values: rows },
        facet: { column: { field: 'measure', type: 'nominal', title: null, sort: [...MEASURES] } },
        spec: {
          width: 260,
          height: 220,
          mark: { type: 'line', point: true, strokeWidth: 1.5 },
          encoding: {
            x: axis.numeric
              ? { field: 'x', type: 'quantitative', title: axisLabel(axis), scale: { zero: false, padding: 12 } }
              : { field: 'x', type: 'ordinal', title: axisLabel(axis), sort: axis.values },
            y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false, padding: 12 } },
            color: { field: 'series', type: 'nominal', title: others.map(axisLabel).join(', ') || null, legend: { titleLimit: 400 } },
          },
        },
        resolve: { scale: { y: 'independent' } },
      } as TopLevelSpec,
    });
  }
  return charts;
}

/** Writes DIR/report (index.html, a PNG and a CSV per chart) for the sweep's finished runs; returns the page's path. */
export async function writeSweepReport(root: string, axes: Axis[], points: SweepPoint[], runDirs: string[]): Promise<{ html: string; pngs: string[] }> {
  const count = runDirs.length;
  const { html, pngs } = await writeReport(root, {
    title: `m3fg sweep: ${basename(resolve(root))} (${count} runs)`,
    charts: (runs) => buildCharts(runs, { lead: sweepCharts(axes, points), maxCurves: MAX_CURVES, perRun: false }),
  });
  return { html, pngs };
}
