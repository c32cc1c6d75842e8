// The report page: one self-contained HTML file (inline CSS and SVG, no scripts, nothing fetched) with a
// table of the runs' settings, timings and final numbers, and one figure per chart linking its PNG copy.

import type { RunData, RunInfo } from './data.ts';
import { runIterates } from './iterates.ts';
import { variantText } from './variant.ts';

export { runIterates };

export interface RenderedChart {
  id: string;
  title: string;
  caption: string;
  /** A heading to group the chart under (charts of one section are consecutive). */
  section?: string;
  svg: string;
  png: string;
  /** The chart's data as CSV, beside the PNG. */
  csv: string;
}

export function reportHtml(opts: { title: string; source: string; runs: RunData[]; charts: RenderedChart[]; generated: Date }): string {
  const { runs, charts } = opts;
  // charts of one section flow side by side where the page is wide enough (the paper's rows of panels)
  const groups: Array<{ section?: string; html: string[] }> = [];
  charts.forEach((c, i) => {
    if (!groups.length || c.section !== groups[groups.length - 1].section) groups.push({ section: c.section, html: [] });
    const width = /<svg[^>]*\swidth="(\d+(?:\.\d+)?)"/.exec(c.svg)?.[1];
    const basis = width ? ` style="flex-basis: ${Math.ceil(Number(width))}px"` : '';
    groups[groups.length - 1].html.push(`<figure id="${attr(c.id)}"${basis}>
${namespaceIds(c.svg, `c${i + 1}-`)}
<figcaption>${text(c.caption)} <a href="${attr(c.png)}">PNG</a> · <a href="${attr(c.csv)}">data (CSV)</a></figcaption>
</figure>`);
  });
  const figures = groups
    .map((g) => (g.section === undefined ? g.html.join('\n') : `<h3>${text(g.section)}</h3>\n<div class="figs">\n${g.html.join('\n')}\n</div>`))
    .join('\n');
  const heatmapNote = runs.some((r) => r.policies && r.policies.header.sizes.nX !== 2)
    ? '<p class="note">Policy heatmaps are drawn for games with two minor states (nX = 2) only.</p>'
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${text(opts.title)}</title>
<style>
body { font-family: 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0 1em; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.45em; text-align: left; vertical-align: top; }
td:first-child { overflow-wrap: anywhere; min-width: 10em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f3f3f3; }
figure { margin: 1.5em 0; }
.figs { display: flex; flex-wrap: wrap; column-gap: 1.5em; }
.figs figure { flex: 0 1 auto; min-width: 0; margin: 1em 0; }
figure svg { display: block; max-width: 100%; height: auto; }
h3 { font-size: 1.05em; margin-top: 1.6em; }
figcaption { font-size: 0.85em; color: #444; max-width: 60em; margin-top: 0.3em; }
.note, .meta { font-size: 0.85em; color: #555; }
details { font-size: 0.85em; margin: 0.3em 0; }
</style>
</head>
<body>
<h1>${text(opts.title)}</h1>
<p class="meta">${text(opts.source)} — ${runs.length} run${runs.length === 1 ? '' : 's'}; generated ${text(opts.generated.toISOString())} by <code>m3fg report</code>.</p>
<h2>Runs</h2>
${settingsTable(runs)}
<h2>Final numbers</h2>
<p class="note">Iteration i is the policies after i updates. The result is what the run wrote (policies.bin): the best iterate (lowest total exploitability seen) or, with --keep last, the last iterate; a best-iterate run writes the last iterate to last/.</p>
${finalTable(runs)}
${paramsDetails(runs)}
<h2>Charts</h2>
${heatmapNote}
${figures}
</body>
</html>
`;
}

function settingsTable(runs: RunData[]): string {
  const head = ['run', 'game', 'algorithm', 'response', 'horizon', 'initial policy', 'grid', 'cells', 'iterations', 'executor', 'parameter overrides', 'seconds', 's / iteration'];
  const rows = runs.map((r) => {
    const i = r.info;
    const v = variantText(i);
    const done = r.curve.length;
    const count = i.iterations !== undefined && i.iterations !== done ? `${done} of ${i.iterations}` : String(done);
    const iterations = i.stopReason && i.stopReason !== 'iterations' ? `${count} (stopped: ${i.stopReason})` : count;
    const secondsPerIteration = i.secondsPerIteration ?? (i.seconds !== undefined && done > 0 ? i.seconds / done : undefined);
    return [
      cell(r.name + (r.inProgress ? ' (in progress, from checkpoint.bin)' : '')),
      cell(i.game),
      cell(v.algorithm),
      cell(v.response),
      cell(v.horizon),
      cell(v.init),
      cell(v.grid),
      num(i.sizes?.cells),
      num(iterations),
      cell(executorText(i)),
      cell(overridesText(i.overrides)),
      num(fixed(i.seconds, 3)),
      num(fixed(secondsPerIteration, 4)),
    ];
  });
  return table(head, rows);
}

/**
 * The numbers of what a run returns: its result (the best iterate with --keep best, else the last), the last
 * iterate beside it when that is another one (last/), each with its iteration (the policies after that many
 * updates). Runs without a result in run.json (in progress, or written before results were evaluated) show
 * their last curve point, which is the input of the last iteration, not the policies after it.
 */
function finalTable(runs: RunData[]): string {
  const head = [
    'run',
    'iterate',
    'iteration',
    'exploitability total',
    'major',
    'minor',
    'major value: best response',
    'major value: policy',
    'minor value: best response',
    'minor value: policy',
  ];
  const rows = runs.flatMap((r) => {
    const it = runIterates(r);
    if (it.length === 0) return [[cell(r.name), ...head.slice(1).map(() => cell('—'))]];
    return it.map(({ label, point }) => {
      const e = point.exploitability;
      const v = point.value;
      return [
        cell(r.name),
        cell(label),
        num(point.iteration),
        num(sig(e.total)),
        num(sig(e.major)),
        num(sig(e.minor)),
        num(sig(v.majorBestResponse)),
        num(sig(v.majorPolicy)),
        num(sig(v.minorBestResponse)),
        num(sig(v.minorPolicy)),
      ];
    });
  });
  return table(head, rows);
}

function paramsDetails(runs: RunData[]): string {
  return runs
    .filter((r) => r.info.params && Object.keys(r.info.params).length > 0)
    .map((r) => {
      const params = Object.entries(r.info.params as Record<string, number>)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ');
      return `<details><summary>All parameters of ${text(r.name)}</summary><p>${text(params)}</p></details>`;
    })
    .join('\n');
}

function executorText(i: RunInfo): string {
  const parts: string[] = [];
  const ex = i.executor;
  if (typeof ex === 'string') parts.push(ex);
  else if (ex && typeof ex === 'object') {
    const { name, ...rest } = ex as Record<string, unknown>;
    if (name !== undefined) parts.push(String(name));
    for (const [k, v] of Object.entries(rest)) if (v !== undefined && typeof v !== 'object') parts.push(`${k} ${v}`);
  }
  for (const k of ['threads', 'workers', 'nodes'] as const) if (i[k] !== undefined) parts.push(`${k} ${i[k]}`);
  return parts.join(', ');
}

function overridesText(overrides: Record<string, number> | undefined): string {
  if (!overrides) return '';
  const entries = Object.entries(overrides);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(' ') : 'none';
}

function table(head: string[], rows: string[][]): string {
  return `<table>
<thead><tr>${head.map((h) => `<th>${text(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n')}
</tbody>
</table>`;
}

function cell(value: unknown): string {
  return `<td>${text(value === undefined || value === null ? '' : String(value))}</td>`;
}

function num(value: unknown): string {
  return `<td class="num">${text(value === undefined || value === null ? '' : String(value))}</td>`;
}

function fixed(x: number | undefined, digits: number): string | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : undefined;
}

function sig(x: number | undefined): string | undefined {
  return typeof x === 'number' ? (Number.isFinite(x) ? x.toPrecision(6) : String(x)) : undefined;
}

export function text(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;');
}

/**
 * Prefixes every id in an SVG (and the url(#..) and href="#.." references to it), so that several inline SVGs
 * in one page cannot clash on their clip-path and gradient ids.
 */
export function namespaceIds(svg: string, prefix: string): string {
  return svg
    .replace(/ id="([^"]+)"/g, (_, id: string) => ` id="${prefix}${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}${id}"`);
}
