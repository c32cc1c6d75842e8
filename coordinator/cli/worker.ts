// `m3fg worker --nats URL`: a cluster node (worker/node.ts) and a job consumer, started by bin/worker-node.ts
// (passed in: coordinator/ does not import worker/). Runs until SIGTERM or SIGINT, then announces that it
// leaves and exits 0 within seconds (also when the server is gone). Credentials of another party: one
// `m3fg:` line naming the user and the role, exit 2.

import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { OptionError } from '../../shared/errors.ts';
import { createLogger } from '../logger.ts';
import { positiveInt } from '../options.ts';
import { parseBytes } from '../memory.ts';
import type { Logger } from 'pino';
import { natsOptionsFrom, type NatsOptions } from '../../shared/cluster-nats.ts';

/** Starts this process's cluster node and job consumer (bin/worker-node.ts). */
export type WorkerNodeStarter = (options: { nats: NatsOptions; threads: number; name?: string; logger: Logger; memory?: number }) => Promise<{
  node: { stop(): Promise<unknown>; closed(): Promise<unknown> };
  jobs: { stop(): Promise<unknown> };
}>;

/** The NATS flags of `solve` and `worker`. */
export function addNatsOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--nats <url>', `${what} (or M3FG_NATS_URL)`)
    .option('--nats-user <user>', 'NATS user (or M3FG_NATS_USER)')
    .option('--nats-pass <password>', 'NATS password (prefer M3FG_NATS_PASS: flags show in ps)')
    .option('--nats-creds <file>', 'NATS .creds file (or M3FG_NATS_CREDS)')
    .option('--tls-ca <file>', 'CA certificate that signed the server certificate')
    .option('--tls-cert <file>', 'client certificate (mutual TLS)')
    .option('--tls-key <file>', 'client key (mutual TLS)')
    .option('--subject-prefix <p>', 'subject prefix of this cluster (default m3fg, or M3FG_SUBJECT_PREFIX)');
}

export function registerWorkerCommand(program: Command, start?: WorkerNodeStarter): void {
  addNatsOptions(program.command('worker').description('run a cluster node: own a shard of the grid and compute it, coordinated over a NATS server'), 'NATS server URL, nats://host:port')
    .option('--threads <N>', 'threads for the shard\'s kernels, and its weight in the shard cut (default: all cores)')
    .option('--name <id>', 'node id = its NATS user with per-node credentials, e.g. node-1 (default host-pid-random)')
    .option('--log-level <level>', 'pino log level (default info)')
    .option('--memory <bytes>', "memory this node may use, like 8G or 500M: a larger shard is refused (default: the machine's memory)")
    .action(async (flags: Record<string, string | undefined>) => {
      const nats = natsOptionsFrom(flags);
      if (!nats) throw new OptionError('--nats: required (nats://host:port), or set M3FG_NATS_URL');
      const threads = positiveInt('--threads', flags.threads ?? String(availableParallelism()));
      const memory = flags.memory === undefined ? undefined : parseBytes('--memory', flags.memory);
      const logger = createLogger(flags.logLevel ?? process.env.M3FG_LOG_LEVEL ?? 'info');
      if (!start) throw new OptionError('worker: this entry point cannot start a node (run the m3fg command)');
      const { node, jobs } = await start({ nats, threads, name: flags.name, logger, memory });
      let stopping: Promise<unknown> | undefined;
      // the job consumer may wait on a server that is gone: its stop is bounded, like the node's drain
      const bounded = (p: Promise<unknown>, ms: number) => Promise.race([p, new Promise((done) => setTimeout(done, ms).unref())]);
      const stop = () => (stopping ??= Promise.all([bounded(jobs.stop(), 3000), node.stop()]));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await node.closed();
      await stopping;
      // a connection still trying to reach a server that is gone must not keep the process alive
      setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    });
}
