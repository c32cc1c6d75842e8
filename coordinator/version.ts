// The package's version, read from its package.json: two folders up from dist/coordinator/, one from the
// sources' coordinator/.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'm3fg' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this level
    }
  }
  throw new Error('m3fg: cannot find the package.json of m3fg');
}

export const M3FG_VERSION: string = readVersion();
