// The model build of a cluster node, on its own thread (worker/shard-build.ts): the build is one long
// synchronous computation, and on the node's main thread it would stop the heartbeats, so that a node killed
// while building could be told from a slow one only after a long build timeout. Here it runs beside them.
// Builds the Problem keeping the shard's cells, posts its fields back (the table buffers transferred).

import { parentPort, workerData } from 'node:worker_threads';
import { resolveGameFamily } from '../shared/game-source.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { importGameModule } from './sweep-worker.ts';
import type { ShardBuildData } from './shard-build.ts';

const data = workerData as ShardBuildData;
const port = parentPort!;

async function build(): Promise<void> {
  const family = await resolveGameFamily(data.game, importGameModule);
  const p = new Problem(buildGame(family, data.params), data.bins, data.gridKind, data.projection, { cells: data.cells });
  const tables = [p.minorP, p.minorR, p.majorR, p.majorCount, p.majorTo, p.majorP];
  port.postMessage(
    { ok: true, fingerprint: p.fingerprint, majorWidth: p.majorWidth, initialCell: p.initialCell, tables },
    tables.map((t) => t.buffer as ArrayBuffer),
  );
}

build().catch((err: unknown) => port.postMessage({ ok: false, message: (err as Error)?.message ?? String(err) }));
