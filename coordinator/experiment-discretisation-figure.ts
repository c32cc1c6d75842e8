// The chart of `m3fg experiment discretisation`, one per game: rows are the schemes (nearest, interpolate),
// columns the players (major, minor); x is the lattice bins M (log scale), y the objective. The black line is
// each scheme's mean-field prediction, the coloured points with 95% error bars the N-player estimates of the
// same policies (one colour per N, nudged sideways so the bars do not overlap). A prediction the finite game
// confirms runs through the bars of the large N.

import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, OKABE_ITO, SCHEMA } from './report/charts.ts';
import type { DiscretisationRow, DiscretisationSettings } from './experiment-discretisation.ts';

export function discretisationFigure(game: string, rows: DiscretisationRow[], settings: DiscretisationSettings): TopLevelSpec {
  const ns = settings.players;
  const nudge = (i: number) => 1 + 0.05 * (i - (ns.length - 1) / 2);
  const label = (r: DiscretisationRow) => ({ scheme: r.scheme, player: `${r.player} player` });
  const points = rows.flatMap((r) =>
    r.estimates.map((e) => ({ ...label(r), M: r.bins, x: r.bins * nudge(ns.indexOf(e.players)), series: `N = ${e.players}`, mean: e.mean, lo: e.mean - e.halfWidth95, hi: e.mean + e.halfWidth95 })),
  );
  const predictions = rows.map((r) => ({ ...label(r), M: r.bins, x: r.bins, series: 'mean-field prediction', mean: r.prediction, lo: r.prediction, hi: r.prediction }));
  const domain = [...ns.map((n) => `N = ${n}`), 'mean-field prediction'];
  const range = [...ns.map((_, i) => OKABE_ITO[i % (OKABE_ITO.length - 2)]), '#000000'];
  const bins = settings.bins;
  const x = {
    field: 'x', type: 'quantitative' as const, title: 'lattice bins M',
    scale: { type: 'log' as const, domain: [Math.min(...bins) * 0.85, Math.max(...bins) * 1.15], nice: false }, axis: { values: bins, format: 'd' },
  };
  const color = { field: 'series', type: 'nominal' as const, title: null, scale: { domain, range }, legend: { orient: 'bottom' as const, direction: 'horizontal' as const } };
  return {
    $schema: SCHEMA,
    config: CONFIG,
    title: {
      text: `${game}: mean-field prediction vs the finite game, nearest and interpolated`,
      subtitle: `FP ${settings.iterations[game]} iterations on the lattice grid; N-player means of ${settings.episodes[game]} episodes with 95% intervals`,
    },
    data: { values: [...points, ...predictions] },
    facet: {
      row: { field: 'scheme', type: 'nominal', title: null, sort: ['nearest', 'interpolate'] },
      column: { field: 'player', type: 'nominal', title: null, sort: ['major player', 'minor player'] },
    },
    spec: {
      width: 260,
      height: 170,
      layer: [
        {
          transform: [{ filter: "datum.series == 'mean-field prediction'" }],
          mark: { type: 'line', point: true, strokeWidth: 1.5 },
          encoding: { x, y: { field: 'mean', type: 'quantitative', title: 'objective', scale: { zero: false } }, color },
        },
        {
          transform: [{ filter: "datum.series != 'mean-field prediction'" }],
          mark: { type: 'rule', strokeWidth: 1.5 },
          encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
        },
        {
          transform: [{ filter: "datum.series != 'mean-field prediction'" }],
          mark: { type: 'point', filled: true, size: 30 },
          encoding: { x, y: { field: 'mean', type: 'quantitative' }, color },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}
