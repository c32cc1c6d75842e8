// The owner-computes cluster against a real nats-server and real `m3fg worker` processes (deploy/local-cluster.sh:
// the shipped config with one user per party, on loopback):
//   - conformance with 1, 2 and 3 nodes: every game, FP and FPI, then every variant on 3 nodes: policies and
//     curve equal the inline executor's to the bit;
//   - trust: a node's credentials cannot speak for another node or the coordinator, nor read their subjects;
//     a heartbeat forged for a node that does not run never reaches the coordinator (the run goes on);
//     wrong-role credentials stop `m3fg worker` and `m3fg solve --nats` with one line naming the role;
//   - a node SIGKILLed mid-run: the shards are re-cut over the live node, the run ends with the same bits;
//   - `m3fg solve --nats` end to end; a coordinator SIGKILLed and resumed from its checkpoint; a worker
//     whose server is gone exits within seconds on SIGTERM/SIGINT.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage, frameMessage } from '../shared/cluster-wire.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { ClusterExecutor, type ClusterExecutorOptions } from '../coordinator/cluster-executor.ts';
import type { SolveOptions } from '../coordinator/solver.ts';
import type { ProblemSpec } from '../coordinator/executor.ts';
import { startCluster, type LocalCluster } from './helpers/cluster.ts';
import { problemOf, VARIANT_CASES } from './helpers/variants.ts';
import { repoRoot, runCli } from './helpers/cli.ts';
import { expectSameBits, solveCollected, type Solved } from './helpers/same-bits.ts';

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

const alive = (pid: number) => spawnSync('kill', ['-0', String(pid)]).status === 0;
async function exitsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

describe('cluster conformance (bitwise, real nats-server and nodes)', () => {
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
          const { result, stats } = await onCluster(cluster, spec, options, { minNodes: nodes, maxNodes: nodes });
          expectSameBits(want, result, `${spec.game} ${algorithm} on ${nodes} node(s)`);
          expect(stats.nodes).toHaveLength(nodes);
          expect(stats.dropped).toBe(0);
        }
      }
    });
  }

  it('3 nodes: every variant (softmax, OMD, alternating, init, infinite horizon, lattice, user module)', async () => {
    for (const c of VARIANT_CASES) {
      const spec = { game: c.game, params: c.params, bins: c.bins };
      const want = await inline(spec, c.options, c.grid);
      const { result } = await onCluster(cluster, spec, c.options, { minNodes: 3, maxNodes: 3 }, c.grid);
      expectSameBits(want, result, c.label);
    }
  });
});

describe('cluster trust and failures', () => {
  const spec: ProblemSpec = { game: 'cyber', params: { T: 10 }, bins: 10 };
  const options: SolveOptions = { algorithm: 'fp', iterations: 3 };
  let cluster: LocalCluster;
  let want: Solved;
  beforeAll(async () => {
    want = await inline(spec, options);
    cluster = await startCluster(2);
  });
  afterAll(() => cluster?.stop());

  it("a node's credentials cannot publish as another party nor read another party's subjects", async () => {
    const nc = await connect({ servers: cluster.url, ...userPass(cluster.node(2)), reconnect: false });
    const errors: string[] = [];
    void (async () => {
      for await (const st of nc.status()) if (st.type === 'error') errors.push(String((st as { error?: Error }).error?.message));
    })();
    // reading node 1's or the coordinator's inbox is refused
    const sub = nc.subscribe('m3fg.to.node-1.from.*', { callback: (err) => void (err && errors.push(err.message)) });
    const sub2 = nc.subscribe('m3fg.to.coord.from.*', { callback: (err) => void (err && errors.push(err.message)) });
    // forged: a reply as node 1, an order as the coordinator, a heartbeat for a node that does not run
    const frame = (v: unknown) => frameMessage(encodeMessage(v), 1, 1, 1 << 20)[0];
    nc.publish('m3fg.to.coord.from.node-1', frame({ type: 'done', run: 'x', n: 0 }));
    nc.publish('m3fg.to.node-1.from.coord', frame({ type: 'close', run: 'x' }));
    nc.publish('m3fg.to.coord.from.node-7', frame({ type: 'hb', threads: 64, state: 'ready' }));
    await nc.flush().catch(() => {});
    await new Promise((r) => setTimeout(r, 300));
    expect(errors.filter((e) => /permission/i.test(e)).length, errors.join('; ')).toBeGreaterThanOrEqual(4);
    sub.unsubscribe();
    sub2.unsubscribe();
    await nc.close();
  });

  it('heartbeats forged for a node that never answers do not reach the coordinator: the run completes on the real nodes', async () => {
    const nc = await connect({ servers: cluster.url, ...userPass(cluster.node(2)), reconnect: false });
    const frame = frameMessage(encodeMessage({ type: 'hb', threads: 64, state: 'ready' }), 1, 1, 1 << 20)[0];
    const timer = setInterval(() => nc.publish('m3fg.to.coord.from.node-9', frame), 50);
    try {
      const { result, stats } = await onCluster(cluster, spec, options, { minNodes: 2 });
      expectSameBits(want, result, 'with forged heartbeats');
      expect(stats.nodes).not.toContain('node-9');
      expect(stats.nodes).toHaveLength(2);
    } finally {
      clearInterval(timer);
      await nc.close();
    }
  });

  it('wrong-role credentials: one m3fg line naming the role, exit 2', () => {
    const asCoordinator = runCli(['worker', '--nats', cluster.url, '--name', 'node-5', '--threads', '1'], {
      M3FG_NATS_USER: 'coordinator',
      M3FG_NATS_PASS: cluster.credentials.M3FG_COORDINATOR_PASS,
    });
    expect(asCoordinator.code, asCoordinator.stderr).toBe(2);
    expect(asCoordinator.stderr.trim().split('\n')).toHaveLength(1);
    expect(asCoordinator.stderr).toMatch(/^m3fg: NATS user 'coordinator' may not act as node node-5 .*m3fg\.to\.node-5\.from\.\*/);
    const otherNode = runCli(['worker', '--nats', cluster.url, '--name', 'node-6', '--threads', '1'], { M3FG_NATS_USER: 'node-5', M3FG_NATS_PASS: cluster.credentials.M3FG_NODE_5_PASS });
    expect(otherNode.code, otherNode.stderr).toBe(2);
    expect(otherNode.stderr).toMatch(/^m3fg: NATS user 'node-5' may not act as node node-6/);
    const out = mkdtempSync(join(tmpdir(), 'm3fg-role-'));
    const asNode = runCli(['solve', '--game', 'sis', '--bins', '8', '--iterations', '1', '--nats', cluster.url, '--out', join(out, 'r'), '--quiet'], {
      M3FG_NATS_USER: 'node-1',
      M3FG_NATS_PASS: cluster.credentials.M3FG_NODE_1_PASS,
    });
    expect(asNode.code, asNode.stderr).toBe(2);
    expect(asNode.stderr.trim().split('\n')).toHaveLength(1);
    expect(asNode.stderr).toMatch(/^m3fg: NATS user 'node-1' may not act as the coordinator/);
  });

  for (const downMs of [500, 5_000]) {
    it(`nats-server down for ${downMs} ms mid-run: the run ends with the same bits, costing seconds`, async () => {
      const big = { game: 'cyber', params: { T: 20 }, bins: 16 };
      const opts: SolveOptions = { algorithm: 'fp', iterations: 6 };
      const problem = await problemOf(big);
      const expected = await inline(big, opts);
      const timedRun = async (fault: boolean) => {
        const ex = new ClusterExecutor({ nats: cluster.coordinator, minNodes: 2, maxNodes: 2 });
        let restart: Promise<void> | undefined;
        let killedAt = 0;
        let lastAt = 0;
        const t0 = Date.now();
        try {
          const result = await solveCollected(big, problem, ex, {
            ...opts,
            onIteration: (p) => {
              lastAt = Date.now();
              if (fault && p.iteration === 1) {
                killedAt = Date.now();
                restart = cluster.restartServer(downMs);
              }
            },
          });
          await restart;
          return { result, ms: Date.now() - t0, killedAt, lastAt };
        } finally {
          await ex.close();
        }
      };
      const clean = await timedRun(false);
      const faulty = await timedRun(true);
      expectSameBits(expected, faulty.result, `server down ${downMs} ms`);
      // the outage really hit the run: its last iterations had to wait for the server to come back
      expect(faulty.lastAt - faulty.killedAt).toBeGreaterThanOrEqual(downMs);
      expect(faulty.ms - clean.ms - downMs, 'time the outage added beyond its own length').toBeLessThan(15_000);
    });
  }

  it('a node SIGKILLed mid-run: its shard goes to the live node, the live node restores its new rows from the snapshot buckets (the dead node\'s too), the run ends with the same bits', async () => {
    const ex = new ClusterExecutor({ nats: cluster.coordinator, minNodes: 2, heartbeatTimeoutMs: 1_500, snapshotEvery: 2 });
    const big = { game: 'cyber', params: { T: 20 }, bins: 16 };
    const opts: SolveOptions = { algorithm: 'fp', iterations: 6 };
    const expected = await inline(big, opts);
    try {
      const got = await solveCollected(big, await problemOf(big), ex, {
        ...opts,
        onIteration: (p) => {
          if (p.iteration === 2) cluster.kill(2, 'SIGKILL');
        },
      });
      expectSameBits(expected, got, 'node killed');
      expect(ex.stats().recoveries).toBe(1);
      expect(ex.stats().snapshots, "snapshots in the nodes' JetStream buckets of the shipped config").toBe('nodes');
      expect(ex.stats().nodes).toEqual(['node-1']);
    } finally {
      await ex.close();
    }
  });
});

describe('m3fg solve --nats and worker shutdown', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startCluster(2);
  });
  afterAll(() => cluster?.stop());

  it('m3fg solve --nats writes the same policies.bin as an inline run', () => {
    const out = mkdtempSync(join(tmpdir(), 'm3fg-cl-'));
    const args = ['solve', '--game', 'sis', '--bins', '12', '--iterations', '5', '--param', 'T=10', '--quiet'];
    const env = { M3FG_NATS_USER: 'coordinator', M3FG_NATS_PASS: cluster.credentials.M3FG_COORDINATOR_PASS };
    const a = runCli([...args, '--nats', cluster.url, '--out', join(out, 'cluster')], env);
    expect(a.code, a.stderr).toBe(0);
    const b = runCli([...args, '--threads', '1', '--out', join(out, 'inline')]);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(join(out, 'cluster', 'policies.bin')).equals(readFileSync(join(out, 'inline', 'policies.bin')))).toBe(true);
    const run = JSON.parse(readFileSync(join(out, 'cluster', 'run.json'), 'utf8'));
    expect(run.executor).toBe('cluster');
    // the coordinator's estimate holds no rows; each node's, its shard's
    const { memory, sizes } = run;
    expect([memory.keptCells, memory.tableBytes, memory.modelBytes]).toEqual([0, 0, sizes.cells * sizes.nX * 8]);
    expect(memory.nodes.map((n: { cells: number[] }) => n.cells).flat()).toEqual([0, run.cluster.cellBounds[1], run.cluster.cellBounds[1], sizes.cells]);
    for (const n of memory.nodes) expect(n.totalBytes).toBeGreaterThan(memory.totalBytes);
  });

  it('coordinator SIGKILLed mid-run, then m3fg solve --resume DIR --nats: the same bits as an uninterrupted inline run', async () => {
    const out = mkdtempSync(join(tmpdir(), 'm3fg-resume-'));
    const args = ['solve', '--game', 'cyber', '--bins', '12', '--param', 'T=20', '--iterations', '40', '--checkpoint-every', '2', '--quiet'];
    const env = { ...process.env, M3FG_NATS_USER: 'coordinator', M3FG_NATS_PASS: cluster.credentials.M3FG_COORDINATOR_PASS };
    const child = spawn(process.execPath, ['bin/m3fg.js', ...args, '--nats', cluster.url, '--out', join(out, 'cluster')], { cwd: repoRoot, env, stdio: 'ignore' });
    const checkpoint = join(out, 'cluster', 'checkpoint.bin');
    const deadline = Date.now() + 90_000;
    while (!existsSync(checkpoint) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(checkpoint), 'a checkpoint was written').toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(join(out, 'cluster', 'policies.bin')), 'killed before the end').toBe(false);
    const resumed = runCli(['solve', '--resume', join(out, 'cluster'), '--nats', cluster.url, '--quiet'], env as Record<string, string>);
    expect(resumed.code, resumed.stderr).toBe(0);
    const inlineRun = runCli([...args, '--threads', '1', '--out', join(out, 'inline')]);
    expect(inlineRun.code, inlineRun.stderr).toBe(0);
    expect(readFileSync(join(out, 'cluster', 'policies.bin')).equals(readFileSync(join(out, 'inline', 'policies.bin')))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'cluster', 'run.json'), 'utf8')).resumedAt).toBeGreaterThan(0);
  });

  it('with the server gone, a worker exits within seconds on SIGTERM (and another on SIGINT)', async () => {
    const [p1, p2] = cluster.nodePids();
    const server = cluster.serverPid();
    process.kill(server, 'SIGKILL');
    expect(await exitsWithin(server, 5_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500)); // the nodes notice and start reconnecting
    cluster.kill(1, 'SIGTERM');
    cluster.kill(2, 'SIGINT');
    expect(await exitsWithin(p1, 6_000), 'SIGTERM: node exited').toBe(true);
    expect(await exitsWithin(p2, 6_000), 'SIGINT: node exited').toBe(true);
    expect(readFileSync(join(cluster.dir, 'node-1.log'), 'utf8')).toMatch(/node stopped/);
  });
});

function userPass(o: { user?: string; pass?: string }): { user?: string; pass?: string } {
  return { user: o.user, pass: o.pass };
}
