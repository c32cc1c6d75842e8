// NumPy .npy export (format version 1.0) so Python users can `numpy.load` the results:
//   "\x93NUMPY", version 1.0, uint16 LE header length, an ASCII dict
//   {'descr': '<f8', 'fortran_order': False, 'shape': (...), } padded with spaces and a newline so the data
//   starts at a multiple of 64 bytes, then the little-endian float64 data in C order.
// writeNpy streams the data from a TableSource, so a table of any size is written in constant memory.

import type { TableSource } from '../shared/table-source.ts';
import { writeAll, writeAtomic } from './atomic.ts';

export function npyHeader(shape: readonly number[], count: number): Uint8Array {
  const want = shape.reduce((a, b) => a * b, 1);
  if (want !== count) throw new RangeError(`npy: shape [${shape.join(', ')}] holds ${want} values, data has ${count}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}

/** Writes PATH.npy atomically, streaming the data from `source`. */
export async function writeNpy(path: string, shape: readonly number[], source: TableSource): Promise<void> {
  const head = npyHeader(shape, source.length);
  await writeAtomic(path, async (fd) => {
    writeAll(fd, head, 0);
    let expected = 0;
    await source.read((piece, offset) => {
      if (offset !== expected) throw new Error(`${path}: piece at ${offset}, expected ${expected}`);
      writeAll(fd, new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength), head.length + offset * 8);
      expected += piece.length;
    });
    if (expected !== source.length) throw new Error(`${path}: the data ended at ${expected} of ${source.length} values`);
  });
}

/** The whole file in memory (small arrays and tests). */
export function encodeNpy(shape: readonly number[], data: Float64Array): Uint8Array {
  const head = npyHeader(shape, data.length);
  const out = new Uint8Array(head.length + data.byteLength);
  out.set(head, 0);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), head.length);
  return out;
}


/** The curve as rows of [iteration, exploitability major, minor, total, majorBR, majorPolicy, minorBR, minorPolicy]. */
export const CURVE_COLUMNS = [
  'iteration', 'exploitability.major', 'exploitability.minor', 'exploitability.total',
  'value.majorBestResponse', 'value.majorPolicy', 'value.minorBestResponse', 'value.minorPolicy',
] as const;

export interface CurveRow {
  iteration: number;
  exploitability: { major: number; minor: number; total: number };
  value: { majorBestResponse: number; majorPolicy: number; minorBestResponse: number; minorPolicy: number };
}

export function curveMatrix(curve: ReadonlyArray<CurveRow>): Float64Array {
  const m = new Float64Array(curve.length * CURVE_COLUMNS.length);
  curve.forEach((p, i) => {
    m.set([p.iteration, p.exploitability.major, p.exploitability.minor, p.exploitability.total, p.value.majorBestResponse, p.value.majorPolicy, p.value.minorBestResponse, p.value.minorPolicy], i * CURVE_COLUMNS.length);
  });
  return m;
}

/** The inverse of curveMatrix (checkpoint.curve holds the curve in this binary form). */
export function curveFromMatrix(m: Float64Array): CurveRow[] {
  const k = CURVE_COLUMNS.length;
  const out: CurveRow[] = [];
  for (let o = 0; o + k <= m.length; o += k) {
    out.push({
      iteration: m[o],
      exploitability: { major: m[o + 1], minor: m[o + 2], total: m[o + 3] },
      value: { majorBestResponse: m[o + 4], majorPolicy: m[o + 5], minorBestResponse: m[o + 6], minorPolicy: m[o + 7] },
    });
  }
  return out;
}
