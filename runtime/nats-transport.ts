// The node's NATS connection: connect with the node's own credentials, then the owner-computes transport
// (shared/cluster-transport.ts) over it. The server's permissions (deploy/nats-server.conf) let a node's
// user read only <prefix>.to.<node>.from.* and publish only <prefix>.to.*.from.<node>: when the server
// refuses either, the credentials are not this node's and the node stops with one line saying so.

import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { clientOptions, connectError, isPermissionError, wrongRole, type NatsOptions } from '../shared/cluster-nats.ts';
import { NatsTransport, partySubjects } from '../shared/cluster-transport.ts';

export { natsOptionsFrom, type NatsOptions } from '../shared/cluster-nats.ts';

/** Connects; a refused login or an unreachable server is one plain error naming the URL. */
export async function connectNats(options: NatsOptions, timeoutMs = 10_000): Promise<NatsConnection> {
  try {
    return await connect(clientOptions(options, options.creds ? credsAuthenticator(readFileSync(options.creds)) : undefined, timeoutMs));
  } catch (err) {
    throw connectError(options, err);
  }
}

/**
 * The node's transport, checked: its inbox subscription and one publish on its own subject must be allowed.
 * `onFatal` gets the one-line error when the server refuses them later (or right away).
 */
export async function nodeTransport(nc: NatsConnection, options: NatsOptions, id: string, onFatal: (err: Error) => void): Promise<NatsTransport> {
  const prefix = options.prefix ?? 'm3fg';
  const subjects = partySubjects(prefix);
  let failed: Error | undefined;
  const fatal = (subject: string) => {
    if (failed) return;
    failed = wrongRole(options, `node ${id}`, subject);
    onFatal(failed);
  };
  void (async () => {
    for await (const st of nc.status()) {
      const err = (st as { error?: unknown }).error;
      if (st.type === 'error' && isPermissionError(err)) fatal(/subscri/i.test(String((err as Error)?.message)) ? subjects.inbox(id) : subjects.to('coord', id));
    }
  })();
  return new NatsTransport(nc, id, prefix, {
    onError: (err) => {
      if (isPermissionError(err)) fatal(subjects.inbox(id));
    },
  });
}
