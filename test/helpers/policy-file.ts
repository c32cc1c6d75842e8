// Hand-damaging policy files (policies.bin, checkpoint.bin) the way the fault campaign did, including edits
// that are signed again so that only the field and value checks (not the checksums) can catch them.
import { readFileSync, writeFileSync } from 'node:fs';
import { hasher, hashReady, hex64 } from '../../coordinator/policy-file.ts';

await hashReady; // the test helpers re-sign tables synchronously

type Header = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function readHeader(path: string): Header {
  const bytes = readFileSync(path);
  return JSON.parse(bytes.subarray(16, 16 + bytes.readUInt32LE(8)).toString('utf8'));
}

/** Edits the header and signs it again; the new JSON must not be longer (it is padded with spaces). */
export function editHeader(path: string, edit: (h: Header) => void): void {
  const bytes = readFileSync(path);
  const len = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(16, 16 + len).toString('utf8'));
  edit(header);
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length > len) throw new Error(`editHeader: the edited header is ${json.length - len} bytes longer`);
  json = Buffer.concat([json, Buffer.from(' '.repeat(len - json.length))]);
  bytes.writeUInt32LE(hasher.h32Raw(json), 12);
  json.copy(bytes, 16);
  writeFileSync(path, bytes);
}

/** Overwrites one float64 of a table and signs the table (and the header) again. */
export function setValue(path: string, table: string, index: number, value: number): void {
  const bytes = readFileSync(path);
  const len = bytes.readUInt32LE(8);
  const text = bytes.subarray(16, 16 + len).toString('utf8');
  const e = JSON.parse(text).tables.find((t: { name: string }) => t.name === table);
  bytes.writeDoubleLE(value, e.offset + index * 8);
  const sum = hex64(hasher.h64Raw(bytes.subarray(e.offset, e.offset + e.byteLength)));
  const json = Buffer.from(text.replace(e.xxh64, sum), 'utf8');
  json.copy(bytes, 16);
  bytes.writeUInt32LE(hasher.h32Raw(json), 12);
  writeFileSync(path, bytes);
}

/** Flips one bit of the file. */
export function flipBit(path: string, byte: number, bit = 0): void {
  const bytes = readFileSync(path);
  bytes[byte] ^= 1 << bit;
  writeFileSync(path, bytes);
}
