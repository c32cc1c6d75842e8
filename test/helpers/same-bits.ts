// "Same bits", defined once for every executor test: two solves agree when their final policy tables (and
// OMD accumulators) are equal byte for byte and every number of their curves is Object.is-equal (which also
// tells -0 from 0 and compares NaNs).
import { expect } from 'vitest';
import { collectSource } from '../../shared/table-source.ts';
import type { Problem } from '../../shared/problem.ts';
import { solve, type CurvePoint, type SolveOptions, type SolveResult } from '../../coordinator/solver.ts';
import type { Executor, ProblemSpec } from '../../coordinator/executor.ts';

/** A solve's result read into arrays right away (an executor's sources are valid only until its next run). */
export interface Solved {
  curve: CurvePoint[];
  minorPolicy: Float64Array;
  majorPolicy: Float64Array;
  minorY?: Float64Array;
  majorY?: Float64Array;
}

export async function collected(result: SolveResult): Promise<Solved> {
  const p = result.policies;
  return {
    curve: result.curve,
    minorPolicy: await collectSource(p.minorPolicy),
    majorPolicy: await collectSource(p.majorPolicy),
    minorY: p.minorY ? await collectSource(p.minorY) : undefined,
    majorY: p.majorY ? await collectSource(p.majorY) : undefined,
  };
}

/** solve() whose result is collected before returning (the executor is not closed). */
export async function solveCollected(spec: ProblemSpec, problem: Problem, executor: Executor, options: SolveOptions): Promise<Solved> {
  return collected(await solve(spec, problem, executor, options));
}

/** Byte equality of two typed arrays (lengths included). */
export function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Every number of a JSON-like value, with its path. */
function numbers(v: unknown, path = '', out: Array<[string, number]> = []): Array<[string, number]> {
  if (typeof v === 'number') out.push([path, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => numbers(x, `${path}[${i}]`, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) numbers(x, `${path}.${k}`, out);
  return out;
}

export function expectSameBits(want: Solved, got: Solved, what: string): void {
  for (const name of ['minorPolicy', 'majorPolicy', 'minorY', 'majorY'] as const) {
    const a = want[name];
    const b = got[name];
    expect(Boolean(b), `${what}: ${name} present`).toBe(Boolean(a));
    if (a && b) expect(sameBits(a, b), `${what}: ${name} bytes`).toBe(true);
  }
  const w = numbers(want.curve);
  const g = numbers(got.curve);
  expect(g.map(([p]) => p), `${what}: curve shape`).toEqual(w.map(([p]) => p));
  for (let i = 0; i < w.length; i++) {
    if (!Object.is(g[i][1], w[i][1])) expect.fail(`${what}: curve${w[i][0]} is ${g[i][1]}, expected ${w[i][1]}`);
  }
}
