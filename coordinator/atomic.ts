// Atomic file writes: a temporary file `NAME.<pid>.tmp` in the same folder, fsync, rename, fsync of the
// folder. A write that fails removes its temporary file; one left by a killed process is removed by the
// next run in that folder (removeStaleTemporaries).

import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Writes all of `bytes` at `position` (pieces over 1 GiB go in several calls). */
export function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 30), position + off);
}

/** Creates PATH atomically from what `fill` writes into the open temporary file. */
export async function writeAtomic(path: string, fill: (fd: number) => void | Promise<void>): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    await fill(fd);
    fsyncSync(fd);
  } catch (err) {
    abort(fd, tmp, path, err);
  }
  closeSync(fd);
  commit(tmp, path);
}

/** The synchronous form for data already in memory (JSON files, charts). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, 0);
    fsyncSync(fd);
  } catch (err) {
    abort(fd, tmp, path, err);
  }
  closeSync(fd);
  commit(tmp, path);
}

/** A failed write: close and remove the temporary file, and name PATH in a system error (an fd names none). */
function abort(fd: number, tmp: string, path: string, err: unknown): never {
  closeSync(fd);
  unlinkQuietly(tmp);
  const e = err as NodeJS.ErrnoException;
  if (e instanceof Error && typeof e.code === 'string' && e.path === undefined) e.path = path;
  throw err;
}

function commit(tmp: string, path: string): void {
  renameSync(tmp, path);
  // make the rename itself durable
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Removes `*.<pid>.tmp` files in DIR whose writing process is gone; returns their names. */
export function removeStaleTemporaries(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /\.(\d+)\.tmp$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    if (unlinkQuietly(join(dir, name))) removed.push(name);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function unlinkQuietly(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}
