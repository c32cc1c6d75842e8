// The results directory of a solve run:
//   curve.json     array, element i = { iteration, exploitability: {major, minor, total}, value: {...} }
//   policies.bin   the final policy tables: "M3FGPOL1", uint32 LE header length, a UTF-8 JSON header, zero
//                  padding to a multiple of 8 bytes, then each table's raw little-endian data at the
//                  offset the header gives (offsets are from the start of the file, 8-byte aligned)
//   run.json       settings, problem sizes, timings
// Every file is written atomically: a temporary file in the same folder, fsync, rename.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Problem } from '../shared/problem.ts';
import type { SolverTables } from '../shared/tables.ts';

export const POLICY_MAGIC = 'M3FGPOL1';

export interface TableEntry {
  name: string;
  dtype: 'float64';
  shape: number[];
  axes: string[];
  offset: number;
  byteLength: number;
}

export interface PolicyHeader {
  format: 'm3fg-policies';
  version: 1;
  byteOrder: 'little';
  game: string;
  params: Record<string, number>;
  bins: number;
  sizes: { T: number; nX: number; nU: number; nX0: number; nU0: number; cells: number };
  initialCell: number;
  tables: TableEntry[];
  /** Present in checkpoints only: where the run stands. */
  checkpoint?: CheckpointInfo;
}

export interface CheckpointInfo {
  /** The next iteration to run (the policies are its input). */
  iteration: number;
  algorithm: string;
  iterations: number;
  m3fgVersion: string;
  curve: unknown[];
  /** The run's identity (game, grid, algorithm and variant settings) and checkpoint cadence. */
  run: Record<string, unknown>;
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // make the rename itself durable
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** Serialises the final policies (and the grid points they are indexed by) in the documented format. */
export function encodePolicies(
  problem: Problem,
  tables: Pick<SolverTables, 'minorPolicy' | 'majorPolicy'>,
  spec: { game: string; params: Record<string, number>; bins: number },
  checkpoint?: CheckpointInfo,
): Uint8Array {
  const { nX, nU, nX0, nU0 } = problem.game;
  const cells = problem.cells;
  // policy slices: the horizon T, or 1 for the stationary policies of an infinite horizon
  const T = tables.minorPolicy.length / (problem.rows * nX * nU);
  const arrays: Array<{ name: string; shape: number[]; axes: string[]; data: Float64Array }> = [
    { name: 'minorPolicy', shape: [T, nX0, cells, nX, nU], axes: ['t', 'x0', 'cell', 'x', 'u'], data: tables.minorPolicy },
    { name: 'majorPolicy', shape: [T, nX0, cells, nU0], axes: ['t', 'x0', 'cell', 'u0'], data: tables.majorPolicy },
    { name: 'gridPoints', shape: [cells, nX], axes: ['cell', 'x'], data: problem.grid.points },
  ];
  const entries: TableEntry[] = arrays.map((a) => ({
    name: a.name,
    dtype: 'float64',
    shape: a.shape,
    axes: a.axes,
    offset: 0,
    byteLength: a.data.byteLength,
  }));
  const header: PolicyHeader = {
    format: 'm3fg-policies',
    version: 1,
    byteOrder: 'little',
    game: spec.game,
    params: spec.params,
    bins: spec.bins,
    sizes: { T, nX, nU, nX0, nU0, cells },
    initialCell: problem.initialCell,
    tables: entries,
    ...(checkpoint ? { checkpoint } : {}),
  };
  // offsets depend on the header length, which depends on the offsets' digits: iterate to a fixed point
  let headerBytes = Buffer.alloc(0);
  for (let pass = 0; pass < 4; pass++) {
    let off = align8(12 + headerBytes.length);
    for (const e of entries) {
      e.offset = off;
      off = align8(off + e.byteLength);
    }
    const next = Buffer.from(JSON.stringify(header), 'utf8');
    const settled = next.length === headerBytes.length;
    headerBytes = next; // the header written must be the one holding this pass's offsets
    if (settled) break;
  }
  const dataStart = align8(12 + headerBytes.length);
  const last = entries[entries.length - 1];
  const out = new Uint8Array(align8(last.offset + last.byteLength));
  out.set(Buffer.from(POLICY_MAGIC, 'ascii'), 0);
  new DataView(out.buffer).setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  const written = (JSON.parse(headerBytes.toString('utf8')) as PolicyHeader).tables;
  if (written[0].offset !== dataStart || written.some((e, i) => e.offset !== entries[i].offset)) {
    throw new Error('policies: header layout did not converge');
  }
  arrays.forEach((a, i) => out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), entries[i].offset));
  return out;
}

export function readPolicies(path: string): { header: PolicyHeader; tables: Record<string, Float64Array> } {
  const buf = readFileSync(path);
  if (buf.subarray(0, 8).toString('ascii') !== POLICY_MAGIC) throw new Error(`${path}: not an m3fg policy file`);
  const len = buf.readUInt32LE(8);
  const header = JSON.parse(buf.subarray(12, 12 + len).toString('utf8')) as PolicyHeader;
  const tables: Record<string, Float64Array> = {};
  for (const e of header.tables) {
    const copy = new Uint8Array(e.byteLength);
    copy.set(buf.subarray(e.offset, e.offset + e.byteLength));
    tables[e.name] = new Float64Array(copy.buffer);
  }
  return { header, tables };
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

export function resultPaths(dir: string) {
  return { curve: join(dir, 'curve.json'), policies: join(dir, 'policies.bin'), run: join(dir, 'run.json') };
}
