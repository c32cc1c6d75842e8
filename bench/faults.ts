// The fault campaign, repeatable: kill trials (SIGKILL at a random moment of a checkpointing run, then
// --resume) and corruption trials (checkpoint.bin, checkpoint.curve and policies.bin damaged by hand:
// truncations, bit flips, NaNs and edited fields signed again). Every run must end bitwise equal to an
// uninterrupted run, or be refused with exactly one `m3fg:` line and exit 2. Everything runs as child
// processes of this machine's m3fg CLI on temporary folders: no network, not even loopback.
//   npm run faults [-- --kills 8 --corruptions 30 --seed 1]
// Prints a table (kind, trials, passed) and exits 1 if any trial failed.

import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPolicyHeader } from '../coordinator/policy-file.ts';
import { editHeader, flipBit, readHeader, setValue } from '../test/helpers/policy-file.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const kills = flag('kills', 8);
const corruptions = flag('corruptions', 30);
let seed = flag('seed', 1) >>> 0 || 1;
/** xorshift32: the same trials for the same seed */
const random = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 2 ** 32;
};
const pick = <T>(a: readonly T[]): T => a[Math.floor(random() * a.length)];

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'm3fg-faults-'));
const cli = (a: string[]) => {
  const r = spawnSync(process.execPath, ['bin/m3fg.js', ...a], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stderr: r.stderr ?? '', signal: r.signal };
};

interface Config {
  name: string;
  args: string[];
}
const configs: Config[] = [
  { name: 'sis fp M=30 (1 thread)', args: ['--game', 'sis', '--bins', '30', '--iterations', '40', '--threads', '1'] },
  { name: 'sis omd M=20 (2 threads)', args: ['--game', 'sis', '--bins', '20', '--iterations', '30', '--algorithm', 'omd', '--threads', '2'] },
  { name: 'buffet fpi M=15 (1 thread)', args: ['--game', 'buffet', '--bins', '15', '--iterations', '30', '--algorithm', 'fpi', '--threads', '1'] },
];
const solve = (c: Config, out: string, extra: string[] = []) => cli(['solve', ...c.args, '--out', out, '--quiet', ...extra]);
const RESULT_FILES = ['policies.bin', 'curve.json', 'minorPolicy.npy', 'majorPolicy.npy'];
const sameResults = (a: string, b: string) =>
  RESULT_FILES.every((f) => existsSync(join(b, f)) && Buffer.compare(readFileSync(join(a, f)), readFileSync(join(b, f))) === 0);

/** One line `m3fg: ...`, exit 2, no stack. */
const cleanRefusal = (r: { code: number | null; stderr: string }) => r.code === 2 && /^m3fg: [^\n]+\n$/.test(r.stderr) && !r.stderr.includes('internal error');

const references = new Map<string, string>();
function reference(c: Config): string {
  let dir = references.get(c.name);
  if (!dir) {
    dir = join(work, `ref-${references.size}`);
    const r = solve(c, dir);
    if (r.code !== 0) throw new Error(`reference run ${c.name} failed: ${r.stderr}`);
    references.set(c.name, dir);
  }
  return dir;
}

/**
 * Starts a checkpointing run and SIGKILLs it: after `delayMs`, or (when `atIteration` is given) `delayMs`
 * after its checkpoint first reaches that iteration, so that kills land in iterations and in checkpoint writes.
 */
function killAt(c: Config, out: string, delayMs: number, atIteration?: number): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['bin/m3fg.js', 'solve', ...c.args, '--out', out, '--quiet', '--checkpoint-every', '1'], { cwd: root, stdio: 'ignore' });
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    if (atIteration === undefined) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    else {
      poll = setInterval(() => {
        let at = 0;
        try {
          at = readPolicyHeader(join(out, 'checkpoint.bin')).checkpoint?.iteration ?? 0;
        } catch {
          return; // not written yet
        }
        if (at >= atIteration) {
          clearInterval(poll);
          timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      }, 2);
    }
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      done(signal === 'SIGKILL');
    });
  });
}

interface Row {
  kind: string;
  trials: number;
  passed: number;
  notes: string[];
  /** how the passing trials passed */
  outcomes: Record<string, number>;
}
const rows = new Map<string, Row>();
function record(kind: string, ok: boolean, note: string, outcome: string): void {
  const row = rows.get(kind) ?? { kind, trials: 0, passed: 0, notes: [], outcomes: {} };
  row.trials++;
  if (ok) {
    row.passed++;
    row.outcomes[outcome] = (row.outcomes[outcome] ?? 0) + 1;
  } else row.notes.push(note);
  rows.set(kind, row);
}

const started = performance.now();
// --- kill trials: SIGKILL somewhere in the run (during start-up, an iteration or a checkpoint write)
for (let i = 0; i < kills; i++) {
  const c = configs[i % configs.length];
  const ref = reference(c);
  const dir = join(work, `kill-${i}`);
  const iterations = Number(c.args[c.args.indexOf('--iterations') + 1]);
  // one in four during start-up, the others after a random iteration, 0-20 ms on (inside a step or a write)
  const early = i % 4 === 0;
  const delay = early ? 300 + Math.floor(random() * 3000) : Math.floor(random() * 20);
  const atIteration = early ? undefined : 1 + Math.floor(random() * (iterations - 2));
  const killed = await killAt(c, dir, delay, atIteration);
  let ok: boolean;
  let note = `${c.name}, kill ${early ? `after ${delay} ms` : `${delay} ms after checkpoint ${atIteration}`}`;
  let outcome: string;
  if (!killed) {
    ok = sameResults(ref, dir); // finished before the kill
    note += ': finished first';
    outcome = 'finished before the kill';
  } else if (existsSync(join(dir, 'checkpoint.bin'))) {
    const at = readPolicyHeader(join(dir, 'checkpoint.bin')).checkpoint?.iteration;
    const r = cli(['solve', '--resume', dir, '--quiet']);
    ok = r.code === 0 && sameResults(ref, dir);
    note += `: resume from ${at} exit ${r.code} ${r.stderr.trim()}`;
    outcome = 'resumed, bitwise equal';
  } else {
    outcome = 'killed before a checkpoint, rerun equal';
    // killed before the first checkpoint: start again in the same directory
    const r = solve(c, dir);
    ok = r.code === 0 && sameResults(ref, dir);
    note += `: fresh rerun exit ${r.code} ${r.stderr.trim()}`;
  }
  const leftovers = existsSync(dir) ? spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.split('\n').filter((f) => f.endsWith('.tmp')) : [];
  if (leftovers.length > 0) {
    ok = false;
    note += `: left ${leftovers.join(', ')}`;
  }
  record('kill + resume', ok, note, outcome);
}

// --- corruption trials on a finished checkpoint (resume must refuse or be bitwise equal)
const base = configs[0];
const longer = { ...base, args: base.args.map((a, i) => (base.args[i - 1] === '--iterations' ? '60' : a)) };
const full = reference(longer);
const good = join(work, 'good');
if (solve(base, good, ['--checkpoint-every', '10']).code !== 0) throw new Error('could not write the checkpoint to damage');
const goodBin = join(good, 'checkpoint.bin');
const header = readHeader(goodBin);
const binSize = statSync(goodBin).size;
const curveSize = statSync(join(good, 'checkpoint.curve')).size;
type Damage = [string, (dir: string) => string];
const damages: Damage[] = [
  ['truncate checkpoint.bin', (d) => {
    const at = Math.floor(random() * binSize);
    truncateSync(join(d, 'checkpoint.bin'), at);
    return `at ${at}`;
  }],
  ['bit flip in checkpoint.bin', (d) => {
    const at = Math.floor(random() * binSize);
    const bit = Math.floor(random() * 8);
    flipBit(join(d, 'checkpoint.bin'), at, bit);
    return `byte ${at} bit ${bit}`;
  }],
  ['NaN or a non-distribution, signed', (d) => {
    const table = pick(['minorPolicy', 'majorPolicy', 'gridPoints']);
    const e = header.tables.find((t: { name: string }) => t.name === table);
    const index = Math.floor(random() * (e.byteLength / 8));
    const value = pick([NaN, Infinity, -0.5, 1.5, 0.3]);
    setValue(join(d, 'checkpoint.bin'), table, index, value);
    return `${table}[${index}] = ${value}`;
  }],
  ['header field edited, signed', (d) => {
    const edits: Array<[string, (h: Record<string, any>) => void]> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      ['iteration 0', (h) => (h.checkpoint.iteration = 0)],
      ['iteration 99', (h) => (h.checkpoint.iteration = 99)],
      ['bins 7', (h) => (h.bins = 7)],
      ['sizes.T 1', (h) => (h.sizes.T = 1)],
      ['curveRows 9', (h) => (h.checkpoint.curveRows = 9)],
      ['algorithm xx', (h) => (h.checkpoint.algorithm = 'xx')],
      ['offset + 8', (h) => (h.tables[1].offset += 8)],
      ['iterations 20', (h) => (h.checkpoint.iterations = 20)],
    ];
    const [what, edit] = pick(edits);
    editHeader(join(d, 'checkpoint.bin'), edit);
    return what;
  }],
  ['checkpoint.curve damaged', (d) => {
    const path = join(d, 'checkpoint.curve');
    if (random() < 0.5) {
      const at = Math.floor(random() * curveSize);
      truncateSync(path, at);
      return `truncated at ${at}`;
    }
    const at = Math.floor(random() * curveSize);
    flipBit(path, at, Math.floor(random() * 8));
    return `bit flip at ${at}`;
  }],
  ['trailing bytes appended', (d) => {
    const n = 1 + Math.floor(random() * 64);
    writeFileSync(join(d, 'checkpoint.bin'), Buffer.concat([readFileSync(join(d, 'checkpoint.bin')), Buffer.alloc(n, 7)]));
    return `${n} bytes`;
  }],
];
for (let i = 0; i < corruptions; i++) {
  const [kind, damage] = damages[i % damages.length];
  const dir = join(work, `bad-${i}`);
  cpSync(good, dir, { recursive: true });
  for (const f of RESULT_FILES) rmSync(join(dir, f), { force: true });
  const what = damage(dir);
  const r = cli(['solve', '--resume', dir, '--iterations', '60', '--quiet']);
  // a damage that changes nothing the run reads (a flipped padding byte) may resume: then bitwise equal
  const ok = cleanRefusal(r) || (r.code === 0 && sameResults(full, dir));
  record(`corrupt: ${kind}`, ok, `${what}: exit ${r.code} ${r.stderr.trim().slice(0, 200)}`, r.code === 0 ? 'resumed, bitwise equal' : 'refused, one line');
}

// --- policies.bin damaged: `m3fg nplayer --from` refuses it
const results = reference(base);
for (let i = 0; i < Math.max(3, Math.floor(corruptions / 6)); i++) {
  const dir = join(work, `from-${i}`);
  cpSync(results, dir, { recursive: true });
  const path = join(dir, 'policies.bin');
  const size = statSync(path).size;
  const at = Math.floor(random() * size);
  if (i % 2 === 0) truncateSync(path, at);
  else flipBit(path, at, Math.floor(random() * 8));
  const r = cli(['nplayer', '--from', dir, '--players', '5', '--episodes', '20', '--threads', '1', '--out', join(dir, 'np.json')]);
  record('corrupt: policies.bin for nplayer --from', cleanRefusal(r), `${i % 2 === 0 ? 'truncated' : 'bit flip'} at ${at}: exit ${r.code} ${r.stderr.trim().slice(0, 200)}`, 'refused, one line');
}

const seconds = (performance.now() - started) / 1000;
const table = [...rows.values()];
const w = Math.max(...table.map((r) => r.kind.length), 4);
console.log(`${'kind'.padEnd(w)}  trials  passed  how`);
const how = (r: Row) => Object.entries(r.outcomes).map(([k, v]) => `${v} ${k}`).join('; ');
for (const r of table) console.log(`${r.kind.padEnd(w)}  ${String(r.trials).padStart(6)}  ${String(r.passed).padStart(6)}  ${how(r)}`);
const trials = table.reduce((s, r) => s + r.trials, 0);
const passed = table.reduce((s, r) => s + r.passed, 0);
console.log(`${'all'.padEnd(w)}  ${String(trials).padStart(6)}  ${String(passed).padStart(6)}   (${seconds.toFixed(0)} s, seed ${flag('seed', 1)})`);
for (const r of table) for (const n of r.notes) console.log(`FAILED ${r.kind}: ${n}`);
rmSync(work, { recursive: true, force: true });
process.exitCode = passed === trials ? 0 : 1;
