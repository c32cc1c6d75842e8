// The policy file format (policies.bin, checkpoint.bin), version 2:
//   bytes 0-7    "M3FGPOL2"
//   bytes 8-11   uint32 LE: the header's length L in bytes
//   bytes 12-15  uint32 LE: xxh32 (seed 0) of the header bytes
//   bytes 16..   the UTF-8 JSON header, zero padding to a multiple of 8 bytes, then each table's raw
//                little-endian float64 data at the offset the header gives (from the start of the file,
//                8-byte aligned, in the header's order, each right after the previous one's padding).
// Every table entry carries the xxh64 (seed 0) of its data as 16 hex digits; the file ends exactly at the
// last table's padded end. Writing streams each table from a TableSource (any size, constant memory) and
// fills in the header last; reading checks the length, the header checksum, every header field, every
// table's checksum and that policies are probability distributions, and refuses anything else with one
// line naming the file and what is wrong.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import xxhash from 'xxhash-wasm';
import { OptionError } from '../shared/errors.ts';
import type { TableSource } from '../shared/table-source.ts';
import { PIECE_ELEMENTS } from '../shared/table-source.ts';
import { writeAll, writeAtomic } from './atomic.ts';

export const POLICY_MAGIC = 'M3FGPOL2';
const PREFIX = 16;
/** A header longer than this is not one we wrote (the checkpoint header holds no curve). */
const MAX_HEADER = 1 << 20;
/** How far a policy row's sum may be from 1. */
export const DISTRIBUTION_TOLERANCE = 1e-12;

type XXHash = Awaited<ReturnType<typeof xxhash>>;
let api: XXHash | undefined;
/**
 * Resolves when the hash functions (WebAssembly) are ready. Entry points await it (the CLI, runSolve, the
 * report and N-player readers); there is no top-level await here because a module with one cannot be loaded
 * in a worker thread under tsx (the study's run threads import this module).
 */
export const hashReady: Promise<void> = xxhash().then((h) => {
  api = h;
});
function ready(): XXHash {
  if (!api) throw new Error('policy files: the hash functions are not ready (await hashReady first)');
  return api;
}
export const hasher = {
  create64: (...a: Parameters<XXHash['create64']>): ReturnType<XXHash['create64']> => ready().create64(...a),
  h64Raw: (...a: Parameters<XXHash['h64Raw']>): ReturnType<XXHash['h64Raw']> => ready().h64Raw(...a),
  h32Raw: (...a: Parameters<XXHash['h32Raw']>): ReturnType<XXHash['h32Raw']> => ready().h32Raw(...a),
};
export const hex64 = (h: bigint): string => h.toString(16).padStart(16, '0');

export interface TableEntry {
  name: string;
  dtype: 'float64';
  shape: number[];
  axes: string[];
  offset: number;
  byteLength: number;
  xxh64: string;
}

export interface PolicySizes {
  T: number;
  nX: number;
  nU: number;
  nX0: number;
  nU0: number;
  cells: number;
}

export interface PolicyHeader {
  format: 'm3fg-policies';
  version: 2;
  byteOrder: 'little';
  game: string;
  params: Record<string, number>;
  bins: number;
  grid?: string;
  /** 'interpolate' when the run used it (absent: the nearest projection). */
  projection?: string;
  sizes: PolicySizes;
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
  /** Rows of checkpoint.curve that belong to this checkpoint (= iteration) and their xxh64. */
  curveRows: number;
  curveXxh64: string;
  /** The run's identity (game, grid, algorithm and variant settings) and checkpoint cadence. */
  run: Record<string, unknown>;
}

export type HeaderBase = Omit<PolicyHeader, 'format' | 'version' | 'byteOrder' | 'tables'>;

export interface TableSpec {
  name: string;
  shape: number[];
  axes: string[];
  source: TableSource;
}

export class PolicyFileError extends OptionError {
  override name = 'PolicyFileError';
}

/** Writes a policy file atomically, streaming every table from its source. */
export async function writePolicyFile(path: string, base: HeaderBase, tables: TableSpec[]): Promise<void> {
  await hashReady;
  const entries: TableEntry[] = tables.map((t) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.source.length) throw new RangeError(`${path}: table ${t.name} of shape [${t.shape}] holds ${count} values, its source ${t.source.length}`);
    return { name: t.name, dtype: 'float64', shape: t.shape, axes: t.axes, offset: 0, byteLength: t.source.length * 8, xxh64: '0'.repeat(16) };
  });
  const header: PolicyHeader = { format: 'm3fg-policies', version: 2, byteOrder: 'little', ...base, tables: entries };
  // offsets depend on the header's length, which depends on the offsets' digits: iterate to a fixed point
  // (the checksums are fixed-width, so filling them in later does not move anything)
  let length = 0;
  for (let pass = 0; pass < 8; pass++) {
    let off = align8(PREFIX + length);
    for (const e of entries) {
      e.offset = off;
      off = align8(off + e.byteLength);
    }
    const next = Buffer.byteLength(JSON.stringify(header), 'utf8');
    if (next === length) break;
    length = next;
  }
  const last = entries[entries.length - 1];
  const total = align8(last.offset + last.byteLength);
  await writeAtomic(path, async (fd) => {
    for (let i = 0; i < tables.length; i++) {
      const entry = entries[i];
      const h = hasher.create64();
      let expected = 0;
      await tables[i].source.read((piece, offset) => {
        if (offset !== expected) throw new Error(`${path}: table ${entry.name}: piece at ${offset}, expected ${expected}`);
        const bytes = new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength);
        writeAll(fd, bytes, entry.offset + offset * 8);
        h.update(bytes);
        expected += piece.length;
      });
      if (expected !== tables[i].source.length) throw new Error(`${path}: table ${entry.name} ended at ${expected} of ${tables[i].source.length} values`);
      entry.xxh64 = hex64(h.digest());
    }
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    if (json.length !== length) throw new Error(`${path}: header layout did not converge`);
    const head = Buffer.alloc(align8(PREFIX + json.length));
    head.write(POLICY_MAGIC, 0, 'ascii');
    head.writeUInt32LE(json.length, 8);
    head.writeUInt32LE(hasher.h32Raw(json), 12);
    json.copy(head, PREFIX);
    writeAll(fd, head, 0);
    // the final table's padding
    if (total > last.offset + last.byteLength) writeAll(fd, new Uint8Array(total - last.offset - last.byteLength), last.offset + last.byteLength);
  });
}

/** A verified policy file: its header and a source per table that reads (and re-checks) it from disk. */
export interface OpenedPolicyFile {
  header: PolicyHeader;
  sources: Record<string, TableSource>;
}

/** Reads and checks a whole policy file in constant memory; throws PolicyFileError naming what is wrong. */
export function openPolicyFile(path: string): OpenedPolicyFile {
  const { header } = scanPolicyFile(path, false);
  const sources: Record<string, TableSource> = {};
  for (const e of header.tables) sources[e.name] = fileSource(path, header, e);
  return { header, sources };
}

/** Reads and checks a policy file's header only (the tables' lengths, not their data). */
export function readPolicyHeader(path: string): PolicyHeader {
  return withFile(path, (fd, size, fail) => readHeader(fd, size, fail));
}

/** Reads and checks a policy file into memory (tables that fit: reports, n-player evaluation, tests). */
export function readPolicies(path: string): { header: PolicyHeader; tables: Record<string, Float64Array> } {
  const { header, tables } = scanPolicyFile(path, true);
  return { header, tables: tables! };
}

function scanPolicyFile(path: string, keep: boolean): { header: PolicyHeader; tables?: Record<string, Float64Array> } {
  return withFile(path, (fd, size, fail) => {
    const header = readHeader(fd, size, fail);
    const tables: Record<string, Float64Array> = {};
    for (const e of header.tables) {
      const target = keep ? new Float64Array(e.byteLength / 8) : undefined;
      const pieces = tablePieces(fd, header, e, target, fail);
      while (!pieces.next().done);
      if (target) tables[e.name] = target;
    }
    return { header, tables: keep ? tables : undefined };
  });
}

/** Opens PATH for reading and runs `f` with its size and a `fail` that throws a PolicyFileError naming it. */
function withFile<T>(path: string, f: (fd: number, size: number, fail: (what: string) => never) => T): T {
  const fail = (what: string): never => {
    throw new PolicyFileError(`${path}: ${what}`);
  };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return fail(`cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return f(fd, fstatSync(fd).size, fail);
  } finally {
    closeSync(fd);
  }
}

function readHeader(fd: number, size: number, fail: (what: string) => never): PolicyHeader {
  if (size < PREFIX) fail(`truncated: ${size} bytes, shorter than the ${PREFIX}-byte prefix`);
  const prefix = Buffer.alloc(PREFIX);
  readFully(fd, prefix, 0);
  const magic = prefix.subarray(0, 8).toString('latin1');
  if (magic === 'M3FGPOL1') fail('written by an older m3fg in format 1 (no checksums); solve again to write format 2');
  if (magic !== POLICY_MAGIC) fail('not an m3fg policy file (wrong magic bytes)');
  const length = prefix.readUInt32LE(8);
  if (length < 2 || length > MAX_HEADER || PREFIX + length > size) fail(`header length ${length} out of range (file of ${size} bytes)`);
  const json = Buffer.alloc(length);
  readFully(fd, json, PREFIX);
  if (hasher.h32Raw(json) !== prefix.readUInt32LE(12)) fail('header checksum mismatch (the header is damaged)');
  const padding = Buffer.alloc(align8(PREFIX + length) - PREFIX - length);
  if (padding.length > 0 && PREFIX + length + padding.length <= size) {
    readFully(fd, padding, PREFIX + length);
    if (padding.some((b) => b !== 0)) fail('damaged padding after the header');
  }
  let header: PolicyHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as PolicyHeader;
  } catch {
    return fail('header is not valid JSON');
  }
  checkHeader(header, align8(PREFIX + length), size, fail);
  return header;
}

const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;

function checkHeader(h: PolicyHeader, dataStart: number, size: number, fail: (what: string) => never): void {
  if (typeof h !== 'object' || h === null || Array.isArray(h)) fail('header is not an object');
  if (h.format !== 'm3fg-policies' || h.version !== 2 || h.byteOrder !== 'little') fail(`unsupported format ${String(h.format)} version ${String(h.version)} (${String(h.byteOrder)} endian)`);
  if (typeof h.game !== 'string' || h.game === '') fail('header: game is not a name');
  if (typeof h.params !== 'object' || h.params === null || Object.values(h.params).some((v) => typeof v !== 'number' || !Number.isFinite(v))) fail('header: params are not finite numbers');
  if (!isPositiveInt(h.bins)) fail(`header: bins ${String(h.bins)} is not a positive integer`);
  if (h.grid !== undefined && h.grid !== 'midpoint' && h.grid !== 'lattice') fail(`header: unknown grid ${String(h.grid)}`);
  if (h.projection !== undefined && h.projection !== 'nearest' && h.projection !== 'interpolate') fail(`header: unknown projection ${String(h.projection)}`);
  if (h.projection === 'interpolate' && h.grid !== 'lattice') fail('header: projection interpolate without the lattice grid');
  const s = h.sizes;
  if (typeof s !== 'object' || s === null) fail('header: sizes missing');
  for (const k of ['T', 'nX', 'nU', 'nX0', 'nU0', 'cells'] as const) {
    if (!isPositiveInt(s[k])) fail(`header: sizes.${k} = ${String(s[k])} is not a positive integer`);
  }
  if (!Number.isSafeInteger(h.initialCell) || h.initialCell < 0 || h.initialCell >= s.cells) fail(`header: initialCell ${String(h.initialCell)} outside [0, ${s.cells})`);
  const { T, nX, nU, nX0, nU0, cells } = s;
  const expected: Record<string, number[]> = {
    minorPolicy: [T, nX0, cells, nX, nU],
    majorPolicy: [T, nX0, cells, nU0],
    gridPoints: [cells, nX],
    minorY: [T, nX0, cells, nX, nU],
    majorY: [T, nX0, cells, nU0],
  };
  if (!Array.isArray(h.tables) || h.tables.length < 3 || h.tables.length > 5) fail('header: tables missing');
  const names = h.tables.map((e) => e?.name);
  const wanted = names.length === 5 ? ['minorPolicy', 'majorPolicy', 'gridPoints', 'minorY', 'majorY'] : ['minorPolicy', 'majorPolicy', 'gridPoints'];
  if (names.join() !== wanted.join()) fail(`header: tables ${names.join(', ')}, expected ${wanted.join(', ')}`);
  let off = dataStart;
  for (const e of h.tables) {
    const shape = expected[e.name];
    if (!Array.isArray(e.shape) || e.shape.join() !== shape.join()) fail(`header: table ${e.name} has shape [${String(e.shape)}], the sizes give [${shape}]`);
    const bytes = shape.reduce((a, b) => a * b, 8);
    if (!Number.isSafeInteger(bytes) || e.byteLength !== bytes) fail(`header: table ${e.name} has byteLength ${String(e.byteLength)}, its shape needs ${bytes}`);
    if (e.dtype !== 'float64') fail(`header: table ${e.name} has dtype ${String(e.dtype)}`);
    if (e.offset !== off) fail(`header: table ${e.name} at offset ${String(e.offset)}, expected ${off}`);
    if (typeof e.xxh64 !== 'string' || !/^[0-9a-f]{16}$/.test(e.xxh64)) fail(`header: table ${e.name} has no xxh64 checksum`);
    off = align8(off + bytes);
  }
  if (size !== off) fail(size < off ? `truncated: ${size} bytes, the header describes ${off}` : `${size - off} bytes of trailing data after the tables (${off} expected)`);
}

/** Rows of `group` values that must form probability distributions (policies, grid points), 0 = finite only. */
function groupOf(header: PolicyHeader, name: string): number {
  const s = header.sizes;
  return name === 'minorPolicy' ? s.nU : name === 'majorPolicy' ? s.nU0 : name === 'gridPoints' ? s.nX : 0;
}

/**
 * Reads table e in pieces (views into `target` when given, else into one reused scratch piece), checking
 * its values as it goes and its checksum after the last piece. Pieces hold whole distributions.
 */
function* tablePieces(fd: number, header: PolicyHeader, e: TableEntry, target: Float64Array | undefined, fail: (what: string) => never): Generator<[Float64Array, number]> {
  const length = e.byteLength / 8;
  const group = groupOf(header, e.name);
  const piece = Math.max(1, Math.floor(PIECE_ELEMENTS / Math.max(group, 1))) * Math.max(group, 1);
  const scratch = target ? undefined : new Float64Array(Math.min(piece, length));
  const h = hasher.create64();
  for (let o = 0; o < length; o += piece) {
    const n = Math.min(piece, length - o);
    const view = target ? target.subarray(o, o + n) : scratch!.subarray(0, n);
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    readFully(fd, bytes, e.offset + o * 8);
    h.update(bytes);
    checkValues(view, o, group, e.name, fail);
    yield [view, o];
  }
  const sum = hex64(h.digest());
  if (sum !== e.xxh64) fail(`table ${e.name}: checksum mismatch (stored ${e.xxh64}, data ${sum}): the data is damaged`);
}

function checkValues(view: Float64Array, offset: number, group: number, name: string, fail: (what: string) => never): void {
  if (group === 0) {
    for (let i = 0; i < view.length; i++) if (!Number.isFinite(view[i])) fail(`table ${name}: value ${view[i]} at index ${offset + i}`);
    return;
  }
  const tol = name === 'gridPoints' ? 1e-9 : DISTRIBUTION_TOLERANCE;
  for (let r = 0; r < view.length; r += group) {
    let sum = 0;
    for (let u = 0; u < group; u++) {
      const v = view[r + u];
      if (!(v >= 0 && v <= 1)) fail(`table ${name}: value ${v} at index ${offset + r + u} is not a probability`);
      sum += v;
    }
    if (!(Math.abs(sum - 1) <= tol)) fail(`table ${name}: row at index ${offset + r} sums to ${sum}, not 1 (within ${tol})`);
  }
}

/** A source reading one verified table from disk again (re-checking values and checksum). */
function fileSource(path: string, header: PolicyHeader, e: TableEntry): TableSource {
  const fail = (what: string): never => {
    throw new PolicyFileError(`${path}: ${what} (the file changed while in use)`);
  };
  return {
    length: e.byteLength / 8,
    async read(visit) {
      const fd = openSync(path, 'r');
      try {
        for (const [view, offset] of tablePieces(fd, header, e, undefined, fail)) await visit(view, offset);
      } finally {
        closeSync(fd);
      }
    },
  };
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, Math.min(into.length - done, 1 << 30), position + done);
    if (n === 0) throw new PolicyFileError(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

export function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
