// The cluster executor against a real nats-server and real `m3fg worker` processes (deploy/local-cluster.sh
// with the shipped authenticated config, on loopback):
//   - conformance with 1, 2 and 3 nodes: every game, FP and FPI, then every variant on 3 nodes: the policy,
//     value, greedy tables and the curve equal the inline executor's to the bit;
//   - a node SIGKILLed while a step is in flight, and nats-server restarted while a step is in flight: the run
//     completes with the same bits;
//   - a client with no or wrong credentials is refused; forged and replayed replies change nothing;
//   - `m3fg solve --nats` end to end, and a node drains on SIGTERM.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, frameMessage, Reassembler } from '../shared/cluster-wire.ts';
import type { TaskMessage } from '../shared/cluster-protocol.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { ClusterExecutor, type ClusterExecutorOptions } from '../coordinator/cluster-executor.ts';
import type { SolveOptions } from '../coordinator/solver.ts';
import { expectSameBits, solveCollected, type Solved } from './helpers/same-bits.ts';
import type { Executor, ProblemSpec } from '../coordinator/executor.ts';
import { startCluster, type LocalCluster } from './helpers/cluster.ts';
import { problemOf, VARIANT_CASES } from './helpers/variants.ts';
import { runCli } from './helpers/cli.ts';

const GAMES: ProblemSpec[] = [
  { game: 'sis', params: { T: 12 }, bins: 16 },
  { game: 'buffet', params: { T: 10 }, bins: 8 },
  { game: 'advertisement', params: { T: 12 }, bins: 16 },
  { game: 'cyber', params: { T: 10 }, bins: 8 },
];

async function inline(spec: ProblemSpec, options: SolveOptions, grid?: 'midpoint' | 'lattice'): Promise<Solved> {
  return solveCollected(spec, await problemOf({ ...spec, grid }), new InlineExecutor(), options);
}

async function onCluster(cluster: LocalCluster, spec: ProblemSpec, options: SolveOptions, extra: Partial<ClusterExecutorOptions> = {}, grid?: 'midpoint' | 'lattice') {
  const ex = new ClusterExecutor({ nats: cluster.coordinator, waitForNodesMs: 30_000, ...extra });
  try {
    const result = await solveCollected(spec, await problemOf({ ...spec, grid }), ex, options);
    return { result, stats: ex.stats() };
  } finally {
    await ex.close();
  }
}

describe('cluster executor conformance (bitwise, real nats-server and nodes)', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startCluster(1);
  });
  afterAll(() => cluster?.stop());

  for (const nodes of [1, 2, 3]) {
    it(`${nodes} node(s): every game, FP and FPI, equal to inline`, async () => {
      while (cluster.nodePids().length < nodes) cluster.addNode();
      for (const spec of GAMES) {
        for (const algorithm of ['fp', 'fpi'] as const) {
          const options: SolveOptions = { algorithm, iterations: 3 };
          const want = await inline(spec, options);
          const { result, stats } = await onCluster(cluster, spec, options, { chunks: 2 * nodes + 1, minNodes: nodes });
          expectSameBits(want, result, `${spec.game} ${algorithm} on ${nodes} node(s)`);
          expect(stats.nodesUsed).toBe(nodes);
          expect(stats.retries).toBe(0);
        }
      }
    });
  }

  it('3 nodes: every variant (softmax, OMD, alternating, init, infinite horizon, lattice, user module)', async () => {
    for (const c of VARIANT_CASES) {
      const spec = { game: c.game, params: c.params, bins: c.bins };
      const want = await inline(spec, c.options, c.grid);
      const { result } = await onCluster(cluster, spec, c.options, { chunks: 5, minNodes: 3 }, c.grid);
      expectSameBits(want, result, c.label);
    }
  });

  it('without the value-row selection (fullValues) the bits are the same, with more bytes moved', async () => {
    const spec = GAMES[3];
    const options: SolveOptions = { algorithm: 'fp', iterations: 3 };
    const lean = await onCluster(cluster, spec, options, { chunks: 4, minNodes: 3 });
    const full = await onCluster(cluster, spec, options, { chunks: 4, minNodes: 3, fullValues: true });
    expectSameBits(lean.result, full.result, 'fullValues');
    expect(full.stats.traffic.step.bytesIn).toBeGreaterThan(lean.stats.traffic.step.bytesIn);
    // once warm, nodes keep their slices: the 3 flows together ship the policy tables about once, not 3 times
    const t = lean.result;
    const { nX, nU, nU0 } = (await problemOf(spec)).game;
    const nextCellBytes = (t.minorPolicy.length / (nX * nU)) * nU0 * 4; // int32 per (t, row, u0)
    const oneShip = t.minorPolicy.byteLength + t.majorPolicy.byteLength + nextCellBytes;
    expect(lean.stats.traffic.flow.calls).toBe(3);
    expect(lean.stats.traffic.flow.bytesOut).toBeGreaterThan(oneShip);
    expect(lean.stats.traffic.flow.bytesOut).toBeLessThan(1.5 * oneShip);
  });
});

/** Runs `options` on the cluster and calls `fault` once, while step(tFault) of iteration `nFault` is in flight. */
async function withFaultMidStep(cluster: LocalCluster, spec: ProblemSpec, options: SolveOptions, nFault: number, tFault: number, minNodes: number, fault: () => Promise<void> | void) {
  let flows = 0;
  let fired = false;
  // the fault fires from inside the executor's own iteration: its flow and step are wrapped
  class Faulty extends ClusterExecutor {
    override async flow(): Promise<void> {
      flows++;
      await super.flow();
    }
    override async step(t: number, rule: UpdateRule): Promise<void> {
      const pending = super.step(t, rule);
      if (!fired && flows === nFault + 1 && t === tFault) {
        fired = true;
        await new Promise((r) => setTimeout(r, 2));
        await fault();
      }
      await pending;
    }
  }
  const ex = new Faulty({ nats: cluster.coordinator, chunks: 6, minNodes, heartbeatTimeoutMs: 2_000, waitForNodesMs: 60_000 });
  try {
    const result = await solveCollected(spec, await problemOf(spec), ex, options);
    expect(fired, 'the fault was injected').toBe(true);
    return { result, stats: ex.stats() };
  } finally {
    await ex.close();
  }
}

describe('cluster faults', () => {
  const spec: ProblemSpec = { game: 'cyber', params: { T: 12 }, bins: 12 };
  const options: SolveOptions = { algorithm: 'fp', iterations: 4 };
  let want: Solved;
  let cluster: LocalCluster;
  beforeAll(async () => {
    want = await inline(spec, options);
    cluster = await startCluster(3);
  });
  afterAll(() => cluster?.stop());

  it('a node SIGKILLed while a step is in flight: the run completes with the same bits', async () => {
    const { result, stats } = await withFaultMidStep(cluster, spec, options, 1, 6, 3, () => cluster.kill(2, 'SIGKILL'));
    expectSameBits(want, result, 'node killed');
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.nodesLive).toBe(2);
  });

  it('nats-server restarted while a step is in flight: the run completes with the same bits', async () => {
    const { result } = await withFaultMidStep(cluster, spec, options, 2, 4, 2, () => cluster.restartServer(1_000));
    expectSameBits(want, result, 'server restarted');
  });

  it('a node joining during a run gets work, and the bits stay the same', async () => {
    const { result, stats } = await withFaultMidStep(cluster, spec, options, 1, 8, 2, () => cluster.addNode());
    expectSameBits(want, result, 'node joined');
    expect(stats.nodesUsed).toBe(3);
  });

  it('forged replies on the reply subject change nothing', async () => {
    // a client with worker credentials (the only role allowed to publish replies) reads the tasks and, for
    // each, publishes results the coordinator never asked for: the task's id with a guessed nonce (and NaN
    // values), an invented id, and the same again a second later (late duplicates)
    const rogue = await connect({ servers: cluster.url, user: 'worker', pass: cluster.credentials.M3FG_WORKER_PASS });
    const reasm = new Reassembler();
    let forged = 0;
    const forge = (subject: string, value: unknown) => {
      for (const f of frameMessage(encodeMessage(value), 0xbad, forged++, 1 << 20)) rogue.publish(subject, f);
    };
    rogue.subscribe('m3fg.node.>', {
      callback: (_err, msg) => {
        const whole = reasm.push(msg.data);
        if (!whole || !msg.reply) return;
        const task = decodeMessage<TaskMessage>(whole);
        const node = msg.subject.split('.').pop()!;
        const nan = new Float64Array(task.rowTo - task.rowFrom).fill(Number.NaN);
        const fakes = [
          { type: 'result', id: task.id, nonce: 'guessed', node, ms: 0, nextCell: new Int32Array(1), values: { slot: 0, rows: new Int32Array(0), minorBR: nan, minorEval: nan, majorBR: nan, majorEval: nan } },
          { type: 'result', id: `${task.id}0`, nonce: task.nonce.slice(1), node, ms: 0 },
          { type: 'failure', id: task.id, nonce: 'guessed', node, error: 'forged failure' },
        ];
        const reply = msg.reply;
        for (const fake of fakes) forge(reply, fake);
        setTimeout(() => {
          if (!rogue.isClosed()) for (const fake of fakes) forge(reply, fake);
        }, 1_000);
      },
    });
    await rogue.flush();
    try {
      const { result, stats } = await onCluster(cluster, spec, options, { chunks: 4 });
      expectSameBits(want, result, 'forged replies');
      expect(forged).toBeGreaterThan(0);
      expect(stats.ignoredReplies).toBeGreaterThan(0);
      expect(stats.retries).toBe(0);
    } finally {
      await rogue.close();
    }
  });

  it('the shipped config refuses a client with no or wrong credentials', async () => {
    await expect(connect({ servers: cluster.url, reconnect: false })).rejects.toThrow(/authorization/i);
    await expect(connect({ servers: cluster.url, user: 'worker', pass: 'wrong', reconnect: false })).rejects.toThrow(/authorization/i);
    const ex = new ClusterExecutor({ nats: { url: cluster.url, user: 'coordinator', pass: 'wrong' } });
    await expect(ex.open(spec, await problemOf(spec))).rejects.toThrow(/refused the credentials/);
    const cli = runCli(['worker', '--nats', cluster.url], { M3FG_NATS_USER: 'worker', M3FG_NATS_PASS: 'wrong' });
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/^m3fg: NATS server .* refused the credentials/);
  });

  it('m3fg solve --nats writes the same policies.bin as an inline run; a node drains on SIGTERM', () => {
    const out = mkdtempSync(join(tmpdir(), 'm3fg-cl-'));
    const args = ['solve', '--game', 'sis', '--bins', '12', '--iterations', '5', '--param', 'T=10', '--quiet'];
    const env = { M3FG_NATS_USER: 'coordinator', M3FG_NATS_PASS: cluster.credentials.M3FG_COORDINATOR_PASS };
    const a = runCli([...args, '--nats', cluster.url, '--out', join(out, 'cluster')], env);
    expect(a.code, a.stderr).toBe(0);
    const b = runCli([...args, '--threads', '1', '--out', join(out, 'inline')]);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(join(out, 'cluster', 'policies.bin')).equals(readFileSync(join(out, 'inline', 'policies.bin')))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'cluster', 'run.json'), 'utf8')).executor).toBe('cluster');
    const pid = cluster.nodePids()[0];
    cluster.kill(1, 'SIGTERM');
    const deadline = Date.now() + 15_000;
    while (spawnSync('kill', ['-0', String(pid)]).status === 0 && Date.now() < deadline) spawnSync('sleep', ['0.1']);
    expect(spawnSync('kill', ['-0', String(pid)]).status, 'node exited').not.toBe(0);
    expect(readFileSync(join(cluster.dir, 'node-1.log'), 'utf8')).toMatch(/node stopped/);
  });
});
