// README stands alone: no path outside the repository, every relative link resolves, shell blocks paste as
// they are (no [optional] or <placeholder> parts), and the cross-check tolerance is the one the test uses.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.ts';

const docs = ['README.md', 'docs/games.md', 'docs/algorithms.md', 'docs/crosscheck.md', 'docs/ties.md'];

describe('README and docs', () => {
  for (const file of docs) {
    it(`${file}: nothing outside the repository, every link resolves`, () => {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      expect(text).not.toMatch(/\.\.\/shared|\/work\/|shared\/spec/);
      const dir = join(repoRoot, file, '..');
      for (const [, target] of text.matchAll(/\]\(([\w./-]+\.(?:md|png|ts|svg|json))(#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        expect(existsSync(join(dir, target)), `${file} links ${target}`).toBe(true);
      }
    });
  }

  it('README shell blocks paste without edits', () => {
    const text = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    for (const [, block] of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
      for (const line of block.split('\n')) {
        const command = line.replace(/\s+#.*$/, '');
        expect(command, line).not.toMatch(/\[[^\]]*\]|<[A-Za-z]+>|\.\.\./);
      }
    }
  });

  it('the cross-check tolerance is stated as the test checks it', () => {
    const test = readFileSync(join(repoRoot, 'test/crosscheck.test.ts'), 'utf8');
    expect(test).toContain('toBeLessThanOrEqual(1e-9)');
    const all = docs.map((f) => readFileSync(join(repoRoot, f), 'utf8')).join('\n');
    const stated = [...all.matchAll(/(\d(?:\.\d+)?e-\d+) relative/g)].map((m) => m[1]);
    expect(stated.length).toBeGreaterThan(0);
    expect(new Set(stated)).toEqual(new Set(['1e-9']));
  });
});
