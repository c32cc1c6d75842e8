// Nodes named otherwise than node-1..K. `m3fg worker --name` refuses what is not a node name (one line, exit 2);
// deploy/gen-users.sh writes users for a list of names, and a node so named keeps its snapshots in its own
// bucket P-snap-<name> (a real nats-server with the shipped config and those users): it writes its own
// bucket only, the others read it, the coordinator removes from it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../runtime/nats-transport.ts';
import { NatsShardStore } from '../runtime/shard-store-nats.ts';
import { repoRoot, runCli } from './helpers/cli.ts';
import { freePort } from './helpers/cluster.ts';

const genUsers = (arg: string) => spawnSync('bash', [join(repoRoot, 'deploy/gen-users.sh'), arg], { encoding: 'utf8' });

describe('node names', () => {
  it('m3fg worker --name: not a node name, or the coordinator’s id: one line, exit 2', () => {
    for (const [name, line] of [
      ['a.b', /^m3fg: --name: 'a\.b' is not a node name: use 1-64 letters, digits, _ and -\n$/],
      ['coord', /^m3fg: --name: 'coord' is the coordinator's id; choose another node name\n$/],
    ] as const) {
      const r = runCli(['worker', '--nats', 'nats://127.0.0.1:1', '--name', name]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(line);
    }
  });

  it('gen-users.sh: K gives node-1..K as the list of those names does; bad or repeated names are refused', () => {
    const k = genUsers('2');
    expect(k.status).toBe(0);
    const names = genUsers('node-1,node-2');
    expect(names.stdout.split('\n').slice(1)).toEqual(k.stdout.split('\n').slice(1));
    for (const [arg, why] of [
      ['alpha,a.b', /'a\.b' is not a node name/],
      ['alpha,alpha', /node name 'alpha' given twice/],
      ['coordinator', /'coordinator' is not a node name/],
    ] as const) {
      const r = genUsers(arg);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(why);
    }
  });

  describe('a node named alpha on the shipped config with gen-users.sh alpha,node-2', () => {
    let dir: string;
    let server: ChildProcess;
    let url: string;
    const pass = { coordinator: 'm3fg0c0ffee', alpha: 'm3fg0a1fa', 'node-2': 'm3fg0b2' };
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'm3fg-names-'));
      const users = genUsers('alpha,node-2');
      expect(users.status, users.stderr).toBe(0);
      writeFileSync(join(dir, 'nats-users.conf'), users.stdout);
      const conf = readFileSync(join(repoRoot, 'deploy/nats-server.conf'), 'utf8')
        .replace(/^listen: .*/m, 'listen: 127.0.0.1:4222')
        .replace(/^(\s*store_dir:).*/m, `$1 "${join(dir, 'js')}"`);
      writeFileSync(join(dir, 'nats.conf'), conf);
      const port = await freePort();
      url = `nats://127.0.0.1:${port}`;
      server = spawn('nats-server', ['-c', join(dir, 'nats.conf'), '-p', String(port)], {
        env: { ...process.env, M3FG_COORDINATOR_PASS: pass.coordinator, M3FG_NODE_1_PASS: pass.alpha, M3FG_NODE_2_PASS: pass['node-2'] },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let log = '';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 15_000);
        server.stderr!.on('data', (d) => {
          log += d;
          if (log.includes('Server is ready')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
    }, 30_000);
    afterAll(() => {
      server?.kill('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('alpha writes its own bucket m3fg-snap-alpha, node-2 reads it and cannot write it, the coordinator removes from it', async () => {
      const conns: NatsConnection[] = [];
      const connect = async (user: keyof typeof pass) => {
        const nc = await connectNats({ url, user, pass: pass[user] });
        conns.push(nc);
        return nc;
      };
      try {
        const [alpha, two, coord] = [await connect('alpha'), await connect('node-2'), await connect('coordinator')];
        const bytes = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);
        async function* pieces() {
          yield bytes.slice(0, 1000);
          yield bytes.slice(1000);
        }
        await new NatsShardStore(coord, 'm3fg', 'coord').prepare('alpha'); // the coordinator creates node buckets
        await new NatsShardStore(alpha, 'm3fg', 'alpha').put('t.1.minorPolicy', pieces());
        const parts: number[] = [];
        for await (const p of new NatsShardStore(two, 'm3fg', 'node-2').get('alpha', 't.1.minorPolicy')) parts.push(...p);
        expect(Uint8Array.from(parts)).toEqual(bytes);
        const theirs = await new Objm(two).open('m3fg-snap-alpha');
        await expect(theirs.put({ name: 'forged' }, ReadableStream.from(pieces()))).rejects.toThrow();
        await new NatsShardStore(coord, 'm3fg', 'coord').remove('alpha', 't.1.minorPolicy');
        await expect(async () => {
          for await (const _ of new NatsShardStore(two, 'm3fg', 'node-2').get('alpha', 't.1.minorPolicy')) void _;
        }).rejects.toThrow(/missing/);
      } finally {
        for (const nc of conns) await nc.close();
      }
    }, 60_000);
  });
});
