// Removes from a JetStream object store bucket every object whose name does not start with `<keep>.`, and the
// chunks of no object kept (a put cut off). With stream info's subject list and purges only: no consumer and
// no object listing (which needs one), so a user with info, message get and purge on the stream may run it.

import type { JetStreamManager } from '@nats-io/jetstream';

/** The number of objects removed (chunks without an object are not counted); 0 when there is no bucket. */
export async function pruneObjects(jsm: JetStreamManager, bucket: string, keep: string): Promise<number> {
  const stream = `OBJ_${bucket}`;
  const subjects = async (kind: 'M' | 'C') => {
    try {
      return Object.keys((await jsm.streams.info(stream, { subjects_filter: `$O.${bucket}.${kind}.>` })).state.subjects ?? {});
    } catch {
      return []; // no bucket (yet): nothing to prune
    }
  };
  const kept = new Set<string>();
  let removed = 0;
  for (const meta of await subjects('M')) {
    const name = Buffer.from(meta.slice(`$O.${bucket}.M.`.length), 'base64url').toString();
    const info = (await jsm.streams.getMessage(stream, { last_by_subj: meta }))?.json<{ nuid: string; deleted?: boolean }>();
    if (name.startsWith(`${keep}.`) && info && !info.deleted) {
      kept.add(info.nuid);
      continue;
    }
    await jsm.streams.purge(stream, { filter: meta });
    if (info && !info.deleted) removed++;
  }
  for (const chunks of await subjects('C')) {
    if (!kept.has(chunks.slice(`$O.${bucket}.C.`.length))) await jsm.streams.purge(stream, { filter: chunks });
  }
  return removed;
}
