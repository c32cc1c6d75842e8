// CPU time of whole processes by thread, from Linux's per-thread scheduler statistics
// (/proc/<pid>/task/<tid>/schedstat, first field: ns on a CPU). bench:cluster reads it for every party of a
// run (the nodes' main threads, their other threads: V8's compiler and GC helpers, worker threads; nats-server;
// the coordinator) at the first and last timed iteration, so the CPU an iteration costs the machine is
// accounted for party by party instead of inferred from wall times. Off Linux every reading is empty.
import { readdirSync, readFileSync } from 'node:fs';

/** ns on a CPU of process `pid`: its main thread (tid = pid) and all its other threads together. */
export interface ProcessCpu {
  main: number;
  others: number;
}

export function processCpu(pid: number): ProcessCpu {
  const out = { main: 0, others: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let ns = 0;
    try {
      ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      continue; // the thread ended between the listing and the read
    }
    if (Number(tid) === pid) out.main += ns;
    else out.others += ns;
  }
  return out;
}

/** Readings of several processes at one moment. */
export function snapshot(pids: Record<string, number>): Record<string, ProcessCpu> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpu(pid)]));
}

/**
 * Seconds per iteration by party between two snapshots over `iterations` iterations: "name main", "name
 * others" (only when they used any CPU), and "total". A thread that ended between the snapshots is lost
 * (its time is not in the later reading): the nodes' and the server's threads live for the whole run.
 */
export function perIteration(a: Record<string, ProcessCpu>, b: Record<string, ProcessCpu>, iterations: number): Array<[string, number]> {
  const rows: Array<[string, number]> = [];
  let total = 0;
  for (const name of Object.keys(b)) {
    const main = (b[name].main - (a[name]?.main ?? 0)) / 1e9 / iterations;
    const others = (b[name].others - (a[name]?.others ?? 0)) / 1e9 / iterations;
    rows.push([`${name} main`, main]);
    if (others > 0.0005) rows.push([`${name} others`, others]);
    total += main + others;
  }
  rows.push(['total', total]);
  return rows;
}

export function describeCpu(rows: Array<[string, number]>): string {
  return rows.map(([k, s]) => `${k} ${s.toFixed(3)}`).join(', ');
}

/** CPU seconds per iteration of each process between two snapshots, all its threads together. */
export function partySeconds(a: Record<string, ProcessCpu>, b: Record<string, ProcessCpu>, iterations: number): Record<string, ProcessCpu> {
  return Object.fromEntries(Object.keys(b).map((name) => [name, { main: (b[name].main - (a[name]?.main ?? 0)) / 1e9 / iterations, others: (b[name].others - (a[name]?.others ?? 0)) / 1e9 / iterations }]));
}

/**
 * CPU-seconds this machine has been busy since boot, all processes (/proc/stat's first line: every state
 * but idle and iowait, in USER_HZ = 100 ticks); NaN off Linux. Busy minus the parties' CPU is the load of
 * other processes: the cores they leave.
 */
export function machineBusy(): number {
  try {
    const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return (user + nice + system + irq + softirq + (steal ?? 0)) / 100;
  } catch {
    return NaN;
  }
}
