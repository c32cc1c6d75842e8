// NATS settings shared by the coordinator and the nodes, as pure functions: the flags and environment
// variables, the client options, what a refused connection or a permission error means in one line.
// The connecting itself is each side's (coordinator/cluster-nats.ts, runtime/nats-transport.ts).

import type { ConnectionOptions } from '@nats-io/transport-node';
import { OptionError } from './errors.ts';
import { subjectPrefixProblem } from './nats-names.ts';

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
export function natsOptionsFrom(
  flags: { nats?: string; natsUser?: string; natsPass?: string; natsCreds?: string; tlsCa?: string; tlsCert?: string; tlsKey?: string; subjectPrefix?: string },
  env: NodeJS.ProcessEnv = process.env,
): NatsOptions | undefined {
  const url = flags.nats ?? env.M3FG_NATS_URL;
  if (!url) return undefined;
  for (const u of url.split(',')) {
    if (!/^(nats|tls):\/\/[^\s/]+$/.test(u.trim())) throw new OptionError(`--nats: expected nats://host:port (or tls://host:port), got '${u}'`);
  }
  const prefix = flags.subjectPrefix ?? env.M3FG_SUBJECT_PREFIX ?? 'm3fg';
  const problem = subjectPrefixProblem(prefix);
  if (problem) throw new OptionError(`--subject-prefix: ${problem}`);
  const tls = flags.tlsCa || flags.tlsCert || flags.tlsKey ? { ca: flags.tlsCa, cert: flags.tlsCert, key: flags.tlsKey } : undefined;
  if (tls && Boolean(tls.cert) !== Boolean(tls.key)) throw new OptionError('--tls-cert and --tls-key go together');
  return { url, user: flags.natsUser ?? env.M3FG_NATS_USER, pass: flags.natsPass ?? env.M3FG_NATS_PASS, creds: flags.natsCreds ?? env.M3FG_NATS_CREDS, tls, prefix };
}

/** Client options: reconnect forever (a restarted server costs time, not the run), ping often enough. */
export function clientOptions(options: NatsOptions, authenticator: ConnectionOptions['authenticator'], timeoutMs: number): ConnectionOptions {
  return {
    servers: options.url.split(',').map((s) => s.trim()),
    name: options.name,
    user: options.creds ? undefined : options.user,
    pass: options.creds ? undefined : options.pass,
    // replies (JetStream API, object store reads) come to inboxes only this user may read (deploy/gen-users.sh)
    inboxPrefix: !options.creds && options.user && /^[A-Za-z0-9_-]+$/.test(options.user) ? `_INBOX_${options.user}` : undefined,
    authenticator,
    tls: options.tls ? { caFile: options.tls.ca, certFile: options.tls.cert, keyFile: options.tls.key } : undefined,
    timeout: timeoutMs,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5_000,
    maxPingOut: 3,
  };
}

/** A failed connect as one plain line naming the URL. */
export function connectError(options: NatsOptions, err: unknown): OptionError {
  const msg = (err as Error)?.message ?? String(err);
  const why = /authorization|authentication/i.test(msg)
    ? 'refused the credentials (check M3FG_NATS_USER / M3FG_NATS_PASS or --nats-creds)'
    : /ECONNREFUSED|timeout|TIMEOUT|connection refused/i.test(msg) || (err as { code?: string })?.code === 'CONNECTION_REFUSED'
      ? 'is not reachable'
      : 'failed';
  return new OptionError(`NATS server ${options.url} ${why}: ${msg}`);
}

/** Whether an error from the server is a permissions violation (a subject these credentials may not use). */
export function isPermissionError(err: unknown): boolean {
  const e = err as { message?: string; code?: string; name?: string } | undefined;
  return /permission/i.test(`${e?.name ?? ''} ${e?.code ?? ''} ${e?.message ?? ''}`);
}

/** The one line for credentials of the wrong role: names the user, the role it was used for, the subject. */
export function wrongRole(options: NatsOptions, role: string, subject: string): OptionError {
  const who = options.creds ? `the credentials in ${options.creds}` : `NATS user '${options.user ?? '(none)'}'`;
  return new OptionError(`${who} may not act as ${role} on ${options.url}: the server refused the subject ${subject} (use the credentials of ${role})`);
}
