// The cluster's pure parts: framing under max_payload and reassembly (any order, duplicates, garbage), the
// msgpackr codec keeping typed arrays typed, the referenced value rows against a brute-force scan of what
// the backward kernel reads, and the result checks that keep a malformed or forged result out of the tables.

import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, frameMessage, FRAME_HEADER_BYTES, Reassembler } from '../shared/cluster-wire.ts';
import {
  applyFlowResult,
  applySliceData,
  checkResult,
  gatherFlowResult,
  gatherValues,
  referencedRows,
  scatterValues,
  sliceData,
  valueRange,
  type TaskMessage,
  type TaskResult,
} from '../shared/cluster-protocol.ts';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { allocateTables, initPolicies } from '../shared/tables.ts';
import { buildGame } from '../shared/validate.ts';
import { SeededRandom } from '../shared/random.ts';
import { flowRange } from '../shared/kernels/flow.ts';
import { backwardRange } from '../shared/kernels/backward.ts';

function shuffle<T>(rng: SeededRandom, xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('wire: frames under max_payload', () => {
  it('round-trips messages of random sizes in any part order, ignoring duplicate parts', () => {
    const rng = new SeededRandom(7);
    for (let trial = 0; trial < 40; trial++) {
      const n = Math.floor(rng.next() * 20_000);
      const value = { f: Float64Array.from({ length: n }, () => rng.next()), i: Int32Array.from({ length: n >> 1 }, (_, k) => k - 5), s: `m${trial}` };
      const bytes = encodeMessage(value);
      const maxPayload = 1024 + FRAME_HEADER_BYTES + Math.floor(rng.next() * 8192);
      const frames = frameMessage(bytes, 42, trial, maxPayload);
      for (const f of frames) expect(f.length).toBeLessThanOrEqual(maxPayload);
      const order = shuffle(rng, [...frames, ...(frames.length > 1 ? [frames[0]] : [])]);
      const r = new Reassembler();
      const done = order.map((f) => r.push(f)).filter((x) => x !== undefined);
      expect(done).toHaveLength(1);
      const back = decodeMessage<typeof value>(done[0]!);
      expect(back.f).toBeInstanceOf(Float64Array);
      expect(back.i).toBeInstanceOf(Int32Array);
      expect(Buffer.from(back.f.buffer, back.f.byteOffset, back.f.byteLength).equals(Buffer.from(value.f.buffer))).toBe(true);
      expect([...back.i]).toEqual([...value.i]);
      expect(back.s).toBe(value.s);
      expect(r.size).toBe(0);
    }
  });

  it('keeps interleaved messages of two senders apart and expires incomplete ones', () => {
    const a = frameMessage(encodeMessage({ x: new Float64Array(3000).fill(1) }), 1, 9, 4096);
    const b = frameMessage(encodeMessage({ x: new Float64Array(3000).fill(2) }), 2, 9, 4096);
    const r = new Reassembler({ ttlMs: 1000 });
    const out: Array<{ x: Float64Array }> = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      for (const f of [a[i], b[i]]) {
        const m = f && r.push(f, 0);
        if (m) out.push(decodeMessage(m));
      }
    }
    expect(out.map((m) => m.x[0]).sort()).toEqual([1, 2]);
    r.push(a[0], 0); // a late duplicate of a completed message is ignored
    expect(r.size).toBe(0);
    r.push(frameMessage(encodeMessage({ x: new Float64Array(3000) }), 1, 10, 4096)[0], 0);
    expect(r.size).toBe(1);
    r.push(frameMessage(encodeMessage(1), 3, 1, 4096)[0], 5000); // a later push expires the stale part
    expect(r.size).toBe(0);
    expect(r.dropped).toBe(1);
  });

  it('refuses frames that are not ours or whose header lies', () => {
    const r = new Reassembler();
    expect(() => r.push(new Uint8Array(10))).toThrow(/shorter than its header/);
    expect(() => r.push(new Uint8Array(40))).toThrow(/bad magic/);
    const [f] = frameMessage(encodeMessage({ a: 1 }), 1, 1, 4096);
    const lying = f.slice();
    new DataView(lying.buffer).setUint32(20, 5); // total length smaller than the body
    expect(() => r.push(lying)).toThrow(/bad frame header/);
    expect(() => frameMessage(new Uint8Array(10), 1, 1, 100)).toThrow(/too small/);
  });
});

const problemOf = (game: string, bins: number, T: number) => new Problem(buildGame(builtinGames[game], { T }), bins);

describe('referenced value rows', () => {
  it('are exactly the rows the backward kernel reads (brute force: poison every other row)', () => {
    for (const [game, bins] of [['buffet', 6], ['cyber', 6], ['sis', 12]] as const) {
      const problem = problemOf(game, bins, 4);
      const tables = allocateTables(problem);
      initPolicies(problem, tables, 'uniform');
      flowRange(problem, tables.minorPolicy, tables.nextCell, 0, 4 * problem.rows);
      const rng = new SeededRandom(3);
      for (const arr of [tables.minorBR, tables.minorEval, tables.majorBR, tables.majorEval]) for (let i = 0; i < arr.length; i++) arr[i] = rng.next();
      const t = 2;
      const a = Math.floor(problem.rows / 3);
      const b = Math.floor((2 * problem.rows) / 3);
      const mark = new Uint8Array(problem.rows);
      const refs = referencedRows(problem, tables.nextCell, t, a, b, mark);
      expect(mark.every((m) => m === 0)).toBe(true);
      for (let i = 1; i < refs.length; i++) expect(refs[i]).toBeGreaterThan(refs[i - 1]);
      // run the kernel once as is, once with every unreferenced row of the read slot set to NaN
      backwardRange(problem, tables, t, a, b);
      const want = valueRange(problem, tables, t & 1, a, b);
      const wantCopy = [want.minorBR.slice(), want.minorEval.slice(), want.majorBR.slice(), want.majorEval.slice()];
      const poisoned = allocateTables(problem);
      poisoned.minorPolicy.set(tables.minorPolicy);
      poisoned.majorPolicy.set(tables.majorPolicy);
      poisoned.nextCell.set(tables.nextCell);
      for (const arr of [poisoned.minorBR, poisoned.minorEval, poisoned.majorBR, poisoned.majorEval]) arr.fill(Number.NaN);
      scatterValues(problem, poisoned, gatherValues(problem, tables, (t & 1) ^ 1, refs));
      backwardRange(problem, poisoned, t, a, b);
      const got = valueRange(problem, poisoned, t & 1, a, b);
      [got.minorBR, got.minorEval, got.majorBR, got.majorEval].forEach((arr, i) => expect([...arr], `${game}`).toEqual([...wantCopy[i]]));
      // and dropping any one referenced row changes something (none is superfluous)
      if (refs.length > 1) {
        const fewer = refs.filter((_, i) => i !== refs.length >> 1);
        for (const arr of [poisoned.minorBR, poisoned.minorEval, poisoned.majorBR, poisoned.majorEval]) arr.fill(Number.NaN);
        scatterValues(problem, poisoned, gatherValues(problem, tables, (t & 1) ^ 1, Int32Array.from(fewer)));
        backwardRange(problem, poisoned, t, a, b);
        expect([...valueRange(problem, poisoned, t & 1, a, b).majorBR].some(Number.isNaN), `${game}: a referenced row was not needed`).toBe(true);
      }
    }
  });
});

describe('slices, flow results and result checks', () => {
  const problem = problemOf('buffet', 5, 3);
  const { nX, nU0 } = problem.game;
  const rows = problem.rows;

  it('moves a slice and a flow result between two table sets', () => {
    const src = allocateTables(problem, undefined, { omd: true });
    const rng = new SeededRandom(11);
    for (const arr of [src.minorPolicy, src.majorPolicy, src.minorY, src.majorY]) for (let i = 0; i < arr.length; i++) arr[i] = rng.next();
    for (let i = 0; i < src.nextCell.length; i++) src.nextCell[i] = i % problem.cells;
    const dst = allocateTables(problem, undefined, { omd: true });
    const data = decodeMessage<ReturnType<typeof sliceData>>(encodeMessage(sliceData(problem, src, 1, 3, 9)));
    applySliceData(problem, dst, 1, 3, 9, data);
    const range = (arr: Float64Array | Int32Array, w: number) => [...arr.subarray((rows + 3) * w, (rows + 9) * w)];
    const { nU } = problem.game;
    expect(range(dst.minorPolicy, nX * nU)).toEqual(range(src.minorPolicy, nX * nU));
    expect(range(dst.majorY, nU0)).toEqual(range(src.majorY, nU0));
    expect(range(dst.nextCell, nU0)).toEqual(range(src.nextCell, nU0));
    expect(() => applySliceData(problem, dst, 1, 3, 10, data)).toThrow(/expected/);
    const flow = gatherFlowResult(problem, src, 0, 3, 2, 7);
    const back = allocateTables(problem);
    applyFlowResult(problem, back, 0, 3, 2, 7, flow);
    for (let t = 0; t < 3; t++) expect([...back.nextCell.subarray((t * rows + 2) * nU0, (t * rows + 7) * nU0)]).toEqual([...src.nextCell.subarray((t * rows + 2) * nU0, (t * rows + 7) * nU0)]);
  });

  it('refuses results of the wrong shape or with out-of-range entries', () => {
    const tables = allocateTables(problem);
    const task = (body: TaskMessage['body']): TaskMessage => ({
      type: 'task', v: 1, id: 'x.1', nonce: 'n', rowFrom: 4, rowTo: 8, slices: [], body,
      run: { id: 'r', spec: { game: 'buffet', params: {}, bins: 5 }, gridKind: 'midpoint', fingerprint: 'f', tableOptions: {} },
    });
    const base = { type: 'result' as const, id: 'x.1', nonce: 'n', node: 'a', ms: 1 };
    const flowTask = task({ kind: 'flow', tFrom: 0, tTo: 2 });
    expect(checkResult(problem, flowTask, { ...base, nextCell: new Int32Array(2 * 4 * nU0) })).toBeUndefined();
    expect(checkResult(problem, flowTask, { ...base, nextCell: new Int32Array(3) })).toMatch(/wrong size/);
    expect(checkResult(problem, flowTask, { ...base, nextCell: new Int32Array(2 * 4 * nU0).fill(problem.cells) })).toMatch(/outside/);
    const values = (slot: number, a: number, b: number) => valueRange(problem, tables, slot, a, b);
    const stepTask = task({ kind: 'step', t: 1, rule: { kind: 'replace' }, storeQ: false, values: values(0, 0, 0), returnRows: null });
    const good: TaskResult = { ...base, values: values(1, 4, 8), minorGreedy: new Int32Array(4 * nX), majorGreedy: new Int32Array(4) };
    expect(checkResult(problem, stepTask, good)).toBeUndefined();
    expect(checkResult(problem, stepTask, { ...good, values: values(0, 4, 8) })).toMatch(/slot/);
    expect(checkResult(problem, stepTask, { ...good, values: values(1, 3, 7) })).toMatch(/outside/);
    expect(checkResult(problem, stepTask, { ...good, values: values(1, 4, 7) })).toMatch(/differ/);
    expect(checkResult(problem, stepTask, { ...good, minorGreedy: new Int32Array(4 * nX).fill(problem.game.nU) })).toMatch(/greedy minor/);
    expect(checkResult(problem, stepTask, { ...good, majorGreedy: new Int32Array(3) })).toMatch(/wrong size/);
    const qTask = task({ kind: 'step', t: 1, rule: { kind: 'omd', temperature: 1 }, storeQ: true, values: values(0, 0, 0), returnRows: null });
    expect(checkResult(problem, qTask, good)).toMatch(/Q rows/);
  });
});
