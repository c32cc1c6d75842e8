// The backend of a study from its command-line flags: the NATS job queue with --nats, else this machine.

import type { Logger } from 'pino';
import { OptionError } from '../../shared/errors.ts';
import { natsOptionsFrom } from '../../runtime/nats-transport.ts';
import { DEFAULT_ACK_WAIT_MS } from '../../runtime/job-queue.ts';
import { DEFAULT_NODE_WAIT_S, NatsBackend } from './nats-backend.ts';
import type { JobBackend } from './study.ts';

export type NatsStudyFlags = Parameters<typeof natsOptionsFrom>[0] & { ackWait?: string; nodeWait?: string };

/** Seconds in [1, 86400] from a flag, or the default; refuses a flag given without --nats. */
function secondsFlag(flag: string, text: string | undefined, fallback: number, nats: boolean): number {
  if (text === undefined) return fallback;
  if (!nats) throw new OptionError(`${flag}: only with --nats`);
  const v = Number(text);
  if (!(text.trim() !== '' && v >= 1 && v <= 86_400)) throw new OptionError(`${flag}: expected seconds in [1, 86400], got '${text}'`);
  return v;
}

/**
 * Checks the flags (throws OptionError) and returns a function that connects, so that bad input writes nothing.
 * `print` takes the backend's own progress lines (the nodes consuming).
 */
export function studyBackend(flags: NatsStudyFlags, logger: Logger, print?: (line: string) => void): (() => Promise<JobBackend>) | undefined {
  const nats = natsOptionsFrom(flags);
  const ackWait = secondsFlag('--ack-wait', flags.ackWait, DEFAULT_ACK_WAIT_MS / 1000, Boolean(nats));
  const nodeWait = secondsFlag('--node-wait', flags.nodeWait, DEFAULT_NODE_WAIT_S, Boolean(nats));
  if (!nats) return undefined;
  return () => NatsBackend.connect(nats, { ackWaitMs: ackWait * 1000 }, logger, { nodeWaitMs: nodeWait * 1000, print });
}

export const ACK_WAIT_HELP = `seconds a node may stay silent before its job goes to another node (default ${DEFAULT_ACK_WAIT_MS / 1000})`;
export const NODE_WAIT_HELP = `seconds to wait with jobs queued, no node consuming and no progress, before giving up (the jobs stay queued; default ${DEFAULT_NODE_WAIT_S})`;
