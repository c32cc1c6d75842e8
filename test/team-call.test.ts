// Claims of a team call (shared/team-call.ts), single-threaded: the participants' claims interleaved in
// random orders must hand out every block exactly once, each participant's own share first and in order, and
// nothing of a call to a claimant of an earlier one.
import { describe, expect, it } from 'vitest';
import { blocksDone, claimBlock, createTeamControl, finishBlock, openTeamCall, shareStart, unfinishedBlocks } from '../shared/team-call.ts';
import { SeededRandom } from '../shared/random.ts';

describe('team call claims', () => {
  it('every block once; a participant takes its own share in order before any other block', () => {
    const rng = new SeededRandom(11);
    const rand = () => rng.next();
    for (let trial = 0; trial < 300; trial++) {
      const seats = 1 + Math.floor(rand() * 4);
      const P = seats + 1;
      const maxBlocks = P * 8;
      const control = createTeamControl(maxBlocks, seats);
      const blocks = 1 + Math.floor(rand() * maxBlocks);
      const call = openTeamCall(control, 1 + trial, blocks, blocks * 3);
      const got: number[][] = Array.from({ length: P }, () => []);
      const active = Array.from({ length: P }, (_, p) => p);
      while (active.length > 0) {
        const i = Math.floor(rand() * active.length);
        const p = active[i];
        const b = claimBlock(call, p);
        if (b < 0) {
          active.splice(i, 1);
          continue;
        }
        // a block outside p's share only once every block of its share is taken
        const [from, to] = [shareStart(blocks, P, p), shareStart(blocks, P, p + 1)];
        if (b < from || b >= to) for (let c = from; c < to; c++) expect(got.some((g) => g.includes(c))).toBe(true);
        got[p].push(b);
      }
      expect(got.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: blocks }, (_, b) => b));
      for (let p = 0; p < P; p++) {
        const [from, to] = [shareStart(blocks, P, p), shareStart(blocks, P, p + 1)];
        const own = got[p].filter((b) => b >= from && b < to);
        // its own blocks form a prefix of what it claimed, in increasing order (others may have taken some)
        expect(got[p].slice(0, own.length)).toEqual(own);
        expect(own).toEqual([...own].sort((a, b) => a - b));
      }
    }
  });

  it('a claimant of an earlier call gets nothing, also once the next call is open', () => {
    const control = createTeamControl(16, 1);
    const old = openTeamCall(control, 7, 4, 4);
    while (claimBlock(old, 0) >= 0);
    const next = openTeamCall(control, 8, 16, 16);
    expect(claimBlock(old, 0)).toBe(-1);
    expect(claimBlock(old, 1)).toBe(-1);
    expect(claimBlock(next, 1)).toBe(8);
    expect(claimBlock(next, 0)).toBe(0);
  });

  it('names the blocks a seat claimed and did not finish', () => {
    const control = createTeamControl(8, 1);
    const call = openTeamCall(control, 3, 8, 8);
    const a = claimBlock(call, 0);
    const b = claimBlock(call, 0);
    finishBlock(call, a);
    expect(unfinishedBlocks(call, 0)).toEqual([b]);
    expect(blocksDone(call)).toBe(1);
    // the calling thread (seat 1) takes its own share, then what seat 0 left
    const rest: number[] = [];
    for (let c = claimBlock(call, 1); c >= 0; c = claimBlock(call, 1)) rest.push(c);
    expect(rest).toEqual([4, 5, 6, 7, 2, 3]);
  });
});

describe('team call claims without home shares', () => {
  it('hand out the blocks in order from one counter, whoever claims', () => {
    const control = createTeamControl(12, 2);
    const call = openTeamCall(control, 5, 9, 90, false);
    const order = [2, 0, 1, 1, 2, 0, 2, 2, 1, 0].map((seat) => claimBlock(call, seat));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, -1]);
  });
});
