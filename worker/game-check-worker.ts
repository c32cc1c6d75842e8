// The game check thread (coordinator/game-check.ts): builds and validates a user's game, its kernel tables
// included, where a call into the game's code that never returns can be stopped. Every call is recorded
// first in the shared probe (shared/kernel-probe.ts), so the watching thread can name it. Messages out:
// 'started' (this thread's own modules are loaded: the user's code begins), 'family' (the game's name, once
// the module is loaded), 'total' (calls the whole check will make, for the
// deadline), then 'done' or 'error'. With loadOnly, only the module is imported (its top-level code run) and
// its game found: 'family', then 'done'.

import { parentPort, workerData } from 'node:worker_threads';
import { resolveGameFamily } from '../shared/game-source.ts';
import { probeWriter, type GameCheckData, type GameCheckReply } from '../shared/kernel-probe.ts';
import { makeGrid, Problem } from '../shared/problem.ts';
import { buildGame, setKernelProbe } from '../shared/validate.ts';
import { importGameModule } from './sweep-worker.ts';

const { spec, probe, loadOnly } = workerData as GameCheckData & { loadOnly?: boolean };
const port = parentPort!;
const post = (r: GameCheckReply) => port.postMessage(r);

async function check(): Promise<void> {
  post({ type: 'started' });
  setKernelProbe(probeWriter(probe));
  const family = await resolveGameFamily(spec.game, importGameModule);
  post({ type: 'family', name: family.name });
  if (loadOnly) {
    post({ type: 'done', ms: 0 });
    return;
  }
  const t0 = performance.now();
  const game = buildGame(family, spec.params);
  // validation points (vertices, mu0, 24 random) and the table build (two passes over cells)
  const { nX, nU, nX0, nU0 } = game;
  const perState = nX0 * nU0;
  const cells = makeGrid(spec.grid, nX, spec.bins).cells;
  post({ type: 'total', calls: (nX + 25) * perState * (2 + 2 * nX * nU) + cells * perState * (3 + 2 * nX * nU) });
  new Problem(game, spec.bins, spec.grid);
  post({ type: 'done', ms: performance.now() - t0 });
}

check().catch((err: unknown) => {
  const e = err as Error & { game?: string };
  post({ type: 'error', name: e?.name ?? 'Error', game: e?.game, message: e?.message ?? String(err) });
});
