// Rendering: a Vega-Lite spec to SVG on the server (Vega's headless view, no canvas), an SVG to PNG with
// resvg and the DejaVu Sans font shipped in ./fonts (no system fonts, so a PNG looks the same everywhere).

import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export const FONT_FILE = fileURLToPath(new URL('./fonts/DejaVuSans.ttf', import.meta.url));
export const FONT_FAMILY = 'DejaVu Sans';

/** The chart as a standalone SVG document. Vega warnings (a bad field, an invalid scale) become errors. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const warnings: string[] = [];
  const compiled = compile(spec, { logger: collectingLogger(warnings) }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: collectingLogger(warnings) });
  try {
    const svg = await view.toSVG();
    if (warnings.length) throw new Error(`vega: ${warnings.join('; ')}`);
    return compactSvg(svg);
  } finally {
    view.finalize();
  }
}

const GEOMETRY_ATTRIBUTE = / (d|transform|x|y|x1|x2|y1|y2|width|height)="([^"]*)"/g;
const LONG_DECIMAL = /-?\d+\.\d{3,}/g;

/** Coordinates rounded to 1/100 pixel: Vega writes up to 17 digits, which would make large heatmaps huge. */
export function compactSvg(svg: string): string {
  return svg.replace(GEOMETRY_ATTRIBUTE, (_, name: string, value: string) => {
    const rounded = value.replace(LONG_DECIMAL, (num) => {
      const r = Math.round(Number(num) * 100) / 100;
      return String(Object.is(r, -0) ? 0 : r);
    });
    return ` ${name}="${rounded}"`;
  });
}

/** The SVG as PNG, at `scale` times its size, on a white background. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: {
      loadSystemFonts: false,
      fontFiles: [FONT_FILE],
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
  });
  return resvg.render().asPng();
}

/** A Vega logger that keeps warnings and errors instead of printing them. */
function collectingLogger(sink: string[]) {
  let level = vega.Warn;
  const logger = {
    level(l?: number): any {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: readonly unknown[]) {
      sink.push(args.map(String).join(' '));
      return logger;
    },
    warn(...args: readonly unknown[]) {
      if (level >= vega.Warn) sink.push(args.map(String).join(' '));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger as unknown as vega.LoggerInterface;
}
