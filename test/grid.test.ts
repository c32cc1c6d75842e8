import { describe, expect, it, vi } from 'vitest';
import { MidpointGrid, linspace } from '../shared/grid.ts';
import { SeededRandom } from '../shared/random.ts';

describe('midpoint grid', () => {
  it('has the reference cell counts (games.md)', () => {
    const expected: Array<[number, number, number]> = [
      [2, 10, 10], [2, 20, 20], [2, 50, 50], [2, 120, 120],
      [3, 10, 55], [3, 20, 210], [3, 50, 1275], [3, 120, 7260],
      [4, 10, 165], [4, 20, 1330], [4, 50, 20825], [4, 120, 287980],
    ];
    for (const [nX, M, cells] of expected) expect(new MidpointGrid(nX, M).cells, `nX=${nX} M=${M}`).toBe(cells);
  });

  it('builds points like numpy: linspace values, last coordinate 1 - sum', () => {
    const lin = linspace(1 / 20 / 2, 1 - 1 / 20 / 2, 20);
    expect(lin[0]).toBe(0.025);
    expect(lin[19]).toBe(0.975);
    const g = new MidpointGrid(2, 20);
    expect(g.point(16)[0]).toBe(lin[16]);
    expect(g.point(16)[1]).toBe(1 - lin[16]);
  });

  it('projects the paper initial distributions to the documented cells, ties included', () => {
    expect(new MidpointGrid(2, 20).project([0.8, 0.2])).toBe(16);
    expect(new MidpointGrid(2, 50).project([0.8, 0.2])).toBe(39);
    expect(new MidpointGrid(2, 120).project([0.8, 0.2])).toBe(96);
    expect(new MidpointGrid(2, 20).project([0.5, 0.5])).toBe(10);
    expect(new MidpointGrid(2, 50).project([0.5, 0.5])).toBe(24);
  });

  it('refuses grids without cells', () => {
    expect(() => new MidpointGrid(4, 1)).toThrow(/no cell/);
    expect(() => new MidpointGrid(1, 10)).toThrow(/nX/);
    expect(() => new MidpointGrid(2, 0)).toThrow(/positive integer/);
  });

  for (const nX of [2, 3, 4, 5]) {
    it(`agrees with the brute-force L1 scan on random, grid, midpoint and vertex inputs (nX=${nX})`, () => {
      const rng = new SeededRandom(1234 + nX);
      const Ms = nX === 5 ? [3, 4, 7, 9] : nX === 4 ? [2, 3, 5, 7, 10, 13] : [1, 2, 3, 5, 7, 10, 20, 21, 33, 50];
      let checked = 0;
      for (const M of Ms) {
        const g = new MidpointGrid(nX, M);
        const mu = new Float64Array(nX);
        const check = (what: string) => {
          const fast = g.project(mu);
          const slow = g.projectByScan(mu);
          if (fast !== slow) {
            throw new Error(`${what} M=${M} mu=[${Array.from(mu)}]: fast ${fast} (d=${g.distance(mu, 0, fast)}) scan ${slow} (d=${g.distance(mu, 0, slow)})`);
          }
          checked++;
        };
        for (let n = 0; n < 400; n++) {
          rng.simplex(nX, mu);
          check('random');
        }
        for (let n = 0; n < 200; n++) {
          // random points near a face: one coordinate tiny
          rng.simplex(nX, mu);
          const j = rng.int(nX);
          const tiny = rng.next() * 1e-3;
          let s = 0;
          for (let i = 0; i < nX; i++) if (i !== j) s += mu[i];
          for (let i = 0; i < nX; i++) mu[i] = i === j ? tiny : (mu[i] / s) * (1 - tiny);
          check('near-face');
        }
        for (let n = 0; n < 300; n++) {
          // points on faces and near them: some coordinates zero or below the first grid value
          rng.simplex(nX, mu);
          for (let i = 0; i < nX; i++) if (rng.next() < 0.4) mu[i] = n % 3 === 0 ? 0 : (rng.next() * 0.6) / M;
          let s = 0;
          for (let i = 0; i < nX; i++) s += mu[i];
          if (s === 0) continue;
          for (let i = 0; i < nX; i++) mu[i] /= s;
          check('face');
        }
        for (let c = 0; c < g.cells; c++) {
          mu.set(g.point(c));
          check('grid point');
        }
        for (let n = 0; n < 400; n++) {
          const a = g.point(rng.int(g.cells));
          const b = n % 2 === 0 ? g.point(rng.int(g.cells)) : g.point(Math.min(g.cells - 1, rng.int(g.cells) + 1));
          for (let i = 0; i < nX; i++) mu[i] = (a[i] + b[i]) / 2;
          check('midpoint');
        }
        for (let n = 0; n < 200; n++) {
          // exact rational midpoints between neighbouring lattice points: (k + 1/2 +- 1/2) / M style ties
          for (let i = 0; i < nX - 1; i++) mu[i] = rng.int(2 * M + 1) / (2 * M);
          let s = 0;
          for (let i = 0; i < nX - 1; i++) s += mu[i];
          if (s > 1) continue;
          mu[nX - 1] = 1 - s;
          check('half-lattice');
        }
        for (let v = 0; v < nX; v++) {
          mu.fill(0);
          mu[v] = 1;
          check('vertex');
        }
        mu.fill(1 / nX);
        check('barycentre');
      }
      expect(checked).toBeGreaterThan(1000);
    });
  }

  it('nX = 4 near the faces at large M (Cyber\'s mean fields): the inline window scan agrees with the brute-force scan, without the general search', () => {
    const rng = new SeededRandom(4060);
    const generic = vi.spyOn(MidpointGrid.prototype as unknown as { projectGeneric: () => number }, 'projectGeneric');
    let checked = 0;
    let inline = 0;
    for (const M of [17, 31, 60]) {
      const g = new MidpointGrid(4, M);
      const mu = new Float64Array(4);
      for (let n = 0; n < 1500; n++) {
        rng.simplex(4, mu);
        // one or two coordinates below the first grid value (or zero), or the last one small (box corners
        // beyond the outer face), sometimes a half-lattice value (ties)
        for (let i = 0; i < 4; i++) {
          const r = rng.next();
          if (r < 0.25) mu[i] = (rng.next() * 0.5) / M;
          else if (r < 0.3) mu[i] = 0;
          else if (r < 0.4) mu[i] = rng.int(2 * M) / (2 * M);
        }
        if (n % 2 === 0) mu[3] = (rng.next() * 2.5) / M;
        let s = 0;
        for (let i = 0; i < 4; i++) s += mu[i];
        if (s === 0) continue;
        for (let i = 0; i < 4; i++) mu[i] /= s;
        generic.mockClear();
        const fast = g.project(mu);
        if (generic.mock.calls.length === 0) inline++;
        const slow = g.projectByScan(mu);
        if (fast !== slow) throw new Error(`M=${M} mu=[${Array.from(mu)}]: fast ${fast} (d=${g.distance(mu, 0, fast)}) scan ${slow} (d=${g.distance(mu, 0, slow)})`);
        checked++;
      }
    }
    generic.mockRestore();
    expect(checked).toBeGreaterThan(4000);
    // the general search (a walk from a corner that is not a cell) is left for a few points only
    expect(inline / checked).toBeGreaterThan(0.99);
  });
});

