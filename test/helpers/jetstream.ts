// A loopback nats-server with JetStream (`-js --store_dir DIR`) and `m3fg worker` nodes for the job-queue
// tests: start, add a node, SIGKILL one, read a node's log, stop. Nothing here reaches off this machine.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { ensureJobQueue, nodeKey } from '../../runtime/job-queue.ts';
import { repoRoot } from './cli.ts';
import { freePort } from './cluster.ts';

export interface JetStreamCluster {
  readonly dir: string;
  readonly url: string;
  /** Starts one more node (on the job queue of `prefix`, default m3fg); returns its index. */
  addNode(threads?: number, prefix?: string): number;
  /** The node's process, by index. */
  node(i: number): ChildProcess;
  /** Everything node i logged (pino JSON lines, stderr). */
  nodeLog(i: number): string;
  /** The keys of the jobs node i computed (its 'job done' lines). */
  jobsDone(i: number): string[];
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Creates the job queue of `prefix` (as a study's coordinator would, ack wait `ackWaitS`) and resolves once
   * every given node has written its presence there ('taking jobs'): they are all consuming before a study starts.
   */
  ready(prefix: string, nodes: number[], ackWaitS: number): Promise<void>;
  stop(): Promise<void>;
}

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForAsync(what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export async function startJetStream(nodes: number, threads = 1): Promise<JetStreamCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'm3fg-js-'));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  let serverLog = '';
  const server = spawn('nats-server', ['-js', '--store_dir', join(dir, 'store'), '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr!.on('data', (d) => (serverLog += String(d)));
  await waitFor('nats-server to be ready', () => /Server is ready/.test(serverLog), 15_000);
  const children: ChildProcess[] = [];
  const logPath = (i: number) => join(dir, `node-${i}.log`);
  const cluster: JetStreamCluster = {
    dir,
    url,
    addNode: (t = threads, prefix = 'm3fg') => {
      const i = children.length;
      const log = openSync(logPath(i), 'a');
      const child = spawn(process.execPath, ['bin/m3fg.js', 'worker', '--nats', url, '--threads', String(t), '--name', `node-${i}`, '--subject-prefix', prefix, '--log-level', 'info'], {
        cwd: repoRoot,
        stdio: ['ignore', log, log],
      });
      children.push(child);
      return i;
    },
    node: (i) => children[i],
    nodeLog: (i) => readFileSync(logPath(i), 'utf8'),
    jobsDone: (i) =>
      cluster
        .nodeLog(i)
        .split('\n')
        .filter((l) => l.includes('"msg":"job done"'))
        .map((l) => JSON.parse(l).job as string),
    kill: async (i, signal = 'SIGKILL') => {
      children[i].kill(signal);
      await exited(children[i]);
    },
    ready: async (prefix, nodes, ackWaitS) => {
      const nc = await connect({ servers: url });
      try {
        const queue = await ensureJobQueue(nc, prefix, { ackWaitMs: ackWaitS * 1000 });
        const present = new Set<number>();
        await waitForAsync(`nodes ${nodes.join(', ')} to take jobs on ${prefix}`, async () => {
          for (const i of nodes) if (!present.has(i) && (await queue.status.get(nodeKey(`node-${i}`)))?.operation === 'PUT') present.add(i);
          return present.size === nodes.length;
        }, 60_000);
      } finally {
        await nc.close();
      }
    },
    stop: async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(children.map(exited));
      server.kill('SIGTERM');
      await exited(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < nodes; i++) cluster.addNode();
  return cluster;
}
