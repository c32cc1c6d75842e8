// NumPy .npy export (format version 1.0) so Python users can `numpy.load` the results:
//   "\x93NUMPY", version 1.0, uint16 LE header length, an ASCII dict
//   {'descr': '<f8', 'fortran_order': False, 'shape': (...), } padded with spaces and a newline so the data
//   starts at a multiple of 64 bytes, then the little-endian float64 data in C order.

export function encodeNpy(shape: readonly number[], data: Float64Array): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`npy: shape [${shape.join(', ')}] holds ${count} values, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** The curve as rows of [iteration, exploitability major, minor, total, majorBR, majorPolicy, minorBR, minorPolicy]. */
export const CURVE_COLUMNS = [
  'iteration', 'exploitability.major', 'exploitability.minor', 'exploitability.total',
  'value.majorBestResponse', 'value.majorPolicy', 'value.minorBestResponse', 'value.minorPolicy',
] as const;

export function curveMatrix(curve: ReadonlyArray<{ iteration: number; exploitability: { major: number; minor: number; total: number }; value: { majorBestResponse: number; majorPolicy: number; minorBestResponse: number; minorPolicy: number } }>): Float64Array {
  const m = new Float64Array(curve.length * CURVE_COLUMNS.length);
  curve.forEach((p, i) => {
    m.set([p.iteration, p.exploitability.major, p.exploitability.minor, p.exploitability.total, p.value.majorBestResponse, p.value.majorPolicy, p.value.minorBestResponse, p.value.minorPolicy], i * CURVE_COLUMNS.length);
  });
  return m;
}
