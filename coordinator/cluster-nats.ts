// The coordinator's NATS connection: connect with the coordinator's credentials, then the owner-computes
// transport (shared/cluster-transport.ts) as party 'coord'. The server lets only the coordinator's user read
// <prefix>.to.coord.from.* and publish <prefix>.to.*.from.coord; when it refuses, the credentials are a
// node's (or nobody's) and the solve stops with one line saying so.

import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { clientOptions, connectError, isPermissionError, wrongRole, type NatsOptions } from '../shared/cluster-nats.ts';
import { NatsTransport, partySubjects } from '../shared/cluster-transport.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';

export async function connectCoordinator(options: NatsOptions, onFatal: (err: Error) => void, timeoutMs = 10_000): Promise<{ nc: NatsConnection; transport: NatsTransport }> {
  let nc: NatsConnection;
  try {
    nc = await connect({ ...clientOptions(options, options.creds ? credsAuthenticator(readFileSync(options.creds)) : undefined, timeoutMs), name: options.name ?? 'm3fg-coordinator' });
  } catch (err) {
    throw connectError(options, err);
  }
  const prefix = options.prefix ?? 'm3fg';
  const inbox = partySubjects(prefix).inbox(COORDINATOR);
  let failed = false;
  const fatal = () => {
    if (failed) return;
    failed = true;
    onFatal(wrongRole(options, 'the coordinator', inbox));
  };
  void (async () => {
    for await (const st of nc.status()) if (st.type === 'error' && isPermissionError((st as { error?: unknown }).error)) fatal();
  })();
  const transport = new NatsTransport(nc, COORDINATOR, prefix, { onError: (err) => isPermissionError(err) && fatal() });
  return { nc, transport };
}

/**
 * A second connection of the coordinator's user for JetStream (the snapshot bucket): a permission it lacks
 * there (a server whose users predate the bucket) must not look like wrong credentials on the cluster's one.
 */
export async function connectSide(options: NatsOptions, timeoutMs = 10_000): Promise<NatsConnection> {
  try {
    return await connect({ ...clientOptions(options, options.creds ? credsAuthenticator(readFileSync(options.creds)) : undefined, timeoutMs), name: `${options.name ?? 'm3fg-coordinator'}-snapshots` });
  } catch (err) {
    throw connectError(options, err);
  }
}
