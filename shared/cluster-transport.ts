// How the coordinator and the nodes reach each other: a Transport sends a message to a party by id and
// hands every message received to one handler together with its sender. The sender comes from where the
// message arrived, never from its body: over NATS the subject <prefix>.to.<receiver>.from.<sender>, which
// the server lets only <sender>'s credentials publish (deploy/nats-server.conf), in-process the hub.
//
// Two implementations: InProcessHub (a coordinator and N nodes in one process, for tests: messages are
// encoded and decoded as on the wire, so bytes are counted the same way) and NatsTransport over a
// connection the caller opened (coordinator/cluster-nats.ts, runtime/nats-transport.ts). No I/O here
// beyond the injected connection.

import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decodeMessage, encodeFrames, encodeMessage, Reassembler } from './cluster-wire.ts';
import type { ClusterMessage } from './cluster-messages.ts';

export type Handler = (from: string, message: ClusterMessage, bytes: number) => void;

export interface Transport {
  readonly self: string;
  send(to: string, message: ClusterMessage): void;
  /** Sets the handler of every message received (one handler). */
  listen(handler: Handler): void;
  /** Payload bytes sent and received by this party. */
  readonly bytes: { sent: number; received: number };
  /** Time spent decoding (reassembling) what was received, ms (statistics; shared/cluster-node-trace.ts). */
  readonly timing?: { decodeMs: number };
  close(): Promise<void>;
}

/** Ids are subject tokens: letters, digits, _ and -. */
export function checkPartyId(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new Error(`party id '${id}': use 1-64 letters, digits, _ and -`);
  return id;
}

/** A coordinator and nodes in one process. Delivery is asynchronous (setImmediate), in send order per pair unless `delay` holds a message back. */
export class InProcessHub {
  private readonly handlers = new Map<string, Handler>();
  /** Parties cut off (a simulated outage or kill): nothing reaches them, nothing they send arrives. */
  readonly down = new Set<string>();
  /** Bytes delivered per sender -> receiver pair, key `${from}>${to}`. */
  readonly pairs = new Map<string, number>();
  /** Tests: milliseconds by which to hold back a message (0: the next turn of the event loop). */
  delay?: (from: string, to: string, message: ClusterMessage) => number;

  join(id: string): Transport {
    checkPartyId(id);
    const hub = this;
    const bytes = { sent: 0, received: 0 };
    const t: Transport = {
      self: id,
      bytes,
      send(to, message) {
        const data = encodeMessage(message);
        bytes.sent += data.length;
        if (hub.down.has(id)) return;
        const ms = hub.delay?.(id, to, message) ?? 0;
        const later = (f: () => void) => (ms > 0 ? setTimeout(f, ms) : setImmediate(f));
        later(() => {
          const h = hub.handlers.get(to);
          if (!h || hub.down.has(to) || hub.down.has(id)) return;
          const peer = hub.stats.get(to);
          if (peer) peer.received += data.length;
          hub.pairs.set(`${id}>${to}`, (hub.pairs.get(`${id}>${to}`) ?? 0) + data.length);
          h(id, decodeMessage<ClusterMessage>(data), data.length);
        });
      },
      listen(handler) {
        hub.handlers.set(id, handler);
      },
      async close() {
        hub.handlers.delete(id);
      },
    };
    this.stats.set(id, bytes);
    return t;
  }

  private readonly stats = new Map<string, { sent: number; received: number }>();
}

/** Subjects of the owner-computes protocol. */
export function partySubjects(prefix: string) {
  return {
    to: (to: string, from: string) => `${prefix}.to.${to}.from.${from}`,
    inbox: (self: string) => `${prefix}.to.${self}.from.*`,
  };
}

/** Messages over NATS: encoded, cut into frames under max_payload, reassembled per sender. */
export class NatsTransport implements Transport {
  readonly bytes = { sent: 0, received: 0 };
  readonly timing = { decodeMs: 0 };
  private readonly lane = (Math.random() * 2 ** 32) >>> 0;
  private seq = 0;
  private sub?: Subscription;
  private readonly subjects: ReturnType<typeof partySubjects>;

  constructor(
    readonly nc: NatsConnection,
    readonly self: string,
    prefix: string,
    private readonly hooks: {
      /** A frame that could not be put together or decoded. */
      onReject?: (err: Error, from: string) => void;
      /** The server ended the inbox subscription (e.g. a permissions violation). */
      onError?: (err: Error) => void;
    } = {},
  ) {
    checkPartyId(self);
    this.subjects = partySubjects(prefix);
  }

  send(to: string, message: ClusterMessage): void {
    const frames = encodeFrames(message, this.lane, (this.seq = (this.seq + 1) >>> 0), this.nc.info?.max_payload ?? 1024 * 1024);
    const subject = this.subjects.to(to, this.self);
    for (const f of frames) {
      this.nc.publish(subject, f);
      this.bytes.sent += f.length;
    }
  }

  listen(handler: Handler): void {
    const reassemblers = new Map<string, Reassembler>();
    this.sub = this.nc.subscribe(this.subjects.inbox(this.self), {
      callback: (err, msg) => {
        if (err) {
          this.hooks.onError?.(err);
          return;
        }
        const from = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
        this.bytes.received += msg.data.length;
        let r = reassemblers.get(from);
        if (!r) reassemblers.set(from, (r = new Reassembler()));
        let message: ClusterMessage;
        let size: number;
        const t0 = performance.now();
        try {
          const whole = r.push(msg.data);
          if (!whole) return;
          size = whole.length;
          message = decodeMessage<ClusterMessage>(whole);
        } catch (e) {
          this.hooks.onReject?.(e as Error, from);
          return;
        } finally {
          this.timing.decodeMs += performance.now() - t0;
        }
        handler(from, message, size);
      },
    });
  }

  async close(): Promise<void> {
    this.sub?.unsubscribe();
  }
}
