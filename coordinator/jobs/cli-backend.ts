// The backend of a study from its command-line flags: the NATS job queue with --nats, else this machine.

import type { Logger } from 'pino';
import { OptionError } from '../../shared/errors.ts';
import { natsOptionsFrom } from '../../runtime/nats-transport.ts';
import { DEFAULT_ACK_WAIT_MS } from '../../runtime/job-queue.ts';
import { NatsBackend } from './nats-backend.ts';
import type { JobBackend } from './study.ts';

export type NatsStudyFlags = Parameters<typeof natsOptionsFrom>[0] & { ackWait?: string };

/** Checks the flags (throws OptionError) and returns a function that connects, so that bad input writes nothing. */
export function studyBackend(flags: NatsStudyFlags, logger: Logger): (() => Promise<JobBackend>) | undefined {
  const nats = natsOptionsFrom(flags);
  const ackWait = flags.ackWait === undefined ? DEFAULT_ACK_WAIT_MS / 1000 : Number(flags.ackWait);
  if (!(ackWait >= 1 && ackWait <= 86_400)) throw new OptionError(`--ack-wait: expected seconds in [1, 86400], got '${flags.ackWait}'`);
  if (!nats) {
    if (flags.ackWait !== undefined) throw new OptionError('--ack-wait: only with --nats');
    return undefined;
  }
  return () => NatsBackend.connect(nats, { ackWaitMs: ackWait * 1000 }, logger);
}

export const ACK_WAIT_HELP = `seconds a node may stay silent before its job goes to another node (default ${DEFAULT_ACK_WAIT_MS / 1000})`;
