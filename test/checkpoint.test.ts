// Checkpoints: a run killed with SIGKILL and resumed ends with the same policy tables and curve, to the
// bit, as an uninterrupted run (OMD included: its accumulators are saved); checkpoints from another game,
// grid or version, and damaged ones, are refused with one line naming the file and what is wrong.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPolicyHeader } from '../coordinator/policy-file.ts';
import { repoRoot, runCli } from './helpers/cli.ts';
import { editHeader, flipBit, readHeader, setValue } from './helpers/policy-file.ts';

const base = ['solve', '--game', 'sis', '--bins', '30', '--iterations', '60', '--quiet'];

function killWhenCheckpointed(args: string[], dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/m3fg.js', ...args], { cwd: repoRoot, stdio: 'ignore' });
    const started = Date.now();
    const poll = setInterval(() => {
      const path = join(dir, 'checkpoint.bin');
      if (existsSync(path)) {
        // kill somewhere in the middle of the run
        if ((readPolicyHeader(path).checkpoint?.iteration ?? 0) >= 7) child.kill('SIGKILL');
      }
      if (Date.now() - started > 60_000) {
        child.kill('SIGKILL');
        reject(new Error('the run never reached iteration 7'));
      }
    }, 5);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve(signal === 'SIGKILL' ? 1 : 0);
    });
  });
}

/** A pid that no process has now. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout as unknown as number;
}

const same = (a: string, b: string, file: string) => expect(Buffer.compare(readFileSync(join(a, file)), readFileSync(join(b, file))), file).toBe(0);

describe('checkpoint and resume', () => {
  it('a SIGKILLed run resumes to bitwise-equal tables and curve; a leftover temporary file is removed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-ckpt-'));
    const full = join(root, 'full');
    const cut = join(root, 'cut');
    const ref = runCli([...base, '--out', full]);
    expect(ref.code, ref.stderr).toBe(0);
    const killed = await killWhenCheckpointed([...base, '--out', cut, '--checkpoint-every', '1'], cut);
    expect(killed, 'the run should have been killed before it finished').toBe(1);
    expect(existsSync(join(cut, 'curve.json'))).toBe(false);
    const stale = join(cut, `checkpoint.bin.${deadPid()}.tmp`);
    writeFileSync(stale, 'half a checkpoint');
    const resumed = runCli(['solve', '--resume', cut, '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    same(full, cut, 'policies.bin');
    same(full, cut, 'minorPolicy.npy');
    expect(readFileSync(join(cut, 'curve.json'), 'utf8')).toBe(readFileSync(join(full, 'curve.json'), 'utf8'));
    expect(existsSync(stale), 'the temporary file of a killed writer is removed').toBe(false);
  });

  it('OMD resumes bitwise: the accumulators are in the checkpoint', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-ckpt-'));
    const omd = ['solve', '--game', 'sis', '--bins', '12', '--algorithm', 'omd', '--threads', '1', '--quiet'];
    const full = join(root, 'full');
    const cut = join(root, 'cut');
    expect(runCli([...omd, '--iterations', '8', '--out', full]).code).toBe(0);
    const first = runCli([...omd, '--iterations', '4', '--checkpoint-every', '2', '--out', cut]);
    expect(first.code, first.stderr).toBe(0);
    expect(readHeader(join(cut, 'checkpoint.bin')).tables.map((t: { name: string }) => t.name)).toEqual(['minorPolicy', 'majorPolicy', 'gridPoints', 'minorY', 'majorY', 'bestMinorPolicy', 'bestMajorPolicy']);
    const resumed = runCli(['solve', '--resume', cut, '--iterations', '8', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    same(full, cut, 'policies.bin');
    expect(readFileSync(join(cut, 'curve.json'), 'utf8')).toBe(readFileSync(join(full, 'curve.json'), 'utf8'));
  });

  it('a checkpoint costs the tables, not the iterations so far: the curve is appended', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-ckpt-'));
    const sizes: Array<[number, number]> = [];
    for (const iterations of [5, 50]) {
      const dir = join(root, `k${iterations}`);
      expect(runCli(['solve', '--game', 'sis', '--bins', '10', '--iterations', String(iterations), '--checkpoint-every', '1', '--threads', '1', '--out', dir, '--quiet']).code).toBe(0);
      sizes.push([statSync(join(dir, 'checkpoint.bin')).size, statSync(join(dir, 'checkpoint.curve')).size]);
    }
    // the header names the best iterate (its iteration and exploitability): a few bytes more or less
    expect(Math.abs(sizes[1][0] - sizes[0][0]), 'checkpoint.bin holds no curve').toBeLessThanOrEqual(64);
    expect(sizes.map((s) => s[1])).toEqual([5 * 64, 50 * 64]);
  });

  it('refuses a checkpoint of another game, grid or version, and a missing one', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-ckpt-'));
    const dir = join(root, 'run');
    const r = runCli(['solve', '--game', 'sis', '--bins', '10', '--iterations', '3', '--checkpoint-every', '1', '--out', dir, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const other = runCli(['solve', '--resume', dir, '--game', 'buffet', '--quiet']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/^m3fg: --resume: the checkpoint is for game 'sis', M = 10, algorithm fp, not game 'buffet'/);
    const grid = runCli(['solve', '--resume', dir, '--bins', '12', '--quiet']);
    expect(grid.code).toBe(2);
    expect(grid.stderr).toMatch(/M = 10.*not .*M = 12/);
    const missing = runCli(['solve', '--resume', join(root, 'nothing'), '--quiet']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^m3fg: --resume: no checkpoint in /);
    // a checkpoint written by another version
    editHeader(join(dir, 'checkpoint.bin'), (h) => {
      h.checkpoint.m3fgVersion = '9'.repeat(String(h.checkpoint.m3fgVersion).length);
    });
    const version = runCli(['solve', '--resume', dir, '--quiet']);
    expect(version.code).toBe(2);
    expect(version.stderr).toMatch(/checkpoint\.bin: written by m3fg 9+; this is m3fg/);
  });

  it('refuses every damaged checkpoint with one line naming the file, exit 2', () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-ckpt-'));
    const good = join(root, 'good');
    const r = runCli(['solve', '--game', 'sis', '--bins', '10', '--iterations', '6', '--checkpoint-every', '3', '--threads', '1', '--out', good, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const bin = 'checkpoint.bin';
    const curve = 'checkpoint.curve';
    const minorOffset = (d: string) => readHeader(join(d, bin)).tables[0].offset;
    const cases: Array<[string, (d: string) => void, RegExp]> = [
      ['truncated inside the tables', (d) => truncateSync(join(d, bin), minorOffset(d) + 800), /checkpoint\.bin: truncated: \d+ bytes, the header describes \d+/],
      ['a bit flip in a table', (d) => flipBit(join(d, bin), minorOffset(d) + 8 * 37), /checkpoint\.bin: table minorPolicy: checksum mismatch/],
      ['a bit flip in the header', (d) => flipBit(join(d, bin), 60, 1), /checkpoint\.bin: header checksum mismatch/],
      ['NaN data (checksum signed again)', (d) => setValue(join(d, bin), 'majorPolicy', 3, NaN), /checkpoint\.bin: table majorPolicy: value NaN at index 3 is not a probability/],
      ['iteration 0 (signed again)', (d) => editHeader(join(d, bin), (h) => { h.checkpoint.iteration = 0; }), /checkpoint\.bin: iteration 0 outside \[1, 6\]/],
      ['iteration 9 of 6 (signed again)', (d) => editHeader(join(d, bin), (h) => { h.checkpoint.iteration = 9; }), /checkpoint\.bin: iteration 9 outside \[1, 6\]/],
      ['iteration edited, not signed', (d) => {
        const p = join(d, bin);
        const b = readFileSync(p);
        const i = b.indexOf('"iteration":6');
        b.write('"iteration":2', i, 'latin1');
        writeFileSync(p, b);
      }, /checkpoint\.bin: header checksum mismatch/],
      ['iterations in the run section edited (signed again)', (d) => editHeader(join(d, bin), (h) => { h.checkpoint.run.iterations = 7; }), /the run section disagrees/],
      ['the curve truncated', (d) => truncateSync(join(d, curve), 64 * 5), /checkpoint\.curve: truncated: 320 bytes, the checkpoint needs 384/],
      ['the curve damaged', (d) => flipBit(join(d, curve), 64 * 2 + 20), /checkpoint\.curve: checksum mismatch/],
      ['the curve missing', (d) => writeFileSync(join(d, curve), ''), /checkpoint\.curve: truncated: 0 bytes/],
    ];
    for (const [what, damage, message] of cases) {
      const d = join(root, what.replace(/\W+/g, '-'));
      cpSync(good, d, { recursive: true });
      damage(d);
      const res = runCli(['solve', '--resume', d, '--quiet']);
      expect(res.code, `${what}: ${res.stderr}`).toBe(2);
      expect(res.stderr, what).toMatch(new RegExp(`^m3fg: --resume: ${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`));
      expect(res.stderr, what).toMatch(message);
      expect(res.stderr.trim().split('\n'), what).toHaveLength(1);
    }
  }, 120_000);
});
