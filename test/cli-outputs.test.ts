// The command line's own outputs: --version, help for a bare command, log formats, and Ctrl-C on a terminal
// (run under `script`, which gives the command a pseudo-terminal, as a user's shell does).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.ts';

const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;

/** Runs the CLI on a pseudo-terminal; `interrupt` sends Ctrl-C once `ready` appears in the output. */
function onTerminal(args: string[], ready?: string): Promise<{ out: string; code: number | null; signal: string | null; afterMs: number }> {
  const command = ['node', 'bin/m3fg.js', ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let sent = 0;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (ready && !sent && out.includes(ready)) {
      sent = Date.now();
      child.stdin.write('\x03');
    }
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ out, code, signal, afterMs: sent ? Date.now() - sent : -1 });
    }),
  );
}

describe('CLI outputs', () => {
  it('prints the version', () => {
    for (const flag of ['--version', '-V']) {
      const r = runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('prints help to stderr and exits 2 for a bare m3fg or a bare subcommand', () => {
    const bare = runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toMatch(/^Usage: m3fg \[options\] \[command\]/);
    for (const sub of ['solve', 'report', 'nplayer', 'worker', 'experiment']) {
      const r = runCli([sub], { M3FG_NATS_URL: '' });
      expect(r.code, sub).toBe(2);
      expect(r.stdout, sub).toBe('');
      expect(r.stderr, sub).toMatch(new RegExp(`^Usage: m3fg ${sub} `));
    }
    expect(runCli(['help']).code).toBe(0); // asking for help is not an error
  });

  it('logs JSON lines without a terminal, pretty lines with --log-format pretty, and refuses other formats', () => {
    const out = mkdtempSync(join(tmpdir(), 'm3fg-log-'));
    const args = ['solve', '--bins', '10', '--iterations', '2', '--threads', '1', '--quiet', '--log-level', 'info'];
    const json = runCli([...args, '--out', join(out, 'a')]);
    expect(json.code).toBe(0);
    const lines = json.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('level');
    const pretty = runCli([...args, '--out', join(out, 'b'), '--log-format', 'pretty']);
    expect(pretty.code).toBe(0);
    expect(pretty.stderr).toMatch(/INFO/);
    expect(pretty.stderr).not.toMatch(/^\{/m);
    const forced = runCli([...args, '--out', join(out, 'c'), '--log-format', 'json']);
    for (const line of forced.stderr.trim().split('\n')) expect(JSON.parse(line)).toHaveProperty('msg');
    const bad = runCli([...args, '--out', join(out, 'e'), '--log-format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("m3fg: --log-format: unknown value 'xml' (one of: json, pretty)\n");
  });

  it('--quiet prints errors only: no log lines below error (M3FG_LOG_LEVEL included), no summary', () => {
    const out = mkdtempSync(join(tmpdir(), 'm3fg-quiet-'));
    const args = ['solve', '--bins', '10', '--iterations', '2', '--threads', '1'];
    const env = { M3FG_LOG_LEVEL: 'info' };
    // the same run without --quiet logs (info lines from the environment's level) and prints its summary
    const loud = runCli([...args, '--out', join(out, 'a')], env);
    expect(loud.code, loud.stderr).toBe(0);
    expect(loud.stderr).toMatch(/"level":30/);
    expect(loud.stdout).not.toBe('');
    const quiet = runCli([...args, '--quiet', '--out', join(out, 'b')], env);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe('');
    // an explicit --log-level still wins over --quiet
    expect(runCli([...args, '--quiet', '--log-level', 'info', '--out', join(out, 'c')]).stderr).toMatch(/"level":30/);
    // an error still gets its line
    const bad = runCli(['solve', '--bins', 'x', '--quiet', '--out', join(out, 'd')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("m3fg: --bins: expected a positive integer, got 'x'\n");
  }, 120_000);

  it('logs pretty lines by default on a terminal', async () => {
    const out = mkdtempSync(join(tmpdir(), 'm3fg-tty-'));
    const r = await onTerminal(['solve', '--bins', '10', '--iterations', '2', '--threads', '1', '--quiet', '--log-level', 'info', '--out', join(out, 'a')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/INFO/);
    expect(r.out).not.toMatch(/"level":/);
  });

  it('Ctrl-C during the progress bar ends the run at once and leaves the terminal as it was', async () => {
    const out = mkdtempSync(join(tmpdir(), 'm3fg-int-'));
    const r = await onTerminal(['solve', '--game', 'cyber', '--bins', '30', '--iterations', '500', '--threads', '1', '--out', join(out, 'a')], 'cyber fp [');
    expect(r.afterMs, r.out.slice(-400)).toBeGreaterThanOrEqual(0); // the bar was drawn and Ctrl-C sent
    expect(r.code).toBe(130); // killed by SIGINT (script reports 128 + 2)
    expect(r.afterMs).toBeLessThan(10_000);
    // no terminal mode left changed: cursor hidden (ESC[?25l) or auto-wrap off (ESC[?7l)
    expect(r.out).not.toContain('\x1b[?25l');
    expect(r.out).not.toContain('\x1b[?7l');
  });
});
