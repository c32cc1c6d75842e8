// Work accounting of the local executor against inline, in CPU time, for a loaded machine (where wall-clock
// ratios say little): one process opens an inline executor and two 2-thread local executors on the same
// problem, with home shares (the default) and with one claim counter (homeShares: false), and runs FP
// iterations on them in turn, so all see the same load at nearly the same time. Per
// iteration it reads CPU time (runtime/thread-cpu.ts: the threads' scheduler statistics) of: the kernels
// (flow and steps; 2 threads: the calling thread's blocks and the worker's, from the team trace), the calling
// thread, the worker thread, and the whole process. Prints the medians and, paired iteration by iteration,
// the ratios to inline and the CPU-bound speed-up: inline kernel CPU over the larger of the two threads'
// kernel CPU (what 2 threads would give with no barrier waits and no other process on the cores).
// Usage: npx tsx bench/threads-cpu.ts GAME BINS [ITERATIONS] [--param k=v ...], e.g. cyber 60 9
// The first iteration of each executor is not counted (warm-up).

import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { LocalExecutor, type LocalExecutorStats } from '../coordinator/local-executor.ts';
import { updateRule } from '../coordinator/solver.ts';
import { taskCpu, threadCpu, type CpuReading } from '../runtime/thread-cpu.ts';

const args = process.argv.slice(2);
const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--param');
const [game, binsText, roundsText] = positional;
const params: Record<string, number> = {};
args.forEach((a, i) => {
  if (args[i - 1] === '--param') params[a.split('=')[0]] = Number(a.split('=')[1]);
});
const bins = Number(binsText);
const rounds = Math.max(2, Number(roundsText ?? 9));
if (!builtinGames[game] || !(bins > 0)) {
  console.error('m3fg: usage: npx tsx bench/threads-cpu.ts GAME BINS [ITERATIONS] [--param k=v]');
  process.exit(2);
}
if (!threadCpu()) {
  console.error('m3fg: no per-thread CPU readings on this machine (/proc/thread-self/schedstat)');
  process.exit(2);
}

const spec = { game, params, bins };
const problem = new Problem(buildGame(builtinGames[game], params), bins);
const NAMES = ['inline', 'home shares', 'one counter'] as const;
type Name = (typeof NAMES)[number];
const executors = {
  inline: new InlineExecutor(),
  'home shares': new LocalExecutor({ threads: 2 }),
  'one counter': new LocalExecutor({ threads: 2, homeShares: false }),
};
for (const name of NAMES) {
  const ex = executors[name];
  await ex.open(spec, problem);
  await ex.initPolicies('uniform');
  if (ex instanceof LocalExecutor) await ex.whenReady();
}

type Sample = Record<'wall' | 'process' | 'main' | 'worker' | 'kernels' | 'callerKernels', number>;
const samples = Object.fromEntries(NAMES.map((n) => [n, [] as Sample[]])) as Record<Name, Sample[]>;
const ms = (a?: CpuReading, b?: CpuReading) => (a && b ? (b.cpuNs - a.cpuNs) / 1e6 : 0);

for (let round = 0; round < rounds; round++) {
  const rule = updateRule({ algorithm: 'fp' }, round + 1);
  for (const name of NAMES) {
    const ex = executors[name];
    const s0 = ex instanceof LocalExecutor ? ex.stats() : undefined;
    const tid = s0?.team.tids[0] ?? 0;
    const w0 = tid > 0 ? taskCpu(tid) : undefined;
    const m0 = threadCpu();
    const p0 = process.cpuUsage();
    const t0 = performance.now();
    await ex.iterate(rule);
    const wall = performance.now() - t0;
    const p1 = process.cpuUsage(p0);
    const main = ms(m0, threadCpu());
    const worker = tid > 0 ? ms(w0, taskCpu(tid)) : 0;
    const sample: Sample = { wall, process: (p1.user + p1.system) / 1000, main, worker, kernels: main, callerKernels: main };
    if (s0 && ex instanceof LocalExecutor) Object.assign(sample, teamKernels(s0, ex.stats()));
    if (round > 0) samples[name].push(sample);
  }
}
await Promise.all(NAMES.map((n) => executors[n].close()));

/** Kernel CPU ms of the calls between two stats: all threads', and the calling thread's. */
function teamKernels(a: LocalExecutorStats, b: LocalExecutorStats): { kernels: number; callerKernels: number } {
  let caller = 0;
  let workers = 0;
  for (const kind of ['flow', 'step'] as const) {
    caller += b.team.kinds[kind].callerCpuMs - a.team.kinds[kind].callerCpuMs + b.team.kinds[kind].inlineCpuMs - a.team.kinds[kind].inlineCpuMs;
    b.team.seats.forEach((seat, i) => (workers += seat[kind].cpuMs - (a.team.seats[i]?.[kind].cpuMs ?? 0)));
  }
  return { kernels: caller + workers, callerKernels: caller };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[(xs.length - 1) >> 1];
const f = (x: number) => (x / 1000).toFixed(3);
console.log(`${game} M=${bins} ${JSON.stringify(params)}: ${rounds - 1} counted iterations each, alternating; medians per iteration (s):`);
for (const name of NAMES) {
  const col = (k: keyof Sample) => median(samples[name].map((s) => s[k]));
  console.log(
    `  ${name.padEnd(12)} wall ${f(col('wall'))}, CPU: process ${f(col('process'))}, calling thread ${f(col('main'))}, worker ${f(col('worker'))}, ` +
      `kernels ${f(col('kernels'))} (calling thread's ${f(col('callerKernels'))})`,
  );
}
const show = (xs: number[]) => `${median(xs).toFixed(3)} [${xs.map((x) => x.toFixed(2)).join(' ')}]`;
for (const name of NAMES.slice(1)) {
  const paired = (g: (l: Sample, i: Sample) => number) => samples[name].map((l, k) => g(l, samples.inline[k]));
  console.log(`  2 threads (${name}) / inline, paired by iteration:`);
  console.log(`    kernel CPU ${show(paired((l, i) => l.kernels / i.kernels))}`);
  console.log(`    process CPU ${show(paired((l, i) => l.process / i.process))}`);
  console.log(`    CPU-bound speed-up (inline kernel CPU / the busier thread's kernel CPU) ${show(paired((l, i) => i.kernels / Math.max(l.callerKernels, l.kernels - l.callerKernels)))}`);
  console.log(`    wall speed-up (meaningless under load) ${show(paired((l, i) => i.wall / l.wall))}`);
}
process.exit(0);
