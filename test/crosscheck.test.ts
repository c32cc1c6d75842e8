// The reference code's numbers (../shared/spec/crosscheck.md, SIS at M = 20), reproduced through the CLI
// to 1e-9 relative at every listed iteration.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';

// iteration, major expl., minor expl., majorBR, majorPolicy, minorBR, minorPolicy
const FP: number[][] = [
  [0, 78.27404152007739, 55.54517062631001, -174.62505581864576, -252.89909733872315, -39.2225530285171, -94.76772365482711],
  [1, 92.80363276904876, 9.946517055164762, -78.42949064200002, -171.23312341104878, -71.87181517176498, -81.81833222692974],
  [2, 15.748251289806973, 3.9021844009483573, -55.143762500000264, -70.89201378980724, -53.78274222426437, -57.684926625212725],
  [3, 14.043702885472577, 3.1892105480873454, -56.60626250000026, -70.64996538547284, -53.38426261191756, -56.57347316000491],
  [4, 41.70178649726117, 4.483152471778979, -79.03126250000001, -120.73304899726118, -65.93764381431318, -70.42079628609216],
  [5, 41.02901677410898, 7.044033975151585, -79.09887500000005, -120.12789177410903, -61.91962379469121, -68.9636577698428],
  [6, 38.73365607263503, 7.784867413411298, -79.09887500000005, -117.83253107263508, -59.33464950300648, -67.11951691641778],
  [7, 32.77860907753856, 6.876368490615, -79.09887500000005, -111.87748407753861, -59.35473080786654, -66.23109929848154],
  [8, 37.1226271756596, 8.559251563864969, -79.09887500000005, -116.22150217565965, -55.49858642255143, -64.0578379864164],
  [9, 30.367491262489906, 6.566637843259734, -80.32149419603019, -110.6889854585201, -57.5428693491294, -64.10950719238913],
  [19, 25.09435350542563, 6.665444742964958, -80.56824462851742, -105.66259813394305, -50.05883842061509, -56.72428316358005],
  [49, 19.012343559672345, 3.7943283992033017, -79.94580360212582, -98.95814716179817, -42.47656671595466, -46.27089511515796],
  [99, 13.19579720106124, 1.7829573000707981, -79.8756710487509, -93.07146824981214, -39.350081464678965, -41.13303876474976],
];

const FPI: number[][] = [
  [0, 78.27404152007739, 55.54517062631001, -174.62505581864576, -252.89909733872315, -39.2225530285171, -94.76772365482711],
  [1, 22.659893067999775, 38.39943393597226, -54.97648193200024, -77.63637500000002, -33.223411631549844, -71.6228455675221],
  [2, 75.19011832783653, 1.5934541114945944, -77.63637500000002, -152.82649332783654, -70.95721155508186, -72.55066566657645],
  [3, 22.743427441999778, 38.6401023484368, -54.745572558000255, -77.48900000000003, -33.2387018098176, -71.8788041582544],
  [4, 83.45495947932645, 1.3445230077292933, -77.63637500000002, -161.09133447932646, -73.0839989345445, -74.42852194227379],
  [5, 22.743427441999778, 38.6401023484368, -54.745572558000255, -77.48900000000003, -33.2387018098176, -71.8788041582544],
  [28, 89.86769150954032, 1.47447965245685, -77.63637500000002, -167.50406650954034, -73.72424984879439, -75.19872950125124],
  [29, 22.743427441999778, 38.6401023484368, -54.745572558000255, -77.48900000000003, -33.2387018098176, -71.8788041582544],
];

interface Point {
  iteration: number;
  exploitability: { major: number; minor: number; total: number };
  value: { majorBestResponse: number; majorPolicy: number; minorBestResponse: number; minorPolicy: number };
}

function expectClose(actual: number, expected: number, what: string) {
  const rel = Math.abs(actual - expected) / Math.max(1e-300, Math.abs(expected));
  expect(rel, `${what}: ${actual} vs reference ${expected}`).toBeLessThanOrEqual(1e-9);
}

function check(curve: Point[], table: number[][], iterations: number) {
  expect(curve).toHaveLength(iterations);
  curve.forEach((p, i) => expect(p.iteration).toBe(i));
  for (const [it, major, minor, majorBR, majorPol, minorBR, minorPol] of table) {
    const p = curve[it];
    expectClose(p.exploitability.major, major, `iteration ${it} major exploitability`);
    expectClose(p.exploitability.minor, minor, `iteration ${it} minor exploitability`);
    expectClose(p.exploitability.total, major + minor, `iteration ${it} total exploitability`);
    expectClose(p.value.majorBestResponse, majorBR, `iteration ${it} majorBestResponse`);
    expectClose(p.value.majorPolicy, majorPol, `iteration ${it} majorPolicy`);
    expectClose(p.value.minorBestResponse, minorBR, `iteration ${it} minorBestResponse`);
    expectClose(p.value.minorPolicy, minorPol, `iteration ${it} minorPolicy`);
  }
}

describe('cross-check against the reference code (SIS, M = 20)', () => {
  for (const [algorithm, table, iterations] of [['fp', FP, 100], ['fpi', FPI, 30]] as const) {
    it(`m3fg solve --game sis --algorithm ${algorithm} --bins 20 --iterations ${iterations}`, () => {
      const out = join(mkdtempSync(join(tmpdir(), 'm3fg-cc-')), 'run');
      const res = runCli(['solve', '--game', 'sis', '--algorithm', algorithm, '--bins', '20', '--iterations', String(iterations), '--out', out, '--quiet']);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const curve = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8')) as Point[];
      check(curve, table as number[][], iterations);
    });
  }
});
