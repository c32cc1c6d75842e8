// `m3fg experiment paper --quick` end to end: every run, the figure PNGs and the combined report are written;
// a second invocation reuses every run (summary.json counts, run.json untouched) and recomputes nothing.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExperimentSummary } from '../coordinator/experiment.ts';
import { runCli } from './helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'm3fg-experiment-'));
const out = join(root, 'paper');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const FIGURES = [
  'figure1-fpi-sis', 'figure1-fpi-buffet', 'figure1-fpi-advertisement',
  'figure2-fp-sis', 'figure2-fp-buffet', 'figure2-fp-advertisement',
  'figure3-bins', 'figure4-nplayer', 'figure5-sis-policy', 'figure5-sis-policy-major', 'figure5-sis-trajectory', 'figure6-init',
];

function runJsonTimes(): Map<string, number> {
  const runs = join(out, 'runs');
  return new Map(readdirSync(runs).map((d) => [d, statSync(join(runs, d, 'run.json')).mtimeMs]));
}

describe('m3fg experiment paper --quick', () => {
  let first: ExperimentSummary;
  let times: Map<string, number>;

  it('runs every job and writes the figures and the report', () => {
    const res = runCli(['experiment', 'paper', '--quick', '--threads', '1', '--out', out]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/total wall time/);
    expect(res.stdout).toMatch(/exploitability/);
    // the schedule's summary: every job ran, inline on the one thread
    first = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(res.stdout).toMatch(new RegExp(`^schedule: ${first.jobs.length} runs on 1 thread \\(${first.jobs.length} inline, one per thread; 0 on all 1\\), busy [0-9.]+ thread-s in [0-9.]+ s wall`, 'm'));
    first = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(first.reused).toBe(0);
    expect(first.ran).toBe(first.jobs.length);
    expect(first.jobs.filter((j) => j.kind === 'solve').length).toBeGreaterThanOrEqual(12);
    expect(first.jobs.filter((j) => j.kind === 'nplayer').length).toBe(3);
    for (const name of FIGURES) {
      const png = PNG.sync.read(readFileSync(join(out, 'figures', `${name}.png`)));
      expect(png.width).toBeGreaterThan(200);
      // not blank: some pixel differs from the first
      const d = png.data;
      let differs = false;
      for (let i = 4; i < d.length && !differs; i += 4) differs = d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2];
      expect(differs, name).toBe(true);
    }
    const html = readFileSync(join(out, 'report', 'index.html'), 'utf8');
    expect(html).toContain('<svg');
    // the paper's figures, in the paper's order, each with its data as CSV
    const sections = ['Figure 1: fixed-point iteration', 'Figure 2: fictitious play', 'Figure 3: final exploitability and objectives',
      'Figure 4: N-player objectives over N', 'Figure 5: SIS, the FP policy and a simulated trajectory', 'Appendix: the initial policy'];
    const at = sections.map((h) => html.indexOf(`<h3>${h}`));
    expect(at.every((i) => i > 0), JSON.stringify(at)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    for (const name of FIGURES) {
      expect(existsSync(join(out, 'report', `${name}.csv`)), name).toBe(true);
      expect(existsSync(join(out, 'figures', `${name}.csv`)), name).toBe(true);
      expect(html).toContain(`href="${name}.csv"`);
    }
    for (const j of first.jobs.filter((j) => j.kind === 'solve')) {
      expect(html).toContain(`runs/${j.key}`);
      expect(existsSync(join(out, 'runs', j.key, 'policies.bin'))).toBe(true);
    }
    times = runJsonTimes();
  });

  it('reuses every run on a second invocation', () => {
    const res = runCli(['experiment', 'paper', '--quick', '--threads', '1', '--out', out]);
    expect(res.code).toBe(0);
    const second: ExperimentSummary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(second.ran).toBe(0);
    expect(second.reused).toBe(first.jobs.length);
    expect(second.jobs.map((j) => j.key)).toEqual(first.jobs.map((j) => j.key));
    expect(runJsonTimes()).toEqual(times);
    for (const name of FIGURES) expect(existsSync(join(out, 'figures', `${name}.png`))).toBe(true);
  });
});
