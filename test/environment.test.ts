// Environment errors and resource limits: one `m3fg:` line naming the path (or the estimate and the
// machine's memory), exit 2, no empty results directory left behind; results are never silently
// overwritten; the summary names every file written; the default --out names the variant.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSolveFlags } from '../coordinator/options.ts';
import { estimateMemory, gridCells, parseBytes } from '../coordinator/memory.ts';
import { MidpointGrid } from '../shared/grid.ts';
import { builtinGames } from '../shared/games/index.ts';
import { buildGame } from '../shared/validate.ts';
import { Problem } from '../shared/problem.ts';
import { tableLayout } from '../shared/tables.ts';
import { runCli } from './helpers/cli.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'm3fg-env-'));
const small = ['solve', '--game', 'sis', '--bins', '6', '--iterations', '2', '--threads', '1', '--quiet'];

function refused(args: string[], message: RegExp, code = 2) {
  const res = runCli(args);
  expect(res.code, res.stderr).toBe(code);
  const lines = res.stderr.trimEnd().split('\n');
  expect(lines, res.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^m3fg: /);
  expect(lines[0]).toMatch(message);
  expect(lines[0]).not.toMatch(/internal error/);
  return lines[0];
}

describe('environment errors', () => {
  it('--out naming a file, or a path under a file: one line naming it, exit 2', () => {
    const root = tmp();
    const file = join(root, 'file');
    writeFileSync(file, 'x');
    refused([...small, '--out', file], new RegExp(`--out ${file}: is a file, not a directory`));
    refused([...small, '--out', join(file, 'a', 'b')], new RegExp(`--out ${file}/a/b: ${file} is a file, not a directory`));
    expect(readdirSync(root)).toEqual(['file']);
  });

  it.runIf(process.platform === 'linux')('--out under /proc or /sys: one line, no spinning', () => {
    refused([...small, '--out', '/proc/m3fg-x'], /--out \/proc\/m3fg-x: (cannot create \/proc\/m3fg-x|not writable)/);
    refused([...small, '--out', '/sys/m3fg-x/y'], /--out \/sys\/m3fg-x\/y: (cannot create \/sys\/m3fg-x|not writable)/);
  });

  it('an unreachable NATS server leaves no empty results directory', () => {
    const root = tmp();
    refused([...small, '--nats', 'nats://127.0.0.1:1', '--out', join(root, 'a', 'b')], /nats:\/\/127\.0\.0\.1:1/, 2);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a game that fails validation leaves no results directory', () => {
    const root = tmp();
    refused(['solve', '--game', './test/fixtures/bad-row.ts', '--iterations', '1', '--out', join(root, 'r'), '--quiet'], /minorKernel/);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('the resource guard', () => {
  it('refuses a game larger than the machine, before allocating anything, stating the estimate and the memory', () => {
    const root = tmp();
    const line = refused(['solve', '--game', 'cyber', '--bins', '400', '--threads', '1', '--keep', 'last', '--out', join(root, 'c'), '--quiet'], /the run needs about 9[78]\.\d GiB, more than this (machine|container)'s memory \(\d+(\.\d+)? [GT]iB\)/);
    expect(line).toMatch(/--max-memory/);
    refused(['solve', '--game', 'cyber', '--bins', '5000', '--out', join(root, 'c'), '--quiet'], /the run needs about [\d.]+ [TP]iB/);
    refused([...small, '--max-memory', '10K', '--out', join(root, 'c')], /the run needs about [\d.]+ MiB, more than --max-memory \(10\.0 KiB\)/);
    refused([...small, '--max-memory', 'lots', '--out', join(root, 'c')], /--max-memory: expected a size like 8G/);
    expect(readdirSync(root)).toEqual([]);
  });

  it('counts the model once per thread and every table (exactly, against the allocated sizes)', () => {
    for (const [name, bins] of [['sis', 30], ['cyber', 12], ['buffet', 20], ['advertisement', 15]] as const) {
      const game = buildGame(builtinGames[name]);
      const problem = new Problem(game, bins);
      const e1 = estimateMemory(game, bins, 'midpoint', { threads: 1, omd: true, slices: game.T });
      const e4 = estimateMemory(game, bins, 'midpoint', { threads: 4, omd: true, slices: game.T });
      expect(e1.cells).toBe(problem.cells);
      const model = [problem.minorP, problem.minorR, problem.majorR, problem.majorCount, problem.grid.points].reduce((s, a) => s + a.byteLength, 0);
      // the major supports are counted at their widest (nX0); the rest exactly
      expect(e1.modelBytes).toBeGreaterThanOrEqual(model + problem.majorTo.byteLength + problem.majorP.byteLength);
      expect(e1.modelBytes - model).toBe(problem.rows * game.nU0 * game.nX0 * 12);
      const tables = Object.values(tableLayout(problem, { omd: true })).reduce((s, t) => s + t.length * (t.type === 'f64' ? 8 : 4), 0);
      expect(e1.tableBytes).toBe(tables);
      expect(e4.totalBytes - e1.totalBytes).toBe(4 * e1.modelBytes + 4 * 16 * 2 ** 20);
    }
    for (const nX of [2, 3, 4]) for (const M of [2, 3, 7, 40]) expect(gridCells('midpoint', nX, M), `nX ${nX} M ${M}`).toBe(new MidpointGrid(nX, M).cells);
    expect(parseBytes('f', '8G')).toBe(8 * 2 ** 30);
    expect(parseBytes('f', '500MiB')).toBe(500 * 2 ** 20);
    expect(parseBytes('f', '4096')).toBe(4096);
  });

  it('run.json holds the estimate', () => {
    const out = join(tmp(), 'r');
    expect(runCli([...small, '--out', out]).code).toBe(0);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.memory.totalBytes).toBeGreaterThan(0);
    expect(run.memory.totalBytes).toBe(run.memory.modelBytes * run.memory.modelCopies + run.memory.tableBytes + run.memory.bestBytes + run.memory.runtimeBytes);
    expect(run.memory.limitBytes).toBeGreaterThan(0);
  });
});

describe('results are never silently overwritten', () => {
  it('refuses a directory holding another configuration; --force replaces it (no stale files); the same one is rerun', () => {
    const out = join(tmp(), 'r');
    expect(runCli([...small, '--out', out]).code).toBe(0);
    writeFileSync(join(out, 'nplayer.json'), '{"stale": true}');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    expect(runCli([...small, '--out', out]).code, 'the same configuration again').toBe(0);
    refused([...small, '--bins', '7', '--out', out], new RegExp(`--out ${out}: holds a run of another configuration \\(sis fp M = 6; differs in bins\\); choose another --out or add --force`));
    refused([...small, '--softmax', '--out', out], /differs in softmax/);
    const before = readFileSync(join(out, 'policies.bin'));
    expect(Buffer.compare(before, readFileSync(join(out, 'policies.bin')))).toBe(0);
    const forced = runCli([...small, '--bins', '7', '--out', out, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(join(out, 'nplayer.json')), 'the old run\'s nplayer.json is gone').toBe(false);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8'), 'files that are not the run\'s stay').toBe('mine');
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).bins).toBe(7);
  });

  it('a checkpoint of another run counts as a run', () => {
    const out = join(tmp(), 'r');
    mkdirSync(out);
    expect(runCli([...small, '--checkpoint-every', '1', '--out', out]).code).toBe(0);
    refused([...small, '--iterations', '3', '--out', out], /differs in iterations/);
  });

  it('the default --out names every variant setting that is not the default', () => {
    const out = (flags: Record<string, string | boolean>) => parseSolveFlags({ threads: '1', ...flags }).out;
    expect(out({})).toBe('results/sis-fp-m20');
    expect(out({ softmax: true })).toBe('results/sis-fp-m20-softmax');
    expect(out({ softmax: true, temperature: '0.5' })).toBe('results/sis-fp-m20-softmax-t0.5');
    expect(out({ algorithm: 'omd', temperature: '0.2' })).toBe('results/sis-omd-m20-t0.2');
    expect(out({ horizon: 'infinite' })).toBe('results/sis-fp-m20-infinite');
    expect(out({ horizon: 'infinite', discount: '0.9' })).toBe('results/sis-fp-m20-infinite-g0.9');
    expect(out({ init: 'last', grid: 'lattice' })).toBe('results/sis-fp-m20-init-last-lattice');
    expect(out({ algorithm: 'alternating', inner: '3' })).toBe('results/sis-alternating-m20-inner3');
    expect(out({ temperature: '0.5' }), 'the temperature of a greedy run changes nothing').toBe('results/sis-fp-m20');
  });
});

describe('the summary', () => {
  it('names the report and every file written, all of which exist', () => {
    const out = join(tmp(), 'r');
    const res = runCli(['solve', '--game', 'sis', '--bins', '6', '--iterations', '2', '--threads', '1', '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    const report = /^report: (.+)$/m.exec(res.stdout)?.[1];
    expect(report).toBe(join(out, 'report', 'index.html'));
    const files = /^files: (.+)$/m.exec(res.stdout)![1].split(', ');
    for (const f of ['curve.json', 'policies.bin', 'minorPolicy.npy', 'majorPolicy.npy', 'gridPoints.npy', 'curve.npy', 'run.json']) expect(files).toContain(join(out, f));
    for (const f of [...files, report!]) expect(existsSync(f), f).toBe(true);
    const lastIterate = readdirSync(join(out, 'last')).map((f) => join(out, 'last', f)); // --keep best's last/
    const written = [...readdirSync(out).filter((f) => f !== 'report' && f !== 'last').map((f) => join(out, f)), ...lastIterate].sort();
    expect(files.filter((f) => !f.includes('/report/')).sort()).toEqual(written);
  });
});

describe('failures during the run', () => {
  it('a permanently failing worker thread costs time, not results: the calling thread finishes the run, no stack', () => {
    const out = join(tmp(), 'r');
    const res = runCli(['solve', '--game', './test/fixtures/thread-fault.mjs', '--bins', '20000', '--iterations', '2', '--threads', '2', '--out', out, '--quiet']);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stderr.trimEnd().split('\n').filter((l) => l !== '' && !l.startsWith('{')); // warnings are JSON log lines
    expect(lines, res.stderr).toEqual([]);
    expect(res.stderr).not.toMatch(/internal error|\n\s+at /);
    const inline = join(tmp(), 'inline');
    expect(runCli(['solve', '--game', './test/fixtures/thread-fault.mjs', '--bins', '20000', '--iterations', '2', '--threads', '1', '--out', inline, '--quiet']).code).toBe(0);
    // the policy tables and the curve are those of the inline run (the header records the executor, so compare the tables)
    expect(readFileSync(join(out, 'minorPolicy.npy')).equals(readFileSync(join(inline, 'minorPolicy.npy')))).toBe(true);
    expect(readFileSync(join(out, 'curve.json'), 'utf8')).toBe(readFileSync(join(inline, 'curve.json'), 'utf8'));
  }, 120_000);
});
