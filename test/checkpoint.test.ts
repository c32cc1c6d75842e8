// Checkpoints: a run killed with SIGKILL and resumed ends with the same policy tables and curve, to the
// bit, as an uninterrupted run; checkpoints from another game, grid, algorithm or version are refused.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPolicies } from '../coordinator/results.ts';
import { repoRoot, runCli } from './helpers/cli.ts';

const base = ['solve', '--game', 'sis', '--bins', '30', '--iterations', '60', '--quiet'];

function killWhenCheckpointed(args: string[], dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/m3fg.js', ...args], { cwd: repoRoot, stdio: 'ignore' });
    const started = Date.now();
    const poll = setInterval(() => {
      const path = join(dir, 'checkpoint.bin');
      if (existsSync(path)) {
        const { header } = readPolicies(path);
        // kill somewhere in the middle of the run
        if ((header.checkpoint?.iteration ?? 0) >= 7) {
          child.kill('SIGKILL');
        }
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

describe('checkpoint and resume', () => {
  it('a SIGKILLed run resumes to bitwise-equal tables and curve', async () => {
    const root = mkdtempSync(join(tmpdir(), 'm3fg-ckpt-'));
    const full = join(root, 'full');
    const cut = join(root, 'cut');
    const ref = runCli([...base, '--out', full]);
    expect(ref.code, ref.stderr).toBe(0);
    const killed = await killWhenCheckpointed([...base, '--out', cut, '--checkpoint-every', '1'], cut);
    expect(killed, 'the run should have been killed before it finished').toBe(1);
    expect(existsSync(join(cut, 'curve.json'))).toBe(false);
    const resumed = runCli(['solve', '--resume', cut, '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(Buffer.compare(readFileSync(join(full, 'policies.bin')), readFileSync(join(cut, 'policies.bin')))).toBe(0);
    expect(readFileSync(join(cut, 'curve.json'), 'utf8')).toBe(readFileSync(join(full, 'curve.json'), 'utf8'));
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
    const path = join(dir, 'checkpoint.bin');
    const bytes = readFileSync(path);
    const len = bytes.readUInt32LE(8);
    const header = bytes.subarray(12, 12 + len).toString('utf8');
    const forged = header.replace(/"m3fgVersion":"[^"]*"/, (m) => m.replace(/"[^"]*"$/, `"${'9'.repeat(m.length - 16)}"`));
    expect(forged.length).toBe(header.length);
    writeFileSync(path, Buffer.concat([bytes.subarray(0, 12), Buffer.from(forged, 'utf8'), bytes.subarray(12 + len)]));
    const version = runCli(['solve', '--resume', dir, '--quiet']);
    expect(version.code).toBe(2);
    expect(version.stderr).toMatch(/was written by m3fg 9+; this is m3fg/);
  });
});
