// The cluster's wire format (shared/cluster-wire.ts): messages with and without a raw Float64Array come back
// with the same bits, from any byte offset and through frames of any size, against the plain msgpack path.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeFrames, encodeMessage, frameMessage, Reassembler, wireArray } from '../shared/cluster-wire.ts';
import { SeededRandom } from '../shared/random.ts';
import { Packr } from 'msgpackr';

const plain = new Packr({ moreTypes: true, useRecords: false });

/** Doubles with every kind of bits: signed zeros, NaN, infinities, subnormals and random ones. */
function randomValues(rng: SeededRandom, n: number): Float64Array {
  const special = [0, -0, NaN, Infinity, -Infinity, 5e-324, -Number.MAX_VALUE, 1];
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next() < 0.1 ? special[Math.floor(rng.next() * special.length)] : (rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 20 - 10);
  return v;
}

function randomMessage(rng: SeededRandom): Record<string, unknown> {
  const n = Math.floor(rng.next() * 3000);
  const kind = Math.floor(rng.next() * 4);
  if (kind === 0) return { type: 'halo', run: 'r1', n: 3, step: Math.floor(rng.next() * 100), values: randomValues(rng, n) };
  if (kind === 1) return { type: 'done', run: 'r1', n: 2, start: randomValues(rng, n), costs: randomValues(rng, Math.floor(rng.next() * 200)) };
  if (kind === 2) return { type: 'need', run: 'r1', n: 1, rows: [Int32Array.from({ length: n }, (_, i) => i * 3)] };
  return { type: 'hb', threads: 2, state: 'ready', trace: { iterations: rng.next() } };
}

/** Same keys, same values; Float64Arrays compared bit by bit (NaN and -0 included). */
function expectSameBits(a: unknown, b: unknown): void {
  if (a instanceof Float64Array) {
    expect(b).toBeInstanceOf(Float64Array);
    const bytes = (x: Float64Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    expect(Buffer.compare(bytes(b as Float64Array), bytes(a))).toBe(0);
    return;
  }
  if (a && typeof a === 'object' && !ArrayBuffer.isView(a)) {
    expect(Object.keys(b as object).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) expectSameBits((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]);
    return;
  }
  expect(b).toEqual(a);
}

describe('cluster wire format', () => {
  it('decodes what it encodes with the same bits as plain msgpack, from any byte offset (aligned views or copies)', () => {
    const rng = new SeededRandom(11);
    for (let i = 0; i < 200; i++) {
      const m = randomMessage(rng);
      const bytes = encodeMessage(m);
      expectSameBits(plain.unpack(plain.pack(m)), m);
      // the same bytes at every offset modulo 8 inside a larger buffer (as a receiver's socket buffer holds them)
      const offset = i % 8;
      const host = new Uint8Array(bytes.length + 16);
      host.set(bytes, offset);
      expectSameBits(m, decodeMessage(host.subarray(offset, offset + bytes.length)));
    }
  });
  it('encodeFrames gives the bytes of frameMessage(encodeMessage(m)), and frames reassemble in any order', () => {
    const rng = new SeededRandom(12);
    for (let i = 0; i < 100; i++) {
      const m = randomMessage(rng);
      const maxPayload = 1048 + Math.floor(rng.next() * 30000);
      const frames = encodeFrames(m, 7, i + 1, maxPayload);
      const reference = frameMessage(encodeMessage(m), 7, i + 1, maxPayload);
      expect(frames.length).toBe(reference.length);
      frames.forEach((f, j) => expect(Buffer.compare(Buffer.from(f), Buffer.from(reference[j]))).toBe(0));
      for (const f of frames) expect(f.length).toBeLessThanOrEqual(maxPayload);
      const r = new Reassembler();
      const order = frames.map((_, j) => j).sort(() => rng.next() - 0.5);
      let whole: Uint8Array | undefined;
      for (const j of order) whole = r.push(frames[j]) ?? whole;
      expectSameBits(m, decodeMessage(whole!));
    }
  });
  it('a wireArray goes out in one frame written around it (same bytes as the copying path); other arrays are never written around', () => {
    const rng = new SeededRandom(13);
    for (let i = 0; i < 100; i++) {
      const n = 64 + Math.floor(rng.next() * 4000);
      const source = randomValues(rng, n);
      const wire = wireArray(n);
      wire.set(source);
      const m = { type: 'halo', run: `run-${i}`, n: i, step: Math.floor(rng.next() * 1000), values: wire };
      const maxPayload = 1048 + Math.floor(rng.next() * 40000);
      const frames = encodeFrames(m, 3, i + 1, maxPayload);
      const reference = frameMessage(encodeMessage({ ...m, values: source }), 3, i + 1, maxPayload);
      expect(frames.length).toBe(reference.length);
      frames.forEach((f, j) => expect(Buffer.compare(Buffer.from(f), Buffer.from(reference[j]))).toBe(0));
      if (frames.length === 1) expect(frames[0].buffer).toBe(wire.buffer);
      // sent again (a resend) with another number: the same frame, rewritten; the values untouched
      const again = encodeFrames(m, 3, i + 2, maxPayload);
      if (again.length === 1) expectSameBits(m, decodeMessage(again[0].subarray(24)));
      expectSameBits(source, wire);
      // an ordinary view (here: into a table) is copied, and the bytes in front of it stay as they were
      const table = randomValues(rng, n + 64);
      const before = Buffer.from(table.buffer).toString('hex');
      encodeFrames({ ...m, values: table.subarray(64) }, 3, i + 3, maxPayload);
      expect(Buffer.from(table.buffer).toString('hex')).toBe(before);
    }
  });
  it('a raw message whose head does not fit, or whose head is not [name, object], is refused', () => {
    const bytes = encodeMessage({ type: 'halo', values: new Float64Array(100) });
    expect(bytes[0]).toBe(0xc1);
    const longHead = bytes.slice();
    new DataView(longHead.buffer).setUint32(4, 1e6, true);
    expect(() => decodeMessage(longHead)).toThrow(/do not fit/);
    expect(() => decodeMessage(bytes.subarray(0, bytes.length - 3))).toThrow(/do not fit/);
    const head = plain.pack(['__proto__', { type: 'x' }]);
    const forged = new Uint8Array(8 + 8 * Math.ceil(head.length / 8) + 8);
    forged[0] = 0xc1;
    new DataView(forged.buffer).setUint32(4, head.length, true);
    forged.set(head, 8);
    expect(() => decodeMessage(forged)).toThrow(/malformed head/);
    // small arrays stay in the msgpack body
    expect(encodeMessage({ type: 'halo', values: new Float64Array(10) })[0]).not.toBe(0xc1);
  });
});
