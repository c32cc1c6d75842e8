// Studies on a cluster through the JetStream job queue (`m3fg sweep --nats`, `m3fg worker` nodes): the same
// results as on this machine, bit for bit; a node SIGKILLed mid-run (5 trials): the run is redelivered and the
// study completes identically; the coordinator SIGKILLed and restarted: nothing finished is computed again.
// On the shipped server config (a user per party): a node may create no consumer or stream, may write only
// its own status keys and results bucket (forging status, overwriting or purging results fail), and a sweep
// still works.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentSummary } from '../coordinator/experiment.ts';
import type { SweepSummary } from '../coordinator/sweep-run.ts';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { decodeJson, encodeJson, ensureJobQueue, ensureNodeResults, nodeJobKey, nodeKey, openJobQueue, packFiles } from '../runtime/job-queue.ts';
import { connectNats } from '../runtime/nats-transport.ts';
import { getObject } from '../runtime/object-get.ts';
import { repoRoot, runCli } from './helpers/cli.ts';
import { startCluster, type LocalCluster } from './helpers/cluster.ts';
import { startJetStream, type JetStreamCluster } from './helpers/jetstream.ts';

const root = mkdtempSync(join(tmpdir(), 'm3fg-jobs-'));
// 8 configurations of about a second each: long enough to kill a node or the coordinator mid-study
const ARGS = ['--game', 'sis', '--bins', '30', '--algorithm', 'fp,omd', '--param', 'beta=0.4:0.7:0.1', '--iterations', '80'];
const reference = join(root, 'local');
let js: JetStreamCluster;

beforeAll(async () => {
  js = await startJetStream(0);
  const res = runCli(['sweep', ...ARGS, '--threads', '2', '--no-report', '--out', reference]);
  expect(res.code, res.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await js?.stop();
  rmSync(root, { recursive: true, force: true });
});

function summary(dir: string): SweepSummary {
  return JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
}

/** Every configuration of `dir` finished, with curve.json and policies.bin byte-identical to the local run's. */
function expectSameAsLocal(dir: string): void {
  const ref = summary(reference);
  const got = summary(dir);
  expect(got.configurations.map((c) => c.key)).toEqual(ref.configurations.map((c) => c.key));
  for (const c of got.configurations) {
    expect(['ran', 'reused']).toContain(c.status);
    for (const file of ['curve.json', 'policies.bin']) {
      const a = readFileSync(join(dir, c.dir, file));
      const b = readFileSync(join(reference, c.dir, file));
      expect(a.equals(b), `${c.key}/${file}`).toBe(true);
    }
  }
}

function sweep(out: string, prefix: string, extra: string[] = []): ChildProcess {
  return spawn(process.execPath, ['bin/m3fg.js', 'sweep', ...ARGS, '--no-report', '--out', out, '--nats', js.url, '--subject-prefix', prefix, '--ack-wait', '3', ...extra], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  child.stdout!.on('data', (d) => (stdout += String(d)));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr, stdout })));
}

async function until(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function jobLines(node: number): Array<{ msg: string; job: string; delivery: number }> {
  return js
    .nodeLog(node)
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"job"'))
    .map((l) => JSON.parse(l));
}

describe('m3fg sweep --nats', () => {
  it('with 2 nodes gives the local results, bit for bit, both nodes taking part', async () => {
    const a = js.addNode(1, 'two');
    const b = js.addNode(1, 'two');
    // both consuming before the study queues anything: each has one thread, so while one runs a job (about a
    // second) it takes no other, and the next job goes to the other
    await js.ready('two', [a, b], 3);
    const out = join(root, 'two');
    const res = await exitOf(sweep(out, 'two'));
    expect(res.code, res.stderr).toBe(0);
    expectSameAsLocal(out);
    expect(summary(out).ran).toBe(8);
    expect(res.stdout).toMatch(/nodes consuming: 2/);
    // each run was computed exactly once, by one of the nodes, and each node computed some
    const done = [...js.jobsDone(a), ...js.jobsDone(b)];
    expect(done.sort()).toEqual(summary(out).configurations.map((c) => c.key).sort());
    expect(js.jobsDone(a).length, 'runs of node a').toBeGreaterThan(0);
    expect(js.jobsDone(b).length, 'runs of node b').toBeGreaterThan(0);
    // provenance: sweep.json names the node each result was taken from, and it is the node that computed it
    for (const c of summary(out).configurations) expect(c.node, c.key).toBe(`node-${js.jobsDone(a).includes(c.key) ? a : b}`);
    await js.kill(a);
    await js.kill(b);
  }, 300_000);

  it('completes identically when a node is SIGKILLed mid-run (5 trials)', async () => {
    let redelivered = 0;
    for (let trial = 1; trial <= 5; trial++) {
      const prefix = `kill${trial}`;
      const nodes = [js.addNode(1, prefix), js.addNode(1, prefix)];
      await js.ready(prefix, nodes, 3);
      const out = join(root, prefix);
      const run = exitOf(sweep(out, prefix));
      // the victim is the first node seen working (either may take the first job; the other may take them all)
      const started = (n: number) => jobLines(n).some((l) => l.msg === 'job started');
      await until(`a node of trial ${trial} to start a job`, () => nodes.some(started));
      const victim = started(nodes[0]) ? nodes[0] : nodes[1];
      const survivor = victim === nodes[0] ? nodes[1] : nodes[0];
      await js.kill(victim);
      const killed = jobLines(victim).filter((l) => l.msg === 'job started').pop()!.job;
      const finishedBeforeKill = jobLines(victim).some((l) => l.msg === 'job done' && l.job === killed);
      const res = await run;
      expect(res.code, res.stderr).toBe(0);
      expectSameAsLocal(out);
      // the killed run was finished by the other node after a redelivery (unless it had completed first)
      const redone = jobLines(survivor).find((l) => l.msg === 'job done' && l.job === killed);
      expect(finishedBeforeKill || (redone !== undefined && redone.delivery >= 2), `trial ${trial}: ${killed}`).toBe(true);
      if (redone && redone.delivery >= 2) redelivered++;
      await js.kill(survivor);
    }
    expect(redelivered).toBeGreaterThanOrEqual(3);
  }, 600_000);

  it('recomputes nothing finished when the coordinator is SIGKILLed and restarted', async () => {
    const a = js.addNode(1, 'restart');
    const b = js.addNode(1, 'restart');
    const out = join(root, 'restart');
    const first = sweep(out, 'restart');
    const firstExit = exitOf(first);
    await until('3 runs to finish', () => js.jobsDone(a).length + js.jobsDone(b).length >= 3);
    first.kill('SIGKILL');
    await firstExit;
    const doneBeforeRestart = js.jobsDone(a).length + js.jobsDone(b).length;
    const res = await exitOf(sweep(out, 'restart'));
    expect(res.code, res.stderr).toBe(0);
    expectSameAsLocal(out);
    const computed = [...js.jobsDone(a), ...js.jobsDone(b)];
    // every run computed exactly once across both coordinator processes
    expect(computed.length).toBe(8);
    expect(new Set(computed).size).toBe(8);
    const s = summary(out);
    // the restarted coordinator took the runs finished before it started from DIR or the bucket
    expect(s.reused).toBeGreaterThanOrEqual(doneBeforeRestart > 0 ? 1 : 0);
    expect(s.reused + s.ran).toBe(8);
    console.log(`coordinator restart: ${doneBeforeRestart} runs finished before the restart, ${s.reused} reused by the restarted coordinator, ${computed.length} computed in all (8 configurations)`);
    expect(existsSync(join(out, 'sweep.json'))).toBe(true);
    await js.kill(a);
    await js.kill(b);
  }, 300_000);

  it('with no node consuming, gives up after --node-wait with one line, and the same command resumes the queue', async () => {
    const out = join(root, 'nonode');
    const first = await exitOf(sweep(out, 'nonode', ['--node-wait', '2']));
    expect(first.code, first.stderr).toBe(1);
    const lines = first.stderr.trimEnd().split('\n');
    expect(lines, first.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^m3fg: --nats \S+: no node took or advanced a job for 2 s \(0 consuming on nonode-jobs\); the 8 jobs left stay queued/);
    expect(first.stdout).toMatch(/waiting for nodes \(0 consuming/);
    // the queue kept every job: a node started now computes each once, for the rerun that waits for them
    const a = js.addNode(1, 'nonode');
    const second = await exitOf(sweep(out, 'nonode', ['--log-level', 'info']));
    expect(second.code, second.stderr).toBe(0);
    expectSameAsLocal(out);
    expect(second.stderr.match(/already queued or running on the cluster/g)).toHaveLength(8);
    expect(js.jobsDone(a).sort()).toEqual(summary(out).configurations.map((c) => c.key).sort());
    await js.kill(a);
  }, 300_000);

  it('runs experiment paper --quick on the nodes with the local results', async () => {
    const a = js.addNode(1, 'paper');
    const b = js.addNode(2, 'paper');
    const local = join(root, 'paper-local');
    const remote = join(root, 'paper-nats');
    const l = runCli(['experiment', 'paper', '--quick', '--threads', '2', '--out', local]);
    expect(l.code, l.stderr).toBe(0);
    const child = spawn(process.execPath, ['bin/m3fg.js', 'experiment', 'paper', '--quick', '--out', remote, '--nats', js.url, '--subject-prefix', 'paper'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const res = await exitOf(child);
    expect(res.code, res.stderr).toBe(0);
    const want: ExperimentSummary = JSON.parse(readFileSync(join(local, 'summary.json'), 'utf8'));
    const got: ExperimentSummary = JSON.parse(readFileSync(join(remote, 'summary.json'), 'utf8'));
    expect(got.jobs.map((j) => j.key)).toEqual(want.jobs.map((j) => j.key));
    expect(got.ran).toBe(got.jobs.length);
    for (const j of got.jobs) {
      if (j.kind === 'solve') {
        for (const file of ['curve.json', 'policies.bin']) {
          expect(readFileSync(join(remote, 'runs', j.key, file)).equals(readFileSync(join(local, 'runs', j.key, file))), `${j.key}/${file}`).toBe(true);
        }
      } else {
        const rows = (dir: string) => {
          const r = JSON.parse(readFileSync(join(dir, 'nplayer', `${j.key}.json`), 'utf8'));
          return { mf: r.mfPrediction, rows: r.rows.map(({ seconds: _s, ...row }: { seconds: number }) => row) };
        };
        expect(rows(remote)).toEqual(rows(local));
      }
    }
    // every job computed on a node, once
    expect([...js.jobsDone(a), ...js.jobsDone(b)].sort()).toEqual(got.jobs.map((j) => j.key).sort());
    expect(existsSync(join(remote, 'figures', 'figure4-nplayer.png'))).toBe(true);
    await js.kill(a);
    await js.kill(b);
  }, 600_000);
});

describe('the job queue on the shipped server config (a user per party)', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startCluster(0); // node users exist for node-1..; the node process starts in the sweep's test
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('a node pulls jobs and reads results with message gets, and may create no consumer (a forged sender)', async () => {
    const [coord, node] = [await connectNats(cluster.coordinator), await connectNats(cluster.node(1))];
    try {
      // the coordinator's user creates the queue (the stream, its one durable consumer, both buckets)
      const queue = await ensureJobQueue(coord, 'm3fg', { ackWaitMs: 5_000 });
      // an object of several chunks (128 KiB each), written by the coordinator, read back by the node bit for bit
      const data = new Uint8Array(300_001).map((_, i) => (i * 2654435761) >>> 24);
      await queue.results.putBlob({ name: 'sec-object' }, data);
      const mine = await openJobQueue(node, 'm3fg');
      const back = await getObject(mine.jsm.streams, mine.names.results, 'sec-object');
      expect(back && Buffer.from(back).equals(Buffer.from(data))).toBe(true);
      expect(await getObject(mine.jsm.streams, mine.names.results, 'no-such-object')).toBeNull();
      // a job queued by the coordinator is pulled by the node from the durable consumer and acked
      await jetstream(coord).publish(queue.names.subject('sec'), encodeJson({ job: { key: 'sec' } }));
      const msg = await (await jetstream(node).consumers.get(mine.names.stream, mine.names.consumer)).next({ expires: 5_000 });
      expect(msg && decodeJson<{ job: { key: string } }>(msg.data).job.key).toBe('sec');
      await msg!.ackAck();
      // no consumer on the results bucket, the job stream or the status bucket, under any name: its creator
      // names the delivery subject, and could have the server deliver as node-2 to the coordinator
      let forged = 0;
      const sub = coord.subscribe('m3fg.to.coord.from.node-2', { callback: () => void forged++ });
      const jsm = await jetstreamManager(node, { checkAPI: false });
      for (const stream of [`OBJ_${mine.names.results}`, mine.names.stream, `KV_${mine.names.status}`]) {
        for (const name of ['forge', mine.names.consumer]) {
          await expect(jsm.consumers.add(stream, { deliver_subject: 'm3fg.to.coord.from.node-2', ack_policy: AckPolicy.None, name }), `${stream} ${name}`).rejects.toThrow();
        }
      }
      await expect(mine.results.getBlob('sec-object')).rejects.toThrow(); // getBlob needs a consumer
      await new Promise((r) => setTimeout(r, 300));
      sub.unsubscribe();
      expect(forged).toBe(0);
      await queue.results.delete('sec-object');
    } finally {
      for (const c of [coord, node]) await c.close();
    }
  }, 60_000);

  it('a node writes only its own status keys and results bucket: forging status, overwriting or purging results fail', async () => {
    const [coord, node] = [await connectNats(cluster.coordinator), await connectNats(cluster.node(1))];
    try {
      const queue = await ensureJobQueue(coord, 'm3fg', { ackWaitMs: 5_000 });
      await ensureNodeResults(coord, queue, 'node-1');
      await ensureNodeResults(coord, queue, 'node-2');
      const input = new Uint8Array(1000).fill(1);
      await queue.results.putBlob({ name: 'int-input' }, input);
      await queue.status.put('int-h', encodeJson({ state: 'queued', at: 1 }));
      const mine = await openJobQueue(node, 'm3fg');
      // its own: presence, job keys, its results bucket
      await mine.status.put(nodeKey('node-1'), encodeJson({ state: 'taking jobs' }));
      await mine.status.put(nodeJobKey('node-1', 'int-h'), encodeJson({ state: 'done', at: 2 }));
      const own = await new Objm(node).open(mine.names.nodeResults('node-1'));
      await own.putBlob({ name: 'int-h' }, new Uint8Array(10).fill(2));
      // not its own: the coordinator's key, node-2's keys, the coordinator's bucket, node-2's bucket
      await expect(mine.status.put('int-h', encodeJson({ state: 'done', at: 3 })), 'the coordinator\'s key').rejects.toThrow();
      await expect(mine.status.put(nodeJobKey('node-2', 'int-h'), encodeJson({ state: 'done' })), 'node-2\'s job key').rejects.toThrow();
      await expect(mine.status.put(nodeKey('node-2'), encodeJson({ state: 'taking jobs' })), 'node-2\'s presence').rejects.toThrow();
      await expect(mine.status.delete('int-h'), 'deleting the coordinator\'s key').rejects.toThrow();
      await expect(mine.results.putBlob({ name: 'int-input' }, new Uint8Array(1000).fill(6)), 'overwriting the coordinator\'s object').rejects.toThrow();
      await expect((await new Objm(node).open(mine.names.nodeResults('node-2'), false)).putBlob({ name: 'int-h' }, new Uint8Array(10)), 'node-2\'s bucket').rejects.toThrow();
      const jsm = await jetstreamManager(node, { checkAPI: false, timeout: 2_000 });
      for (const stream of [`OBJ_${mine.names.results}`, `OBJ_${mine.names.nodeResults('node-2')}`, `KV_${mine.names.status}`]) {
        await expect(jsm.streams.purge(stream), `purging ${stream}`).rejects.toThrow();
      }
      // a rollup on its own key would purge the whole status bucket: the bucket allows none
      const rollup = headers();
      rollup.set('Nats-Rollup', 'all');
      await expect(jetstream(node).publish(`$KV.${mine.names.status}.${nodeJobKey('node-1', 'x')}`, 'wipe', { headers: rollup, timeout: 2_000 })).rejects.toThrow();
      // no stream either: its creator picks the subjects it captures (here: node-2's messages, to read back)
      await expect(jsm.streams.add({ name: 'capture', subjects: ['m3fg.to.node-2.from.*'] })).rejects.toThrow();
      // what the coordinator sees is untouched
      expect(decodeJson<{ state: string }>((await queue.status.get('int-h'))!.value).state).toBe('queued');
      expect((await queue.status.get(nodeJobKey('node-2', 'int-h')))?.value?.length ?? 0).toBe(0);
      expect(Buffer.from((await getObject(queue.jsm.streams, queue.names.results, 'int-input'))!).equals(Buffer.from(input))).toBe(true);
      expect(Buffer.from((await getObject(queue.jsm.streams, queue.names.nodeResults('node-1'), 'int-h'))!).equals(Buffer.alloc(10, 2))).toBe(true);
      expect(await getObject(queue.jsm.streams, queue.names.nodeResults('node-2'), 'int-h')).toBeNull();
      await queue.results.delete('int-input');
      await queue.status.delete('int-h');
      await (await new Kvm(coord).open(queue.names.status)).delete(nodeJobKey('node-1', 'int-h'));
    } finally {
      for (const c of [coord, node]) await c.close();
    }
  }, 60_000);

  it('the coordinator takes a result only from the node whose key says done, and refuses one that is not a run of its job', async () => {
    const out = join(root, 'forged');
    const env = { M3FG_NATS_USER: 'coordinator', M3FG_NATS_PASS: cluster.credentials.M3FG_COORDINATOR_PASS };
    const args = ['--game', 'sis', '--bins', '20', '--algorithm', 'fp', '--iterations', '5', '--no-report', '--out', out, '--nats', cluster.url, '--node-wait', '60'];
    const run = exitOf(spawn(process.execPath, ['bin/m3fg.js', 'sweep', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    const [coord, node] = [await connectNats(cluster.coordinator), await connectNats(cluster.node(1))];
    const fake = mkdtempSync(join(tmpdir(), 'm3fg-forged-'));
    try {
      const queue = await openJobQueue(coord, 'm3fg');
      // the one job the study queued (no node process runs here)
      let job: { key: string; hash: string } | undefined;
      for (let i = 0; i < 600 && !job; i++) {
        const st = (await queue.jsm.streams.info(queue.names.stream)).state;
        if (st.messages > 0) job = decodeJson<{ job: { key: string; hash: string } }>((await queue.jsm.streams.getMessage(queue.names.stream, { seq: st.first_seq }))!.data).job;
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(job).toBeDefined();
      // node-1 "finishes" it with a result of its own making: a packed folder that is no run of this job
      mkdirSync(join(fake, 'runs', job!.key), { recursive: true });
      writeFileSync(join(fake, 'runs', job!.key, 'run.json'), '{}');
      const mine = await openJobQueue(node, 'm3fg');
      await (await new Objm(node).open(mine.names.nodeResults('node-1'))).putBlob({ name: job!.hash }, packFiles(fake, join('runs', job!.key)));
      await mine.status.put(nodeJobKey('node-1', job!.hash), encodeJson({ state: 'done', at: Date.now() }));
      const res = await run;
      expect(res.code, res.stderr).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`${job!.key}: the results from node node-1 \\(bucket m3fg-results-node-1\\) are incomplete or of another configuration`));
      expect(existsSync(join(out, 'runs', job!.key, 'curve.json'))).toBe(false);
      // clean up for the next test: the job message, node-1's forged key and object
      await queue.jsm.streams.deleteMessage(queue.names.stream, (await queue.jsm.streams.info(queue.names.stream)).state.first_seq).catch(() => {});
      await mine.status.delete(nodeJobKey('node-1', job!.hash));
      await (await new Objm(node).open(mine.names.nodeResults('node-1'))).delete(job!.hash);
    } finally {
      rmSync(fake, { recursive: true, force: true });
      for (const c of [coord, node]) await c.close();
    }
  }, 120_000);

  it('a sweep with the coordinator\'s user on a node with its own user gives the local results, bit for bit', async () => {
    cluster.addNode(2); // node-1, with its own user
    const out = join(root, 'shipped');
    const env = { M3FG_NATS_USER: 'coordinator', M3FG_NATS_PASS: cluster.credentials.M3FG_COORDINATOR_PASS };
    const child = spawn(process.execPath, ['bin/m3fg.js', 'sweep', ...ARGS, '--no-report', '--out', out, '--nats', cluster.url], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const res = await exitOf(child);
    expect(res.code, res.stderr).toBe(0);
    expectSameAsLocal(out);
    expect(summary(out).ran).toBe(8);
    expect(summary(out).configurations.map((c) => c.node)).toEqual(Array(8).fill('node-1'));
  }, 300_000);
});
