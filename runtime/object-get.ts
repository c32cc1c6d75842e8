// Reads an object of a NATS object store with message gets only (its metadata, then its chunks one by one),
// never a consumer. Whoever may create a consumer on a stream also names its delivery subject, and could have
// the server deliver stored bytes on `<prefix>.to.<anyone>.from.<another party>` (a forged sender): subject
// permissions cannot stop it (the subject is in the request's payload). So node users get no consumer rights
// on any bucket (deploy/gen-users.sh), and read objects through here. The chunks' SHA-256 is checked against
// the object's digest.

import { createHash } from 'node:crypto';
import type { StreamAPI } from '@nats-io/jetstream';

interface ObjectMeta {
  nuid: string;
  size: number;
  chunks: number;
  digest: string;
  deleted?: boolean;
}

/** The subject of an object's metadata: $O.<bucket>.M.<name as padded base64url> (as @nats-io/obj writes it). */
function metaSubject(bucket: string, name: string): string {
  return `$O.${bucket}.M.${Buffer.from(name).toString('base64url')}${'='.repeat((3 - (Buffer.byteLength(name) % 3)) % 3)}`;
}

/**
 * The object's chunks in order, or undefined when the bucket has no such object (or it was deleted). Throws
 * on a missing chunk, and after the last chunk when size or digest differ from the metadata.
 */
export async function objectChunks(streams: StreamAPI, bucket: string, name: string): Promise<AsyncGenerator<Uint8Array> | undefined> {
  const stream = `OBJ_${bucket}`;
  const meta = await streams.getMessage(stream, { last_by_subj: metaSubject(bucket, name) });
  const info = meta?.json<ObjectMeta>();
  if (!info || info.deleted) return undefined;
  return (async function* () {
    const sha = createHash('sha256');
    let seq = 0;
    let size = 0;
    for (let i = 0; i < info.chunks; i++) {
      // the next chunk at or after seq + 1 (STREAM.MSG.GET's next_by_subj, nats-server 2.9+; missing from the client's type)
      const m = await streams.getMessage(stream, { seq: seq + 1, next_by_subj: `$O.${bucket}.C.${info.nuid}` } as unknown as { seq: number });
      if (!m) throw new Error(`object ${name} of ${bucket}: chunk ${i + 1} of ${info.chunks} is missing`);
      seq = m.seq;
      size += m.data.length;
      sha.update(m.data);
      yield m.data;
    }
    const digest = `SHA-256=${sha.digest('base64url')}`;
    if (size !== info.size || digest.replace(/=+$/, '') !== info.digest.replace(/=+$/, '')) {
      throw new Error(`object ${name} of ${bucket}: ${size} bytes read, digest ${digest}; expected ${info.size} bytes, ${info.digest}`);
    }
  })();
}

/** The whole object as one array, or null when the bucket has no such object. */
export async function getObject(streams: StreamAPI, bucket: string, name: string): Promise<Uint8Array | null> {
  const chunks = await objectChunks(streams, bucket, name);
  if (!chunks) return null;
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}
