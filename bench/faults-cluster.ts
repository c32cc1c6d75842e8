// The cluster's fault trials with real processes: 3 `m3fg worker` nodes behind a real nats-server
// (deploy/local-cluster.sh, the shipped per-party config, loopback), the coordinator in this process (so the
// trials can set a 1.5 s heartbeat timeout, a 10 s build timeout, and a snapshot every 2 iterations, each
// node putting its shard into its own JetStream bucket of the shipped config). Trials:
//   - a node SIGKILLed at --kills seeded random moments of a run; the first kill lands as a snapshot write
//     starts (the nodes' puts are then cut off and the previous snapshot must serve), the others at a
//     uniform moment of a warm clean run's span from its open to its last iteration, counted from the open (a kill that lands after the run's end is drawn again); after each
//     kill a fresh node joins, so every run starts on 3 nodes;
//   - nats-server stopped and restarted 0.5 s and 5 s later, mid-run.
// Every run must end bitwise equal to the inline executor's (policy tables and every number of the curve).
//   npm run faults:cluster [-- --kills 10 --seed 1 --game cyber --bins 16 --iterations 8]
// Prints a table (kind, trials, passed, added seconds over a clean cluster run) and exits 1 if any failed.

import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { SeededRandom } from '../shared/random.ts';
import { collectSource } from '../shared/table-source.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { ClusterExecutor, type ClusterExecutorOptions } from '../coordinator/cluster-executor.ts';
import { solve, type CurvePoint, type SolveOptions } from '../coordinator/solver.ts';
import type { Executor } from '../coordinator/executor.ts';
import { startCluster } from '../test/helpers/cluster.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const kills = Number(flag('kills', '10'));
const rng = new SeededRandom(Number(flag('seed', '1')));
const game = flag('game', 'cyber');
const spec = { game, params: { T: 20 }, bins: Number(flag('bins', '16')) };
const options: SolveOptions = { algorithm: 'fp', iterations: Number(flag('iterations', '8')) };
const NODES = 3;

interface Outcome {
  tables: Float64Array[];
  curve: CurvePoint[];
  ms: number;
  recoveries: number;
  /** Where the run's snapshots went ('nodes': the nodes' own buckets). */
  snapshots: string;
}

async function run(executor: Executor, hooks: { onIteration?: (i: number) => void } = {}): Promise<Outcome> {
  const t0 = performance.now();
  const problem = new Problem(buildGame(builtinGames[game], spec.params), spec.bins);
  const r = await solve(spec, problem, executor, { ...options, onIteration: (p) => hooks.onIteration?.(p.iteration) });
  const p = r.policies;
  const tables = [await collectSource(p.minorPolicy), await collectSource(p.majorPolicy)];
  if (p.minorY) tables.push(await collectSource(p.minorY));
  if (p.majorY) tables.push(await collectSource(p.majorY));
  const ms = performance.now() - t0;
  const stats = executor instanceof ClusterExecutor ? executor.stats() : undefined;
  return { tables, curve: r.curve, ms, recoveries: stats?.recoveries ?? 0, snapshots: stats?.snapshots ?? 'none' };
}

/** Byte-equal tables and Object.is-equal curve numbers. */
function sameBits(a: Outcome, b: Outcome): boolean {
  if (a.tables.length !== b.tables.length) return false;
  for (let i = 0; i < a.tables.length; i++) {
    if (!Buffer.from(a.tables[i].buffer, a.tables[i].byteOffset, a.tables[i].byteLength).equals(Buffer.from(b.tables[i].buffer, b.tables[i].byteOffset, b.tables[i].byteLength))) return false;
  }
  const nums = (c: CurvePoint[]) => JSON.stringify(c, (_k, v) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : v));
  return nums(a.curve) === nums(b.curve);
}

const reference = await run(new InlineExecutor());
console.log(`${game} M=${spec.bins} T=${spec.params.T}, FP ${options.iterations} iterations, ${NODES} nodes; inline ${(reference.ms / 1000).toFixed(1)} s`);
const cluster = await startCluster(NODES);
let live = Array.from({ length: NODES }, (_, i) => i + 1);
let next = NODES + 1;
const rows: Array<{ kind: string; ok: boolean; addedS: number; note: string }> = [];
const onCluster = (extra: Partial<ClusterExecutorOptions> = {}) =>
  new ClusterExecutor({ nats: cluster.coordinator, minNodes: NODES, maxNodes: NODES, waitForNodesMs: 60_000, heartbeatTimeoutMs: 1_500, buildTimeoutMs: 10_000, snapshotEvery: 2, ...extra });

/** `ex`, calling `after` once its open has resolved (the run's nodes are in and have built the model). */
function afterOpen(ex: ClusterExecutor, after: () => void): ClusterExecutor {
  const open = ex.open.bind(ex);
  ex.open = async (...args: Parameters<ClusterExecutor['open']>) => {
    await open(...args);
    after();
  };
  return ex;
}

async function trial(kind: string, make: () => { ex: ClusterExecutor; onIteration?: (i: number) => void; armed?: () => string }, clean?: number): Promise<Outcome> {
  const { ex, onIteration, armed } = make();
  try {
    const got = await run(ex, { onIteration });
    const ok = sameBits(reference, got);
    const note = `${armed?.() ?? ''}${got.recoveries ? ` recoveries ${got.recoveries}` : ''} snapshots ${got.snapshots}`.trim();
    rows.push({ kind, ok, addedS: clean === undefined ? 0 : (got.ms - clean) / 1000, note });
    console.log(`  ${kind}: ${ok ? 'equal' : 'DIFFERENT'} in ${(got.ms / 1000).toFixed(1)} s ${note}`);
    return got;
  } catch (err) {
    rows.push({ kind, ok: false, addedS: NaN, note: (err as Error).message });
    console.log(`  ${kind}: FAILED ${(err as Error).message}`);
    return { tables: [], curve: [], ms: NaN, recoveries: 0, snapshots: 'none' };
  } finally {
    await ex.close();
  }
}

try {
  await trial('clean (cold)', () => ({ ex: onCluster() }));
  // the nodes have built the model once: later runs are warm, and the kill moments are drawn over a warm run
  // and the span from its open to its last iteration: the window the kill moments are drawn over
  let openedAt = 0;
  let lastAt = 0;
  const clean = (await trial('clean', () => ({ ex: afterOpen(onCluster(), () => (openedAt = performance.now())), onIteration: () => (lastAt = performance.now()) }))).ms;
  const window = lastAt - openedAt;
  let hits = 0;
  for (let k = 0; hits < kills && k < 2 * kills; k++) {
    const victim = live[Math.floor(rng.next() * live.length)];
    let killedAt = '';
    const kill = (why: string) => {
      if (killedAt) return;
      cluster.kill(victim, 'SIGKILL');
      killedAt = `node-${victim} killed ${why}`;
    };
    let timer: NodeJS.Timeout | undefined;
    await trial(
      'node SIGKILL',
      () => {
        if (k === 0) return { ex: onCluster({ onSnapshot: (n) => kill(`as the snapshot of iteration ${n} started`) }), armed: () => killedAt || 'no snapshot was taken' };
        const at = (0.05 + 0.9 * rng.next()) * window;
        // timed from the run's open, not the trial's start: a kill before the new executor has heard every node
        // left too few for the open to start at all (it waited 60 s and failed), a race with the heartbeats
        const ex = afterOpen(onCluster(), () => (timer = setTimeout(() => kill(`at ${(at / 1000).toFixed(2)} s after the open`), at)));
        return { ex, armed: () => killedAt || 'the run ended before the kill' };
      },
      clean,
    );
    clearTimeout(timer);
    if (!killedAt) {
      rows.pop(); // a kill that missed the run proves nothing: draw another moment
      continue;
    }
    hits++;
    live = live.filter((n) => n !== victim);
    cluster.addNode();
    live.push(next++);
  }
  for (const downMs of [500, 5_000]) {
    let restart: Promise<void> | undefined;
    await trial(
      `nats-server down ${downMs / 1000} s`,
      () => ({ ex: onCluster(), onIteration: (i) => void (i === 1 && (restart ??= cluster.restartServer(downMs))) }),
      clean,
    );
    await restart;
  }
} finally {
  cluster.stop();
}

const kinds = [...new Set(rows.map((r) => r.kind))];
console.log('\nkind                    trials  passed  added s (median, max over a clean cluster run)');
for (const kind of kinds) {
  const of = rows.filter((r) => r.kind === kind);
  const added = of.map((r) => r.addedS).sort((a, b) => a - b);
  const median = added[added.length >> 1];
  console.log(`${kind.padEnd(24)}${String(of.length).padStart(6)}${String(of.filter((r) => r.ok).length).padStart(8)}  ${median.toFixed(1)}, ${added[added.length - 1].toFixed(1)}`);
}
const passed = rows.filter((r) => r.ok).length;
console.log(`${'all'.padEnd(24)}${String(rows.length).padStart(6)}${String(passed).padStart(8)}`);
process.exit(passed === rows.length ? 0 : 1);
