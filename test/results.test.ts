// The policy file format (policies.bin, checkpoint.bin): tables round-trip bit for bit at the offsets the
// header gives, are streamed (a file over 2 GiB from a source that never holds it), and every kind of
// damage is refused with one line naming the file and what is wrong.
import { describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { SeededRandom } from '../shared/random.ts';
import { allocateTables, initPolicies } from '../shared/tables.ts';
import { buildGame } from '../shared/validate.ts';
import { arraySource, collectSource, type TableSource } from '../shared/table-source.ts';
import { readPolicies, writePolicies } from '../coordinator/results.ts';
import { openPolicyFile, PolicyFileError, writePolicyFile } from '../coordinator/policy-file.ts';
import { editHeader, setValue } from './helpers/policy-file.ts';
import { sameBits } from './helpers/same-bits.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'm3fg-pol-'));

/** Random rows that are distributions (sum 1 within an ulp or two). */
function randomPolicy(a: Float64Array, group: number, rng: SeededRandom): void {
  for (let r = 0; r < a.length; r += group) {
    let s = 0;
    for (let u = 0; u < group; u++) s += a[r + u] = rng.next() + 0.01;
    for (let u = 0; u < group; u++) a[r + u] /= s;
  }
}

async function writeSample(name: string, bins: number) {
  const problem = new Problem(buildGame(builtinGames[name]), bins);
  const tables = allocateTables(problem);
  const rng = new SeededRandom(bins);
  randomPolicy(tables.minorPolicy, problem.game.nU, rng);
  randomPolicy(tables.majorPolicy, problem.game.nU0, rng);
  const path = join(tmp(), 'policies.bin');
  await writePolicies(path, problem, { minorPolicy: arraySource(tables.minorPolicy, 1000), majorPolicy: arraySource(tables.majorPolicy) }, { game: name, params: { ...problem.game.params }, bins });
  return { problem, tables, path };
}

const refused = (path: string) => {
  try {
    readPolicies(path);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyFileError);
    const message = (err as Error).message;
    expect(message.startsWith(`${path}: `), message).toBe(true);
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`${path} was accepted`);
};

describe('policies.bin', () => {
  const cases: Array<[string, number]> = [['sis', 20], ['advertisement', 50], ['buffet', 120], ['sis', 7], ['cyber', 9]];
  for (const [name, bins] of cases) {
    it(`round-trips ${name} at M = ${bins}, streamed in pieces`, async () => {
      const { problem, tables, path } = await writeSample(name, bins);
      const back = readPolicies(path);
      expect(sameBits(back.tables.minorPolicy, tables.minorPolicy)).toBe(true);
      expect(sameBits(back.tables.majorPolicy, tables.majorPolicy)).toBe(true);
      expect(Array.from(back.tables.gridPoints)).toEqual(Array.from(problem.grid.points));
      expect(back.header.sizes.cells).toBe(problem.cells);
      // the verified file's sources read the same bits again
      const opened = openPolicyFile(path);
      expect(sameBits(await collectSource(opened.sources.minorPolicy), tables.minorPolicy)).toBe(true);
    });
  }

  it('puts every table where its header says, whatever the header length (sis, M = 2..60)', async () => {
    const game = buildGame(builtinGames.sis, { T: 3 });
    const dir = tmp();
    for (let bins = 2; bins <= 60; bins++) {
      const problem = new Problem(game, bins);
      const tables = allocateTables(problem);
      initPolicies(problem, tables, 'uniform');
      const path = join(dir, `p${bins}.bin`);
      await writePolicies(path, problem, { minorPolicy: arraySource(tables.minorPolicy), majorPolicy: arraySource(tables.majorPolicy) }, { game: 'sis', params: {}, bins });
      expect(readPolicies(path).tables.minorPolicy, `M = ${bins}`).toEqual(tables.minorPolicy);
    }
  });

  it('refuses every kind of damage with one line naming the file', async () => {
    const { path } = await writeSample('sis', 12);
    const good = readFileSync(path);
    const reset = () => writeFileSync(path, good);
    const size = good.length;
    const header = JSON.parse(good.subarray(16, 16 + good.readUInt32LE(8)).toString('utf8'));
    const minor = header.tables[0];
    const damage: Array<[string, () => void, RegExp]> = [
      ['truncated inside a table', () => writeFileSync(path, good.subarray(0, minor.offset + 40)), /truncated: \d+ bytes, the header describes \d+/],
      ['truncated in the header', () => writeFileSync(path, good.subarray(0, 30)), /header length \d+ out of range/],
      ['empty', () => writeFileSync(path, Buffer.alloc(0)), /truncated: 0 bytes/],
      ['trailing data', () => writeFileSync(path, Buffer.concat([good, Buffer.alloc(8)])), /8 bytes of trailing data/],
      ['a bit flip in a table', () => { const b = Buffer.from(good); b[minor.offset + 96] ^= 1; /* the last bit of a value: still a distribution */ writeFileSync(path, b); }, /table minorPolicy: checksum mismatch/],
      ['a bit flip in the header', () => { const b = Buffer.from(good); b[40] ^= 2; writeFileSync(path, b); }, /header checksum mismatch/],
      ['wrong magic', () => { const b = Buffer.from(good); b.write('M3FGPOL1', 0, 'ascii'); writeFileSync(path, b); }, /format 1/],
      ['not a policy file', () => writeFileSync(path, Buffer.from('hello world, this is not m3fg')), /wrong magic/],
      ['NaN in a policy', () => setValue(path, 'minorPolicy', 5, NaN), /minorPolicy: value NaN at index 5 is not a probability/],
      ['a row that does not sum to 1', () => setValue(path, 'majorPolicy', 0, 0.9999), /majorPolicy: row at index 0 sums to/],
      ['a negative probability', () => setValue(path, 'minorPolicy', 2, -0), /sums to|not a probability/],
      ['bins out of range', () => editHeader(path, (h) => { h.bins = -5; }), /bins -5 is not a positive integer/],
      ['sizes out of range', () => editHeader(path, (h) => { h.sizes.nU = 0; }), /sizes.nU = 0/],
      ['sizes that disagree with a shape', () => editHeader(path, (h) => { h.sizes.cells += 1; }), /shape/],
      ['initialCell out of range', () => editHeader(path, (h) => { h.initialCell = 12; delete h.params.c0F; /* room for the digit */ }), /initialCell 12 outside/],
      ['an offset moved', () => editHeader(path, (h) => { h.tables[1].offset += 8; }), /table majorPolicy at offset/],
      ['a table renamed', () => editHeader(path, (h) => { h.tables[2].name = 'gridPoint'; }), /tables minorPolicy, majorPolicy, gridPoint, expected/],
      ['a missing checksum', () => editHeader(path, (h) => { h.tables[0].xxh64 = 'zz'; }), /no xxh64 checksum/],
      ['a non-finite parameter', () => editHeader(path, (h) => { h.params[Object.keys(h.params)[0]] = 'x'; }), /params are not finite numbers/],
    ];
    const seen: string[] = [];
    for (const [what, apply, message] of damage) {
      reset();
      apply();
      const m = refused(path);
      expect(m, what).toMatch(message);
      seen.push(m);
    }
    reset();
    expect(readPolicies(path).header.bins).toBe(12);
    expect(statSync(path).size).toBe(size);
    expect(seen.length).toBe(damage.length);
  });

  it('writes and verifies a file over 2 GiB from a source that never holds it (streamed in pieces)', async () => {
    // one minor policy table of 2.1 GiB: T x nX0 x cells x nX x nU = 1 x 1 x 70_464_960 x 2 x 2
    const cells = 70_464_960;
    const length = cells * 4;
    const piece = 1 << 20;
    let pieces = 0;
    const synthetic: TableSource = {
      length,
      async read(visit) {
        const buf = new Float64Array(piece);
        for (let o = 0; o < length; o += piece) {
          const n = Math.min(piece, length - o);
          // rows of 2: (p, 1 - p), p depending on the position so that misplaced pieces are caught
          for (let i = 0; i < n; i += 2) {
            const p = ((o + i) % 1024) / 1024;
            buf[i] = p;
            buf[i + 1] = 1 - p;
          }
          pieces++;
          await visit(buf.subarray(0, n), o);
        }
      },
    };
    const dir = tmp();
    const path = join(dir, 'policies.bin');
    try {
      await writePolicyFile(path, { game: 'synthetic', params: {}, bins: 1, sizes: { T: 1, nX: 2, nU: 2, nX0: 1, nU0: 1, cells }, initialCell: 0 }, [
        { name: 'minorPolicy', shape: [1, 1, cells, 2, 2], axes: ['t', 'x0', 'cell', 'x', 'u'], source: synthetic },
        { name: 'majorPolicy', shape: [1, 1, cells, 1], axes: ['t', 'x0', 'cell', 'u0'], source: constant(cells, 1) },
        { name: 'gridPoints', shape: [cells, 2], axes: ['cell', 'x'], source: constant(cells * 2, 0.5) },
      ]);
      const size = statSync(path).size;
      expect(size).toBeGreaterThan(2 ** 31);
      expect(pieces).toBe(Math.ceil(length / piece));
      // read back in constant memory: lengths, checksums and distributions all checked
      const opened = openPolicyFile(path);
      expect(opened.header.tables[0].byteLength).toBe(length * 8);
      // spot checks at the far end of the file
      const fd = openSync(path, 'r');
      const b = Buffer.alloc(16);
      readSync(fd, b, 0, 16, opened.header.tables[0].offset + (length - 2) * 8);
      closeSync(fd);
      const p = ((length - 2) % 1024) / 1024;
      expect([b.readDoubleLE(0), b.readDoubleLE(8)]).toEqual([p, 1 - p]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

function constant(length: number, value: number): TableSource {
  return {
    length,
    async read(visit) {
      const buf = new Float64Array(1 << 20).fill(value);
      for (let o = 0; o < length; o += buf.length) await visit(buf.subarray(0, Math.min(buf.length, length - o)), o);
    },
  };
}
