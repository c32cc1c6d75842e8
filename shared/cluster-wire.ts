// The cluster's wire format: msgpackr with typed arrays kept typed, and frames that fit the server's
// max_payload. A message of any size is encoded once, cut into parts of at most `maxPayload` bytes each
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

export function encodeMessage(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decodeMessage<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

export const FRAME_HEADER_BYTES = 24;
const MAGIC = 0x4d334657; // 'M3FW'

/** Cuts an encoded message into frames of at most maxPayload bytes. `sender` and `seq` name the message. */
export function frameMessage(bytes: Uint8Array, sender: number, seq: number, maxPayload: number): Uint8Array[] {
  const room = Math.floor(maxPayload) - FRAME_HEADER_BYTES;
  if (!(room >= 1024)) throw new Error(`max_payload ${maxPayload} is too small for the cluster protocol (need >= ${1024 + FRAME_HEADER_BYTES})`);
  const parts = Math.max(1, Math.ceil(bytes.length / room));
  const out: Uint8Array[] = [];
  for (let i = 0; i < parts; i++) {
    const body = bytes.subarray(i * room, Math.min(bytes.length, (i + 1) * room));
    const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
    const view = new DataView(frame.buffer);
    view.setUint32(0, MAGIC);
    view.setUint32(4, sender >>> 0);
    view.setUint32(8, seq >>> 0);
    view.setUint32(12, i);
    view.setUint32(16, parts);
    view.setUint32(20, bytes.length);
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
