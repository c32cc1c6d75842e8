// The readers of policies.bin (m3fg nplayer --from, m3fg report) refuse a damaged file with one line naming
// it and what is wrong, instead of simulating or drawing zero-filled or flipped tables.
import { cpSync, mkdtempSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { flipBit, readHeader, setValue } from './helpers/policy-file.ts';

const root = mkdtempSync(join(tmpdir(), 'm3fg-damaged-'));
const good = join(root, 'good');

beforeAll(() => {
  const r = runCli(['solve', '--game', 'sis', '--bins', '8', '--iterations', '3', '--threads', '1', '--out', good, '--quiet']);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

const damages: Array<[string, (path: string) => void, RegExp]> = [
  ['truncated', (p) => truncateSync(p, readHeader(p).tables[0].offset + 64), /truncated: \d+ bytes, the header describes \d+/],
  ['a bit flip in the minor policy', (p) => flipBit(p, readHeader(p).tables[0].offset + 8 * 11), /table minorPolicy: checksum mismatch/],
  ['a policy that is not a distribution (signed)', (p) => setValue(p, 'majorPolicy', 4, 0.75), /table majorPolicy: row at index 4 sums to/],
];

describe('damaged policies.bin', () => {
  for (const [what, damage, message] of damages) {
    it(`nplayer --from and report refuse it: ${what}`, () => {
      const dir = join(root, what.replace(/\W+/g, '-'));
      cpSync(good, dir, { recursive: true });
      const path = join(dir, 'policies.bin');
      damage(path);
      for (const args of [['nplayer', '--from', dir, '--players', '5', '--episodes', '10', '--threads', '1', '--out', join(dir, 'np.json')], ['report', dir]]) {
        const r = runCli(args);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(/^m3fg: /);
        expect(lines[0]).toContain(path);
        expect(lines[0]).toMatch(message);
      }
    }, 60_000);
  }
});
