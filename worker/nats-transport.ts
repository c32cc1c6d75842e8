// NATS for the coordinator and the nodes: connecting with credentials and TLS, and a Wire that sends and
// receives whole protocol messages (shared/cluster-wire.ts) of any size over subjects whose server limits
// one message to max_payload bytes. The client reconnects forever (a restarted server costs time, not the
// run); the executor's deadlines and the node heartbeats decide what a lost message means.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection, type Msg, type Subscription } from '@nats-io/transport-node';
import { decodeMessage, encodeMessage, frameMessage, Reassembler } from '../shared/cluster-wire.ts';
import { OptionError } from '../shared/errors.ts';

export interface NatsOptions {
  /** nats://host:port (several, comma-separated, for a server cluster). */
  url: string;
  user?: string;
  pass?: string;
  /** A NATS .creds file (JWT + nkey seed). */
  creds?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  /** Connection name shown by the server's monitoring. */
  name?: string;
  /** Subject prefix of this cluster (default 'm3fg'). */
  prefix?: string;
}

/** Credentials from flags, falling back to M3FG_NATS_USER / M3FG_NATS_PASS / M3FG_NATS_CREDS. */
export function natsOptionsFrom(flags: {
  nats?: string;
  natsUser?: string;
  natsPass?: string;
  natsCreds?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  subjectPrefix?: string;
}, env: NodeJS.ProcessEnv = process.env): NatsOptions | undefined {
  const url = flags.nats ?? env.M3FG_NATS_URL;
  if (!url) return undefined;
  for (const u of url.split(',')) {
    if (!/^(nats|tls):\/\/[^\s/]+$/.test(u.trim())) throw new OptionError(`--nats: expected nats://host:port (or tls://host:port), got '${u}'`);
  }
  const prefix = flags.subjectPrefix ?? env.M3FG_SUBJECT_PREFIX ?? 'm3fg';
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) throw new OptionError(`--subject-prefix: '${prefix}' is not a NATS subject prefix (letters, digits, _ - and dots)`);
  const tls = flags.tlsCa || flags.tlsCert || flags.tlsKey ? { ca: flags.tlsCa, cert: flags.tlsCert, key: flags.tlsKey } : undefined;
  if (tls && Boolean(tls.cert) !== Boolean(tls.key)) throw new OptionError('--tls-cert and --tls-key go together');
  return {
    url,
    user: flags.natsUser ?? env.M3FG_NATS_USER,
    pass: flags.natsPass ?? env.M3FG_NATS_PASS,
    creds: flags.natsCreds ?? env.M3FG_NATS_CREDS,
    tls,
    prefix,
  };
}

/** Connects; a refused login or an unreachable server is one plain error naming the URL. */
export async function connectNats(options: NatsOptions, timeoutMs = 10_000): Promise<NatsConnection> {
  const servers = options.url.split(',').map((s) => s.trim());
  try {
    return await connect({
      servers,
      name: options.name,
      user: options.creds ? undefined : options.user,
      pass: options.creds ? undefined : options.pass,
      authenticator: options.creds ? credsAuthenticator(readFileSync(options.creds)) : undefined,
      tls: options.tls ? { caFile: options.tls.ca, certFile: options.tls.cert, keyFile: options.tls.key } : undefined,
      timeout: timeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
      maxPingOut: 3,
    });
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    const why = /authorization|authentication/i.test(msg)
      ? 'refused the credentials (check M3FG_NATS_USER / M3FG_NATS_PASS or --nats-creds)'
      : /ECONNREFUSED|timeout|TIMEOUT|connection refused/i.test(msg) || (err as { code?: string })?.code === 'CONNECTION_REFUSED'
        ? 'is not reachable'
        : 'failed';
    throw new OptionError(`NATS server ${options.url} ${why}: ${msg}`);
  }
}

/** Whole messages over NATS: encode, cut into frames under max_payload, publish; reassemble, decode. */
export class Wire {
  private readonly sender = randomBytes(4).readUInt32BE(0);
  private seq = 0;

  constructor(
    readonly nc: NatsConnection,
    private readonly onReject?: (err: Error) => void,
  ) {}

  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /** Publishes `value` (any size); returns the bytes put on the wire. */
  send(subject: string, value: unknown, reply?: string): number {
    const frames = frameMessage(encodeMessage(value), this.sender, (this.seq = (this.seq + 1) >>> 0), this.maxPayload);
    let bytes = 0;
    for (const f of frames) {
      this.nc.publish(subject, f, reply ? { reply } : undefined);
      bytes += f.length;
    }
    return bytes;
  }

  /** Calls `handler` with every whole message on `subject` (in a queue group when `queue` is given). */
  subscribe<T>(subject: string, handler: (value: T, msg: Msg, bytes: number) => void, queue?: string): Subscription {
    const reassembler = new Reassembler();
    return this.nc.subscribe(subject, {
      queue,
      callback: (err, msg) => {
        if (err) return;
        let value: T;
        let bytes: number;
        try {
          const whole = reassembler.push(msg.data);
          if (!whole) return;
          bytes = whole.length;
          value = decodeMessage<T>(whole);
        } catch (e) {
          this.onReject?.(e as Error);
          return;
        }
        handler(value, msg, bytes);
      },
    });
  }
}
