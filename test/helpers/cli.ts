// Runs the m3fg CLI as a user does (node bin/m3fg.js ...), capturing exit code, stdout and stderr.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function runCli(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, ['bin/m3fg.js', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Bad input: exit 2, one line on stderr matching `message`, and `out` not created. */
export function expectRefused(args: string[], message: RegExp, out: string): void {
  const res = runCli([...args, '--out', out]);
  expect(res.code).toBe(2);
  expect(res.stderr).toMatch(message);
  expect(res.stderr.trim().split('\n')).toHaveLength(1);
  expect(existsSync(out)).toBe(false);
}
