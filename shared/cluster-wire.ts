// The cluster's wire format: msgpackr with typed arrays kept typed (a message's large Float64Array raw, after
// its msgpack head: see RAW below), and frames that fit the server's max_payload. A message of any size is encoded once, cut into parts of at most `maxPayload` bytes each
// (header included) and put back together by a Reassembler on the receiving side. Pure: no I/O here.
//
// Frame = 24-byte header + part bytes:
//   u32 magic 'M3FW' | u32 sender lane hi | u32 message number | u32 part | u32 parts | u32 total length
// Parts of one message travel on one subject from one publisher, so NATS keeps them in order, but the
// reassembler does not rely on it: it files each part by index.

import { Packr } from 'msgpackr';

// moreTypes: a Float64Array is encoded as one typed extension (its bytes) and decoded into a fresh,
// aligned Float64Array; without it msgpackr turns it into a Buffer of bytes (toolchain.md).
const packr = new Packr({ moreTypes: true, useRecords: false });

// A message (a plain object) with a large Float64Array at its top level (halo rows, pieces, start values) is
// encoded raw: u8 RAW | 3 zero bytes | u32 head length (little-endian) | head = msgpack of [the field's name,
// the message without that field] | zero bytes up to a multiple of 8 | the array's bytes (little-endian).
// The array is copied once, straight into the frame (msgpack would copy it into its buffer, framing once
// more), and decoded as a view on the received bytes where they are 8-byte aligned (else copied once).
// Everything else is plain msgpack, whose first byte is never RAW (0xc1 is unused in msgpack).
const RAW = 0xc1;
/** Arrays shorter than this stay in the msgpack body (not worth a second code path). */
const RAW_MIN_LENGTH = 64;
const RAW_HEAD_BYTES = 8;
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

export function encodeMessage(value: unknown): Uint8Array {
  return encodeWithRoom(value, 0, rawParts(value));
}

/** A raw message's parts: its array, and the msgpack head of [the array's field name, the rest of the message]. */
interface RawParts {
  values: Float64Array;
  head: Uint8Array;
}

/** The raw parts of a message, or undefined when it travels as plain msgpack. */
function rawParts(value: unknown): RawParts | undefined {
  const field = LITTLE_ENDIAN ? rawField(value) : undefined;
  if (field === undefined) return undefined;
  const { [field]: values, ...rest } = value as Record<string, unknown>;
  return { values: values as Float64Array, head: packr.pack([field, rest]) };
}

/** Writes a raw message's header (RAW, 3 zero bytes, the head's length) and its head at bytes[at]; the bytes up to the array must be zero. */
function writeRawHead(bytes: Uint8Array, at: number, head: Uint8Array): void {
  bytes[at] = RAW;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at + 4, head.length, true);
  bytes.set(head, at + RAW_HEAD_BYTES);
}

/** The encoded message after `room` bytes left free (a multiple of 8: a raw array stays 8-byte aligned in the buffer). */
function encodeWithRoom(value: unknown, room: number, raw: RawParts | undefined): Uint8Array {
  if (raw === undefined) {
    const body = packr.pack(value);
    if (room === 0) return body;
    const out = new Uint8Array(room + body.length);
    out.set(body, room);
    return out;
  }
  const { values, head } = raw;
  const rawAt = align8(room + RAW_HEAD_BYTES + head.length);
  const out = new Uint8Array(rawAt + values.byteLength);
  writeRawHead(out, room, head);
  new Float64Array(out.buffer, rawAt, values.length).set(values);
  return out;
}

/** The name of the largest Float64Array of at least RAW_MIN_LENGTH values at the top level of a plain object, if any. */
function rawField(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) return undefined;
  let best: string | undefined;
  let length = RAW_MIN_LENGTH - 1;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v instanceof Float64Array && v.length > length) {
      best = key;
      length = v.length;
    }
  }
  return best;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

export function decodeMessage<T>(bytes: Uint8Array): T {
  if (bytes.length === 0 || bytes[0] !== RAW) return packr.unpack(bytes) as T;
  if (bytes.length < RAW_HEAD_BYTES) throw new Error(`raw message of ${bytes.length} bytes: shorter than its header`);
  const headLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const rawAt = align8(RAW_HEAD_BYTES + headLength);
  if (rawAt > bytes.length || (bytes.length - rawAt) % 8 !== 0) throw new Error(`raw message: head of ${headLength} bytes and ${bytes.length - rawAt} array bytes do not fit its ${bytes.length} bytes`);
  const head = packr.unpack(bytes.subarray(RAW_HEAD_BYTES, RAW_HEAD_BYTES + headLength)) as unknown;
  if (!Array.isArray(head) || head.length !== 2 || typeof head[0] !== 'string' || !/^[A-Za-z]{1,32}$/.test(head[0]) || !head[1] || typeof head[1] !== 'object' || Array.isArray(head[1])) {
    throw new Error('raw message: malformed head');
  }
  const n = (bytes.length - rawAt) / 8;
  const at = bytes.byteOffset + rawAt;
  let values: Float64Array;
  if (at % 8 === 0 && LITTLE_ENDIAN) values = new Float64Array(bytes.buffer, at, n);
  else if (LITTLE_ENDIAN) {
    values = new Float64Array(n);
    new Uint8Array(values.buffer).set(bytes.subarray(rawAt));
  } else {
    const view = new DataView(bytes.buffer, at, n * 8);
    values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = view.getFloat64(8 * i, true);
  }
  return { ...(head[1] as object), [head[0]]: values } as T;
}

export const FRAME_HEADER_BYTES = 24;
const MAGIC = 0x4d334657; // 'M3FW'

/**
 * A message encoded and cut into frames of at most maxPayload bytes (frameMessage(encodeMessage(value)), the
 * same bytes); a message that fits one frame is encoded into it directly, with no copy.
 */
export function encodeFrames(value: unknown, sender: number, seq: number, maxPayload: number): Uint8Array[] {
  frameRoom(maxPayload);
  const raw = rawParts(value);
  const inPlace = raw && frameInPlace(raw, sender, seq, maxPayload);
  if (inPlace) return [inPlace];
  const buffer = encodeWithRoom(value, FRAME_HEADER_BYTES, raw);
  if (buffer.length > maxPayload) return frameMessage(buffer.subarray(FRAME_HEADER_BYTES), sender, seq, maxPayload);
  writeFrameHeader(buffer, sender, seq, 0, 1, buffer.length - FRAME_HEADER_BYTES);
  return [buffer];
}

/** Bytes left free in front of a wireArray: a frame header and a raw message's head fit there. */
const WIRE_ROOM = 256;
const wireArrays = new WeakSet<Float64Array>();

/**
 * n zeros with room in front for a frame header and a message head: a message whose raw array this is goes
 * out as one frame written around it (encodeFrames), not copied. Only arrays made here are written around.
 */
export function wireArray(n: number): Float64Array {
  const a = new Float64Array(new ArrayBuffer(WIRE_ROOM + 8 * n), WIRE_ROOM, n);
  wireArrays.add(a);
  return a;
}

/**
 * The one frame of a message whose raw array is a wireArray, written in the room in front of the array
 * (the frame is a view on the array's buffer); undefined when the message is not such or needs several
 * frames. Sending the same message again rewrites the same head with a new number: a single-frame message
 * is taken whole whatever its number, so a frame still queued by the client stays valid.
 */
function frameInPlace(raw: RawParts, sender: number, seq: number, maxPayload: number): Uint8Array | undefined {
  const { values, head } = raw;
  if (!wireArrays.has(values)) return undefined;
  const front = FRAME_HEADER_BYTES + align8(RAW_HEAD_BYTES + head.length);
  if (front > values.byteOffset || front + values.byteLength > maxPayload) return undefined;
  const frame = new Uint8Array(values.buffer, values.byteOffset - front, front + values.byteLength);
  frame.fill(0, 0, front);
  writeFrameHeader(frame, sender, seq, 0, 1, frame.length - FRAME_HEADER_BYTES);
  writeRawHead(frame, FRAME_HEADER_BYTES, head);
  return frame;
}

function frameRoom(maxPayload: number): number {
  const room = Math.floor(maxPayload) - FRAME_HEADER_BYTES;
  if (!(room >= 1024)) throw new Error(`max_payload ${maxPayload} is too small for the cluster protocol (need >= ${1024 + FRAME_HEADER_BYTES})`);
  return room;
}

function writeFrameHeader(frame: Uint8Array, sender: number, seq: number, part: number, parts: number, total: number): void {
  const view = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  view.setUint32(0, MAGIC);
  view.setUint32(4, sender >>> 0);
  view.setUint32(8, seq >>> 0);
  view.setUint32(12, part);
  view.setUint32(16, parts);
  view.setUint32(20, total);
}

/** Cuts an encoded message into frames of at most maxPayload bytes. `sender` and `seq` name the message. */
export function frameMessage(bytes: Uint8Array, sender: number, seq: number, maxPayload: number): Uint8Array[] {
  const room = frameRoom(maxPayload);
  const parts = Math.max(1, Math.ceil(bytes.length / room));
  const out: Uint8Array[] = [];
  for (let i = 0; i < parts; i++) {
    const body = bytes.subarray(i * room, Math.min(bytes.length, (i + 1) * room));
    const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
    writeFrameHeader(frame, sender, seq, i, parts, bytes.length);
    frame.set(body, FRAME_HEADER_BYTES);
    out.push(frame);
  }
  return out;
}

interface Pending {
  readonly parts: Array<Uint8Array | undefined>;
  readonly total: number;
  received: number;
  bytes: number;
  readonly since: number;
}

export interface ReassemblerLimits {
  /** Largest message accepted, bytes (default 4 GiB - 1: the header's u32). */
  maxMessageBytes?: number;
  /** Bytes held in incomplete messages at once; the oldest are dropped beyond it (default 2 GiB). */
  maxPendingBytes?: number;
  /** An incomplete message older than this is dropped (ms, default 120 s). */
  ttlMs?: number;
}

/**
 * Puts frames back into messages. push() returns the whole message when its last part arrives, undefined
 * before. Frames that are not ours (bad magic, inconsistent sizes) throw; incomplete messages expire.
 */
export class Reassembler {
  private readonly pending = new Map<string, Pending>();
  private pendingBytes = 0;
  /** Recently completed multi-part messages: a late duplicate part of one must not start a new one. */
  private readonly completed = new Set<string>();
  private readonly maxMessageBytes: number;
  private readonly maxPendingBytes: number;
  private readonly ttlMs: number;
  dropped = 0;

  constructor(limits: ReassemblerLimits = {}) {
    this.maxMessageBytes = limits.maxMessageBytes ?? 0xffffffff;
    this.maxPendingBytes = limits.maxPendingBytes ?? 2 ** 31;
    this.ttlMs = limits.ttlMs ?? 120_000;
  }

  push(frame: Uint8Array, now = Date.now()): Uint8Array | undefined {
    if (frame.length < FRAME_HEADER_BYTES) throw new Error(`frame of ${frame.length} bytes: shorter than its header`);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    if (view.getUint32(0) !== MAGIC) throw new Error('not an m3fg frame (bad magic)');
    const key = `${view.getUint32(4)}:${view.getUint32(8)}`;
    const part = view.getUint32(12);
    const parts = view.getUint32(16);
    const total = view.getUint32(20);
    const body = frame.subarray(FRAME_HEADER_BYTES);
    if (parts < 1 || part >= parts || total > this.maxMessageBytes || body.length > total) {
      throw new Error(`bad frame header (part ${part} of ${parts}, ${total} bytes)`);
    }
    this.expire(now);
    if (parts === 1) {
      if (body.length !== total) throw new Error(`frame holds ${body.length} bytes, header says ${total}`);
      return body;
    }
    if (this.completed.has(key)) return undefined;
    let p = this.pending.get(key);
    if (!p) {
      p = { parts: new Array(parts), total, received: 0, bytes: 0, since: now };
      this.pending.set(key, p);
    } else if (p.parts.length !== parts || p.total !== total) {
      throw new Error(`frame ${part} of message ${key} disagrees with its earlier parts`);
    }
    if (p.parts[part]) return undefined; // a duplicate part
    p.parts[part] = body;
    p.received++;
    p.bytes += body.length;
    this.pendingBytes += body.length;
    this.shed();
    if (p.received < parts) return undefined;
    this.pending.delete(key);
    this.completed.add(key);
    if (this.completed.size > 4096) this.completed.delete(this.completed.values().next().value as string);
    this.pendingBytes -= p.bytes;
    if (p.bytes !== total) throw new Error(`message ${key}: parts hold ${p.bytes} bytes, header says ${total}`);
    const out = new Uint8Array(total);
    let at = 0;
    for (const b of p.parts as Uint8Array[]) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }

  /** Incomplete messages held now. */
  get size(): number {
    return this.pending.size;
  }

  private expire(now: number): void {
    for (const [key, p] of this.pending) {
      if (now - p.since <= this.ttlMs) break; // Map keeps insertion order: the oldest come first
      this.drop(key, p);
    }
  }

  private shed(): void {
    for (const [key, p] of this.pending) {
      if (this.pendingBytes <= this.maxPendingBytes) break;
      this.drop(key, p);
    }
  }

  private drop(key: string, p: Pending): void {
    this.pending.delete(key);
    this.pendingBytes -= p.bytes;
    this.dropped++;
  }
}
