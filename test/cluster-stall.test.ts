// A coordinator whose own event loop is blocked for longer than the heartbeat timeout (a long synchronous job
// in its process, a loaded machine) must not lose live nodes: the heartbeats that arrived meanwhile are read
// only after the timers, so the tick that comes late is skipped (coordinator/cluster-executor.ts).
import { describe, expect, it } from 'vitest';
import { InProcessHub } from '../shared/cluster-transport.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';
import { ShardNode } from '../worker/shard-node.ts';
import { ClusterExecutor } from '../coordinator/cluster-executor.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import type { ProblemSpec } from '../coordinator/executor.ts';
import type { SolveOptions } from '../coordinator/solver.ts';
import { problemOf } from './helpers/variants.ts';
import { expectSameBits, solveCollected } from './helpers/same-bits.ts';

/** Blocks this thread (timers, sockets, everything) for `ms`. */
function block(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

describe('a coordinator whose event loop stalls', () => {
  it('loses no live node when the stall outlasts the heartbeat timeout (no recovery, same bits)', async () => {
    const spec: ProblemSpec = { game: 'sis', params: {}, bins: 20 };
    const problem = await problemOf(spec);
    const options: SolveOptions = { algorithm: 'fp', iterations: 6 };
    const want = await solveCollected(spec, problem, new InlineExecutor(), options);
    const hub = new InProcessHub();
    // the nodes share this thread: while it is blocked nobody beats, as for a remote node whose beats queue up
    const nodes = [0, 1].map((i) => new ShardNode({ transport: hub.join(`node-${i}`), threads: 1, heartbeatMs: 50, pool: false }));
    for (const node of nodes) node.start();
    const ex = new ClusterExecutor({ transport: hub.join(COORDINATOR), minNodes: 2, settleMs: 0, heartbeatTimeoutMs: 300, maxRecoveries: 0 });
    let iteration = 0;
    try {
      const got = await solveCollected(spec, problem, ex, {
        ...options,
        onIteration: () => {
          if (++iteration % 2 === 0) block(900);
        },
      });
      expectSameBits(want, got, 'after stalls of 3x the heartbeat timeout');
      expect(iteration).toBeGreaterThanOrEqual(4);
      expect(ex.stats().recoveries).toBe(0);
    } finally {
      await ex.close();
      for (const node of nodes) await node.stop();
    }
  });
});
