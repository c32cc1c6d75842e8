// The .npy export: the header follows NumPy's format 1.0 (magic, version, 64-byte aligned dict) and the data
// reads back bit for bit; where python3 with numpy is installed, numpy.load reads the same numbers.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, writeNpy } from '../coordinator/npy.ts';
import { arraySource, type TableSource } from '../shared/table-source.ts';
import { sameBits } from './helpers/same-bits.ts';

function parse(bytes: Uint8Array) {
  expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true);
  const header = Buffer.from(bytes.subarray(10, 10 + len)).toString('latin1');
  expect((10 + len) % 64).toBe(0);
  expect(header.endsWith('\n')).toBe(true);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  expect(header).toContain("'descr': '<f8'");
  expect(header).toContain("'fortran_order': False");
  const data = new Float64Array(bytes.slice(10 + len).buffer);
  return { shape, data };
}

describe('npy export', () => {
  const cases: number[][] = [[7], [3, 4], [2, 3, 4, 1, 2], [150, 2, 120, 2, 2]];
  for (const shape of cases) {
    it(`round-trips shape [${shape.join(', ')}]`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float64Array.from({ length: n }, (_, i) => Math.sin(i) / 3);
      const { shape: s, data: d } = parse(encodeNpy(shape, data));
      expect(s).toEqual(shape);
      expect(sameBits(d, data)).toBe(true);
    });
  }

  it('writeNpy streams a source piece by piece to the same bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'm3fg-npy-'));
    const data = Float64Array.from({ length: 150 * 2 * 120 * 2 * 2 }, (_, i) => Math.cos(i));
    await writeNpy(join(dir, 'a.npy'), [150, 2, 120, 2, 2], arraySource(data, 997));
    expect(Buffer.compare(readFileSync(join(dir, 'a.npy')), Buffer.from(encodeNpy([150, 2, 120, 2, 2], data)))).toBe(0);
    expect(readdirSync(dir)).toEqual(['a.npy']);
  });

  it('a source that fails or ends early leaves no file and no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'm3fg-npy-'));
    const short: TableSource = { length: 10, read: async (visit) => visit(new Float64Array(4), 0) };
    await expect(writeNpy(join(dir, 'a.npy'), [10], short)).rejects.toThrow(/ended at 4 of 10/);
    const failing: TableSource = { length: 10, read: async () => { throw new Error('node lost'); } };
    await expect(writeNpy(join(dir, 'b.npy'), [10], failing)).rejects.toThrow(/node lost/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a shape that does not fit the data', () => {
    expect(() => encodeNpy([2, 2], new Float64Array(5))).toThrow(/holds 4 values, data has 5/);
  });

  it('numpy.load reads it, where numpy is installed', () => {
    const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    const path = join(mkdtempSync(join(tmpdir(), 'm3fg-npy-')), 'a.npy');
    const data = Float64Array.from({ length: 24 }, (_, i) => i * 0.1);
    writeFileSync(path, encodeNpy([2, 3, 4], data));
    if (probe.status !== 0) {
      // no numpy on this machine: the structural checks above are what remains; say so in the output
      console.warn('numpy is not installed: numpy.load check not run');
      return;
    }
    const r = spawnSync('python3', ['-c', `import numpy as np; a = np.load(${JSON.stringify(path)}); print(a.shape, repr(float(a[1, 2, 3])), a.dtype)`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`(2, 3, 4) ${String(data[23])} float64`);
  });
});
