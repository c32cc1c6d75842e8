// Names derived from the subject prefix (shared/nats-names.ts): valid for streams and buckets, one-to-one,
// the same in m3fg and in deploy/gen-users.sh; a prefix that cannot be mapped is refused with one line. A
// dotted prefix's job queue works on a server with the users gen-users.sh writes for it.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import { describe, expect, it } from 'vitest';
import { getObject } from '../runtime/object-get.ts';
import { ensureJobQueue, ensureNodeResults, jobQueueNames, openJobQueue } from '../runtime/job-queue.ts';
import { connectNats } from '../runtime/nats-transport.ts';
import { shardBucket } from '../runtime/shard-store-nats.ts';
import { natsNames, subjectPrefixProblem } from '../shared/nats-names.ts';
import { repoRoot, runCli } from './helpers/cli.ts';
import { freePort } from './helpers/cluster.ts';

const allNames = (prefix: string) => {
  const n = natsNames(prefix);
  return [n.jobStream, n.jobConsumer, n.results, n.nodeResults('node-1'), n.status, n.snapshots, n.nodeSnapshots('node-1')];
};

describe('names from the subject prefix', () => {
  it('maps a dotted prefix to valid stream and bucket names, one-to-one', () => {
    expect(natsNames('team.a')).toMatchObject({ jobStream: 'team_a-jobs', jobSubjects: 'team.a.jobs.*', jobConsumer: 'team_a-job-workers', results: 'team_a-results', status: 'team_a-job-status' });
    expect(natsNames('team.a').jobSubject('h1')).toBe('team.a.jobs.h1');
    expect(natsNames('team.a').nodeResults('node-2')).toBe('team_a-results-node-2');
    expect(natsNames('team.a').nodeSnapshots('node-2')).toBe('team_a-snap-node-2');
    expect(jobQueueNames('team.a').stream).toBe('team_a-jobs');
    expect(shardBucket('team.a', 'node-2')).toBe('team_a-snap-node-2'); // the nodes' snapshot buckets too
    // stream and bucket names: [A-Za-z0-9_-] (KV and object store buckets allow nothing else)
    for (const p of ['m3fg', 'team.a', 'a-b.c-d.e', 'x'.repeat(64)]) for (const name of allNames(p)) expect(name).toMatch(/^[-\w]+$/);
    // one-to-one on 392 prefixes of up to three words: distinct prefixes never share a name
    const seen = new Map<string, string>();
    const words = ['a', 'b', 'a-b', 'ab', 'b-a', '1', 'a1'];
    for (const x of words) for (const y of ['', ...words]) for (const z of ['', ...words]) {
      const p = [x, y, z].filter(Boolean).join('.');
      const key = natsNames(p).jobStream;
      if (seen.has(key)) expect(seen.get(key)).toBe(p);
      seen.set(key, p);
    }
  });

  it('refuses prefixes that cannot be mapped', () => {
    for (const bad of ['', 'team_a', 'a..b', '.a', 'a.', 'a.*', 'a.>', 'a b', 'x'.repeat(65)]) expect(subjectPrefixProblem(bad), bad).toBeDefined();
    for (const good of ['m3fg', 'team.a', 'A-1.b']) expect(subjectPrefixProblem(good), good).toBeUndefined();
    expect(() => natsNames('team_a')).toThrow(/subject prefix/);
    // the CLI: one line naming the flag, exit 2, before any connection
    const res = runCli(['worker', '--nats', 'nats://127.0.0.1:1', '--subject-prefix', 'team_a']);
    expect(res.code).toBe(2);
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^m3fg: --subject-prefix: 'team_a' is not a subject prefix/);
  });

  it('deploy/gen-users.sh names the same streams and buckets as m3fg, and refuses what m3fg refuses', () => {
    const gen = (...args: string[]) => spawnSync('bash', ['deploy/gen-users.sh', ...args], { cwd: repoRoot, encoding: 'utf8' });
    const out = gen('2', 'team.a');
    expect(out.status, out.stderr).toBe(0);
    for (const name of allNames('team.a')) expect(out.stdout, name).toContain(name);
    expect(out.stdout).toContain('"team.a.jobs.*"');
    expect(out.stdout).not.toMatch(/team\.a-/); // a dotted stream name: no such stream can exist
    expect(gen('2', 'team_a').status).toBe(2);
  });
});

describe('a dotted prefix on the server with gen-users.sh users (deploy/local-cluster.sh --prefix team.a)', () => {
  it('the coordinator creates the queue and a node\'s bucket; the node opens the queue, writes its bucket, reads the coordinator\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'm3fg-names-'));
    const script = (...args: string[]) => spawnSync('bash', ['deploy/local-cluster.sh', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    try {
      const up = script('start', '--dir', dir, '--nodes', '0', '--port', String(await freePort()), '--prefix', 'team.a');
      expect(up.status, up.stderr).toBe(0);
      const url = readFileSync(join(dir, 'url'), 'utf8').trim();
      const env = Object.fromEntries(readFileSync(join(dir, 'credentials.env'), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => l.replace(/^export\s+/, '').split(/=(.*)/s).slice(0, 2)));
      const coord = await connectNats({ url, user: 'coordinator', pass: env.M3FG_COORDINATOR_PASS });
      const node = await connectNats({ url, user: 'node-1', pass: env.M3FG_NODE_1_PASS });
      try {
        const queue = await ensureJobQueue(coord, 'team.a');
        await ensureNodeResults(coord, queue, 'node-1');
        await queue.results.putBlob({ name: 'input' }, new Uint8Array(1000).fill(5));
        const mine = await openJobQueue(node, 'team.a');
        await (await new Objm(node).open(mine.names.nodeResults('node-1'))).putBlob({ name: 'out' }, new Uint8Array(10).fill(9));
        expect(Buffer.from((await getObject(mine.jsm.streams, mine.names.results, 'input'))!).equals(Buffer.alloc(1000, 5))).toBe(true);
        expect(Buffer.from((await getObject(queue.jsm.streams, queue.names.nodeResults('node-1'), 'out'))!).equals(Buffer.alloc(10, 9))).toBe(true);
      } finally {
        await coord.close();
        await node.close();
      }
    } finally {
      script('stop', '--dir', dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
