// A cluster node (`m3fg worker --nats URL`): connects with its own credentials, owns the shard of rows the
// coordinator gives it and computes there (worker/shard-node.ts), exchanging halo rows with the other nodes.
//
// Shutdown. stop() (SIGTERM, SIGINT) announces that the node leaves and closes the connection. With the
// server gone a drain would wait for it forever (the client reconnects forever), so the drain is bounded
// by drainMs and the connection is then closed: the process exits within seconds in any shutdown order.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { checkPartyId } from '../shared/cluster-transport.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';
import { OptionError } from '../shared/errors.ts';
import { connectNats, nodeTransport, type NatsOptions } from '../runtime/nats-transport.ts';
import { ShardNode } from './shard-node.ts';
import { NatsShardStore } from '../runtime/shard-store-nats.ts';

export interface NodeOptions {
  nats: NatsOptions;
  /** Threads this node offers (its weight in the shard cut). */
  threads: number;
  /** Node id; default host-pid-random. With per-node credentials it must be the node's user name. */
  name?: string;
  heartbeatMs?: number;
  /** Longest wait for the connection to drain on stop (ms, default 2000). */
  drainMs?: number;
  logger?: Logger;
  /** Memory this node may use (bytes): a shard that needs more is refused (default: the machine's). */
  memory?: number;
}

export class ClusterNode {
  readonly id: string;
  private nc?: NatsConnection;
  private node?: ShardNode;
  private stopping?: Promise<void>;
  private fatalError?: Error;
  private fatalWaiter?: (err: Error) => void;
  private readonly logger?: Logger;

  constructor(private readonly options: NodeOptions) {
    this.id = options.name !== undefined ? nodeName(options.name) : `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.logger = options.logger?.child({ component: 'node', node: this.id });
  }

  async start(): Promise<void> {
    const nc = (this.nc = await connectNats({ ...this.options.nats, name: `m3fg-node-${this.id}` }));
    const transport = await nodeTransport(nc, this.options.nats, this.id, (err) => this.fatal(err));
    const store = new NatsShardStore(nc, this.options.nats.prefix ?? 'm3fg', this.id); // its own snapshot bucket
    this.node = new ShardNode({ transport, threads: this.options.threads, heartbeatMs: this.options.heartbeatMs, logger: this.options.logger, store, memory: this.options.memory });
    this.node.start();
    await nc.flush();
    // a refused subscription or publish is reported asynchronously: give it a round trip to arrive
    await new Promise((r) => setTimeout(r, 200));
    await nc.flush().catch(() => {});
    if (this.fatalError) throw this.fatalError;
    void this.watchStatus(nc);
    this.logger?.info({ nats: this.options.nats.url, threads: this.options.threads, prefix: this.options.nats.prefix ?? 'm3fg' }, 'node ready');
  }

  /** Leaves: tells the coordinator, stops beating, closes the connection (bounded: see above). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.node?.stop().catch(() => {});
      const nc = this.nc;
      if (nc && !nc.isClosed()) {
        const drained = nc.drain().catch(() => {});
        const timer = new Promise<void>((r) => setTimeout(r, this.options.drainMs ?? 2_000).unref());
        await Promise.race([drained, timer]);
        if (!nc.isClosed()) await nc.close().catch(() => {});
      }
      if (!this.fatalError) this.logger?.info({ dropped: this.node?.state.dropped ?? 0 }, 'node stopped');
    })();
    return this.stopping;
  }

  /** Resolves when the connection closes for good (after stop()); rejects on a fatal error (wrong credentials). */
  async closed(): Promise<void> {
    const fatal = new Promise<never>((_, reject) => {
      if (this.fatalError) reject(this.fatalError);
      this.fatalWaiter = reject;
    });
    await Promise.race([this.nc?.closed(), fatal]);
  }

  private fatal(err: Error): void {
    if (this.fatalError) return;
    this.fatalError = err;
    this.fatalWaiter?.(err); // reported by the caller as one line; nothing else is logged
    void this.stop();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const st of nc.status()) {
      if (st.type === 'disconnect' || st.type === 'reconnect') this.logger?.warn({ event: st.type }, `NATS ${st.type}`);
      if (st.type === 'reconnect') this.node?.reconnected();
    }
  }
}

/**
 * A node's --name: a party id (its subjects P.to.<name>.from.* and its snapshot bucket P-snap-<name> are made
 * from it), never the coordinator's. Any such name works; with per-node users it must be the node's user
 * name, and deploy/gen-users.sh writes users for names as well as for node-1..K.
 */
export function nodeName(name: string): string {
  try {
    checkPartyId(name);
  } catch {
    throw new OptionError(`--name: '${name}' is not a node name: use 1-64 letters, digits, _ and -`);
  }
  if (name === COORDINATOR) throw new OptionError(`--name: '${name}' is the coordinator's id; choose another node name`);
  return name;
}
