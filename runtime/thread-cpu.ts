// CPU time of threads, from Linux's per-thread scheduler statistics (/proc/<pid>/task/<tid>/schedstat: ns on
// a CPU, ns waiting on a run queue while runnable, time slices). A team call's busy time on the wall clock
// includes the time another process held the core; its CPU time does not, so on a loaded machine the CPU time
// still says what the kernels cost. Each thread reads its own file through a descriptor it opened once
// (a pread: ~3 us). Precision: the kernel adds a running thread's time to these counters at each scheduler
// tick (4 ms here, CONFIG_HZ=250) and context switch, not at the read, so a short span reads 0 or a whole
// tick, and its reading may include time just before it (a spin that did not sleep): sums over many spans and
// whole-thread readings are what to use. Where there is no such file (not Linux, or a kernel without schedstats), every reading
// is undefined and the traces leave the CPU fields at 0.

import { closeSync, openSync, readlinkSync, readSync } from 'node:fs';

export interface CpuReading {
  /** Nanoseconds on a CPU, and waiting on a run queue (runnable, but another thread had the core). */
  readonly cpuNs: number;
  readonly waitNs: number;
}

const buffer = Buffer.alloc(96);
let own: number | undefined | null;

/** The calling thread's reading (undefined where schedstat is not available). */
export function threadCpu(): CpuReading | undefined {
  if (own === undefined) own = tryOpen('/proc/thread-self/schedstat');
  return own === null ? undefined : readFd(own);
}

/** The calling thread's CPU time in ms (0 where schedstat is unreadable, so differences of readings are 0 there). */
export function threadCpuMs(): number {
  return (threadCpu()?.cpuNs ?? 0) / 1e6;
}

/** Linux thread id of the calling thread (undefined off Linux). */
export function threadTid(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
}

/** Reading of thread `tid` of this process (another thread's, e.g. a worker's); undefined if unavailable. */
export function taskCpu(tid: number): CpuReading | undefined {
  const fd = tryOpen(`/proc/self/task/${tid}/schedstat`);
  if (fd === null) return undefined;
  try {
    return readFd(fd);
  } finally {
    closeSync(fd);
  }
}

function tryOpen(path: string): number | null {
  try {
    return openSync(path, 'r');
  } catch {
    return null;
  }
}

function readFd(fd: number): CpuReading | undefined {
  try {
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    const [cpu, wait] = buffer.toString('latin1', 0, n).split(' ');
    const cpuNs = Number(cpu);
    const waitNs = Number(wait);
    return Number.isFinite(cpuNs) && Number.isFinite(waitNs) ? { cpuNs, waitNs } : undefined;
  } catch {
    return undefined;
  }
}
