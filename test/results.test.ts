// The policy file format round-trips: every table reads back bit for bit at the offsets its header gives,
// for problem sizes whose header lengths straddle the layout's fixed point.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { SeededRandom } from '../shared/random.ts';
import { allocateTables } from '../shared/tables.ts';
import { buildGame } from '../shared/validate.ts';
import { encodePolicies, readPolicies } from '../coordinator/results.ts';

describe('policies.bin', () => {
  it('puts every table where its header says, whatever the header length (sis, M = 2..150, two param sets)', () => {
    const game = buildGame(builtinGames.sis, { T: 3 });
    let checked = 0;
    for (let bins = 2; bins <= 150; bins++) {
      const problem = new Problem(game, bins);
      const tables = allocateTables(problem);
      for (let i = 0; i < tables.minorPolicy.length; i++) tables.minorPolicy[i] = i + 0.5;
      for (const params of [{}, { ...game.params }]) {
        const bytes = encodePolicies(problem, tables, { game: 'sis', params, bins });
        const len = new DataView(bytes.buffer).getUint32(8, true);
        const header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + len)).toString('utf8'));
        const entry = header.tables[0];
        const first = new DataView(bytes.buffer).getFloat64(entry.offset, true);
        expect(first, `M = ${bins}`).toBe(0.5);
        checked++;
      }
    }
    expect(checked).toBe(298);
  });

  const cases: Array<[string, number]> = [['sis', 20], ['advertisement', 50], ['buffet', 120], ['sis', 7], ['cyber', 9]];
  for (const [name, bins] of cases) {
    it(`round-trips ${name} at M = ${bins}`, () => {
      const problem = new Problem(buildGame(builtinGames[name]), bins);
      const tables = allocateTables(problem);
      const rng = new SeededRandom(bins);
      for (const a of [tables.minorPolicy, tables.majorPolicy]) for (let i = 0; i < a.length; i++) a[i] = rng.next();
      const path = join(mkdtempSync(join(tmpdir(), 'm3fg-pol-')), 'policies.bin');
      writeFileSync(path, encodePolicies(problem, tables, { game: name, params: { ...problem.game.params }, bins }));
      const back = readPolicies(path);
      expect(Buffer.compare(Buffer.from(back.tables.minorPolicy.buffer), Buffer.from(tables.minorPolicy.buffer))).toBe(0);
      expect(Buffer.compare(Buffer.from(back.tables.majorPolicy.buffer), Buffer.from(tables.majorPolicy.buffer))).toBe(0);
      expect(Array.from(back.tables.gridPoints)).toEqual(Array.from(problem.grid.points));
      expect(back.header.sizes.cells).toBe(problem.cells);
    });
  }
});
