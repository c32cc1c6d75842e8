// A cluster node gets the backward step's specialisations (docs/backward-step.md) on its own rows: its
// partial Problem finds Buffet's shared minor block and Cyber's common support size as the whole problem
// does, built in place or on the build thread; and a Buffet run on nodes stays bitwise equal to inline.
import { describe, expect, it } from 'vitest';
import { InProcessHub } from '../shared/cluster-transport.ts';
import { COORDINATOR } from '../shared/cluster-messages.ts';
import { ShardNode } from '../worker/shard-node.ts';
import { buildShardProblem } from '../worker/shard-build.ts';
import { ClusterExecutor } from '../coordinator/cluster-executor.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { fixedMinorBlock, fullSupport } from '../shared/kernels/row-structure.ts';
import { resolveGameFamily } from '../shared/game-source.ts';
import type { Problem } from '../shared/problem.ts';
import { problemOf } from './helpers/variants.ts';
import { expectSameBits, sameBits, solveCollected } from './helpers/same-bits.ts';

describe("a node's rows and the step's specialisations", () => {
  for (const [game, params, bins] of [
    ['buffet', { T: 6 }, 8],
    ['buffet', { T: 6 }, 30], // built on the build thread
    ['cyber', { T: 6 }, 8],
  ] as const) {
    it(`${game} M = ${bins}: every shard finds what the whole problem finds`, async () => {
      const whole = await problemOf({ game, params, bins });
      const family = await resolveGameFamily(game, (s) => import(s));
      const C = whole.cells;
      for (const cells of [[0, 4], [4, C], [C >> 1, C]] as Array<[number, number]>) {
        const part = await buildShardProblem(family, { game, params, bins, gridKind: 'midpoint', projection: 'nearest', cells });
        expect(part.keptCells).toEqual(cells);
        expect(fullSupport(part)).toBe(fullSupport(whole));
        const [a, b] = [fixedMinorBlock(whole), fixedMinorBlock(part)];
        expect(Boolean(b)).toBe(Boolean(a));
        if (a && b) expect(sameBits(a, b)).toBe(true);
      }
      if (game === 'buffet') expect(fixedMinorBlock(whole)).toBeDefined();
      else expect(fullSupport(whole)).toBeDefined();
      // no kept rows: nothing to specialise to
      const none = await buildShardProblem(family, { game, params, bins, gridKind: 'midpoint', projection: 'nearest', cells: [0, 0] });
      expect([fixedMinorBlock(none), fullSupport(none)]).toEqual([undefined, undefined]);
    }, 60_000);
  }

  it('Buffet on 2 nodes (one with a pool) runs the specialised step, bitwise equal to inline (fp, omd)', async () => {
    const spec = { game: 'buffet', params: { T: 8 }, bins: 12 };
    const problem = await problemOf(spec);
    const hub = new InProcessHub();
    const nodes = [0, 1].map((i) => new ShardNode({ transport: hub.join(`node-${i}`), threads: i + 1, heartbeatMs: 50, pool: i === 1 }));
    for (const node of nodes) node.start();
    const ex = new ClusterExecutor({ transport: hub.join(COORDINATOR), minNodes: 2, settleMs: 0 });
    try {
      for (const options of [{ algorithm: 'fp', iterations: 4 }, { algorithm: 'omd', iterations: 4 }] as const) {
        const want = await solveCollected(spec, problem, new InlineExecutor(), options);
        expectSameBits(want, await solveCollected(spec, problem, ex, options), `buffet ${options.algorithm}`);
        for (const node of nodes) {
          const shard = (node as unknown as { shard?: { problem: Problem } }).shard;
          expect(fixedMinorBlock(shard!.problem), node.id).toBeDefined();
        }
      }
    } finally {
      await ex.close();
      for (const node of nodes) await node.stop();
    }
  }, 120_000);
});
