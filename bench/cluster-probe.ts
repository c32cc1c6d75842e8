// The messaging probe of the scaling model (docs/cluster.md, "Scaling model"): what one halo message costs
// in CPU, per message and per byte, to its sender, its receiver and nats-server, measured through the real
// wire code (shared/cluster-transport.ts NatsTransport: encode, frame, publish; reassemble, decode) and the
// run's own nats-server before the run, so no input comes from the run the model predicts.
//
// For two sizes (a 1-row message and a large one), in this process: first the sender alone (nobody
// subscribed: the server reads and drops), then sender and receiver (the server forwards). One message at
// a time, each flushed (a PING/PONG with the server, which the nodes do not make: a small overestimate). Per-thread CPU
// (schedstat, bench/cpu-parties.ts) of this process's main thread and its other threads (V8's GC and
// compiler helpers), and of nats-server. Receiving = both - sending alone. Two sizes give a line: seconds
// per message and per byte. Median of `rounds` rounds.

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsTransport } from '../shared/cluster-transport.ts';
import type { LocalCluster } from '../test/helpers/cluster.ts';
import { processCpu } from './cpu-parties.ts';
import { lineThrough, type MessagingCosts } from './cluster-model.ts';

interface Reading {
  main: number;
  others: number;
  server: number;
}

function read(serverPid: number): Reading {
  const me = processCpu(process.pid);
  return { main: me.main, others: me.others, server: processCpu(serverPid).main + processCpu(serverPid).others };
}

/** CPU seconds per message of each party between two readings, the main thread's spins taken out. */
function per(a: Reading, b: Reading, n: number): Reading {
  return { main: (b.main - a.main) / 1e9 / n - BUSY_MS / 1000, others: (b.others - a.others) / 1e9 / n, server: (b.server - a.server) / 1e9 / n };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * n messages one at a time, as a node sends its halo (one message per step and peer, not in bursts that
 * the client and the server would batch): each in a fresh array (a node's gather allocates one) and each
 * flushed (a round trip to the server) before the next, and with a receiver, also received before the next.
 */
async function sendAll(tx: NatsTransport, nc: NatsConnection, values: number, n: number, received?: () => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i++) {
    const got = received?.();
    tx.send('node-16', { type: 'halo', run: 'probe', n: 1, step: i, values: new Float64Array(values) });
    await nc.flush();
    busy(BUSY_MS);
    await got;
  }
}

/**
 * A node reads its socket between kernel calls, not at once: the receiver is kept busy this long after each
 * message reached the server (in both phases, so the difference leaves it out), and the server holds what it
 * could not write meanwhile, as it does for a computing node.
 */
const BUSY_MS = 2;

/** Spins for `ms` of this process's CPU time (not wall time: on a loaded machine a spin is preempted), which read() then takes back out. */
function busy(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const u = process.cpuUsage(start);
    if (u.user + u.system >= ms * 1000) return;
  }
}

/** One round at one size: CPU per message of sending alone, and of sending and receiving. */
async function round(cluster: LocalCluster, values: number, n: number): Promise<{ bytes: number; send: Reading; both: Reading }> {
  const a = await connect({ servers: cluster.url, user: cluster.coordinator.user, pass: cluster.coordinator.pass });
  const b = await connect({ servers: cluster.url, user: 'node-16', pass: cluster.credentials.M3FG_NODE_16_PASS });
  try {
    const tx = new NatsTransport(a, 'coord', 'm3fg');
    await sendAll(tx, a, values, 8); // warm the code up
    const pid = cluster.serverPid();
    const r0 = read(pid);
    await sendAll(tx, a, values, n);
    const r1 = read(pid);
    const rx = new NatsTransport(b, 'node-16', 'm3fg');
    let done: () => void = () => {};
    rx.listen(() => done());
    await b.flush();
    const received = () => new Promise<void>((r) => (done = r));
    const r2 = read(pid);
    await sendAll(tx, a, values, n, received);
    const r3 = read(pid);
    const bytes = tx.bytes.sent / (2 * n + 8);
    await rx.close();
    return { bytes, send: per(r0, r1, n), both: per(r2, r3, n) };
  } finally {
    await a.close();
    await b.close();
  }
}

/**
 * Messaging costs through the cluster's server: sizes of 1 and `bigRows` value rows of `rowWidth` doubles,
 * `rounds` rounds. The receive side is the difference (both - send alone); its 'others' are mostly GC of
 * the decoded messages.
 */
export async function probeMessaging(cluster: LocalCluster, rowWidth: number, bigRows = 2048, rounds = 3): Promise<MessagingCosts & { sizes: [number, number] }> {
  const sizes = [
    { values: rowWidth, n: 300 },
    { values: rowWidth * bigRows, n: 100 },
  ];
  const samples: Array<Array<{ bytes: number; send: Reading; both: Reading }>> = sizes.map(() => []);
  for (let r = 0; r < rounds; r++) for (let s = 0; s < sizes.length; s++) samples[s].push(await round(cluster, sizes[s].values, sizes[s].n));
  const m = samples.map((xs) => ({
    bytes: xs[0].bytes,
    send: { main: median(xs.map((x) => x.send.main)), others: median(xs.map((x) => x.send.others)), server: median(xs.map((x) => x.send.server)) },
    both: { main: median(xs.map((x) => x.both.main)), others: median(xs.map((x) => x.both.others)), server: median(xs.map((x) => x.both.server)) },
  }));
  const [s, b] = m;
  const line = (f: (x: (typeof m)[number]) => number) => lineThrough(s.bytes, f(s), b.bytes, f(b));
  return {
    send: line((x) => x.send.main),
    receive: line((x) => x.both.main - x.send.main),
    sendOthers: line((x) => x.send.others),
    receiveOthers: line((x) => x.both.others - x.send.others),
    server: line((x) => x.both.server),
    sizes: [s.bytes, b.bytes],
  };
}
