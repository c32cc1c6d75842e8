// The layers (dependencies point downwards only): shared/ (pure, no I/O) at the bottom; runtime/ (the Node
// plumbing both sides use: starting threads, connecting to NATS, the job queue's streams) above it;
// coordinator/ and worker/ side by side, never importing each other in either direction; bin/ on top (the
// launchers, which wire the `m3fg worker` process from both). Every import of every source file is checked,
// static, dynamic and re-exports; starting a thread by its path (new URL('../worker/x.ts', ...)) is not one.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const LAYERS = ['shared', 'runtime', 'coordinator', 'worker', 'bin'] as const;
type Layer = (typeof LAYERS)[number];
/** What each layer may import (besides packages and node: modules). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  shared: ['shared'],
  runtime: ['runtime', 'shared'],
  coordinator: ['coordinator', 'runtime', 'shared'],
  worker: ['worker', 'runtime', 'shared'],
  bin: ['bin', 'coordinator', 'worker', 'runtime', 'shared'],
};

/** The module specifiers a source imports: `import ... from`, `export ... from`, `import '...'`, `import('...')`. */
function importsOf(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\bimport\s+['"]([^'"]+)['"]/g];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]);
  return out;
}

/** The layer a relative import from `file` lands in (undefined: a package, node:, or outside the layers). */
function layerOf(file: string, specifier: string): Layer | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const top = relative(ROOT, resolve(dirname(file), specifier)).split(sep)[0];
  return (LAYERS as readonly string[]).includes(top) ? (top as Layer) : undefined;
}

/** "file -> specifier" for each import that breaks the layering. */
function violations(files: ReadonlyArray<{ path: string; source: string }>): string[] {
  const out: string[] = [];
  for (const { path, source } of files) {
    const from = relative(ROOT, path).split(sep)[0] as Layer;
    if (!ALLOWED[from]) continue;
    for (const spec of importsOf(source)) {
      const to = layerOf(path, spec);
      if (to && !ALLOWED[from].includes(to)) out.push(`${relative(ROOT, path)} -> ${spec}`);
    }
  }
  return out;
}

function sources(dir: string): Array<{ path: string; source: string }> {
  const out: Array<{ path: string; source: string }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (/\.(ts|js|mjs)$/.test(entry.name)) out.push({ path, source: readFileSync(path, 'utf8') });
  }
  return out;
}

describe('layers', () => {
  const files = LAYERS.flatMap((layer) => sources(join(ROOT, layer)));

  it('no import between coordinator/ and worker/, none from shared/ or runtime/ upwards', () => {
    expect(violations(files)).toEqual([]);
  });

  it('the check sees the imports it is meant to refuse (multi-line, type-only, dynamic, re-export)', () => {
    const at = (layer: string) => join(ROOT, layer, 'x.ts');
    const bad = [
      { path: at('coordinator'), source: "import {\n  a,\n  type B,\n} from '../worker/sweep-worker.ts';" },
      { path: at('coordinator/jobs'), source: "import type { C } from '../../worker/node.ts';" },
      { path: at('worker'), source: "const m = await import('../coordinator/solver.ts');" },
      { path: at('worker'), source: "export { d } from '../coordinator/executor.ts';" },
      { path: at('shared'), source: "import '../runtime/thread-pool.ts';" },
      { path: at('runtime'), source: "import { e } from '../worker/node.ts';" },
    ];
    expect(violations(bad)).toHaveLength(bad.length);
    const good = [
      { path: at('coordinator'), source: "import { f } from '../shared/problem.ts';\nconst u = new URL('../worker/team-worker.ts', import.meta.url);" },
      { path: at('bin'), source: "import { g } from '../worker/node.ts';\nimport { h } from '../coordinator/cli/main.ts';" },
    ];
    expect(violations(good)).toEqual([]);
    // and the real sources have imports to check
    expect(files.filter((f) => f.path.includes(`${sep}coordinator${sep}`)).flatMap((f) => importsOf(f.source)).some((s) => s.includes('shared/'))).toBe(true);
  });
});
