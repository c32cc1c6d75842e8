// A real loopback cluster for the tests, run by deploy/local-cluster.sh (nats-server with the shipped
// authenticated config, K `m3fg worker` nodes): start, add a node, kill one, restart the server, stop.
// Nothing here reaches an address off this machine.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './cli.ts';
import type { NatsOptions } from '../../shared/cluster-nats.ts';

const SCRIPT = join(repoRoot, 'deploy/local-cluster.sh');

export interface LocalCluster {
  readonly dir: string;
  readonly url: string;
  readonly port: number;
  /** Connection options of the coordinator's user, and of node i's user (node-i: its own credentials). */
  readonly coordinator: NatsOptions;
  node(i: number): NatsOptions;
  readonly credentials: Record<string, string>;
  nodePids(): number[];
  addNode(threads?: number): void;
  kill(node: number, signal?: NodeJS.Signals): void;
  serverPid(): number;
  restartServer(downMs?: number): Promise<void>;
  stop(): void;
}

function script(args: string[]): string {
  const res = spawnSync('bash', [SCRIPT, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  if (res.status !== 0) throw new Error(`local-cluster.sh ${args.join(' ')} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/** A free TCP port on loopback (the server must come back on the same one after a restart). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startCluster(nodes: number, threads = 1): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'm3fg-cluster-'));
  const port = await freePort();
  script(['start', '--dir', dir, '--nodes', String(nodes), '--threads', String(threads), '--port', String(port)]);
  const url = readFileSync(join(dir, 'url'), 'utf8').trim();
  const credentials = readEnvFile(join(dir, 'credentials.env'));
  const pidOf = (name: string) => Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim());
  let count = nodes;
  return {
    dir,
    url,
    port,
    credentials,
    coordinator: { url, user: 'coordinator', pass: credentials.M3FG_COORDINATOR_PASS },
    node: (i) => ({ url, user: `node-${i}`, pass: credentials[`M3FG_NODE_${i}_PASS`] }),
    nodePids: () => Array.from({ length: count }, (_, i) => pidOf(`node-${i + 1}`)),
    addNode: (t = threads) => {
      script(['add-node', '--dir', dir, '--threads', String(t)]);
      count++;
    },
    kill: (node, signal = 'SIGKILL') => process.kill(pidOf(`node-${node}`), signal),
    serverPid: () => pidOf('nats'),
    /** SIGTERM the server, keep it down `downMs`, start it again on the same port with the same config. */
    restartServer: async (downMs = 1_000) => {
      const pid = pidOf('nats');
      process.kill(pid, 'SIGTERM');
      await waitFor('nats-server to exit', () => !alive(pid), 10_000);
      await new Promise((r) => setTimeout(r, downMs));
      const child = spawn('nats-server', ['-c', join(dir, 'nats.conf'), '-p', String(port)], {
        env: { GOMAXPROCS: '1', ...process.env, ...credentials }, // as deploy/local-cluster.sh starts it
        stdio: 'ignore',
        detached: true,
      });
      child.unref();
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'nats.pid'), `${child.pid}\n`);
      await waitFor('nats-server to listen again', () => spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0, 10_000);
    },
    stop: () => {
      script(['stop', '--dir', dir]);
    },
  };
}
