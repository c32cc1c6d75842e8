// Local executor scaling: seconds per FP iteration on the inline executor and on the local executor with
// 2, 4, ... threads up to the core count (1 thread is the inline executor), rows per second, speedup over
// inline, and peak resident memory; next to it, the machine's compute-only ceiling measured in the same run
// (bench/scale-probe.ts). Each (instance, executor, run) runs in a child process of its own, so that its
// peak RSS is its own; each configuration runs --runs times (default 3) and the table shows the median
// (the speedup is the ratio of the medians), with the spread. Rows per second = T * rows / seconds per
// iteration: (t, x0, cell) rows swept (flow and backward step).
// Usage: npm run bench:threads [-- --quick] [-- --full] [-- --only TEXT] [-- --runs N] [-- --one-counter]
//   --quick: 0.5 s per configuration instead of 3; --full: adds Cyber at M = 120; --only: instances whose
//   label contains TEXT (case-insensitive), e.g. --only cyber; --one-counter: team calls without home shares
//   (LocalExecutorOptions.homeShares false), to compare the two.
// Each configuration also prints CPU time per iteration (where /proc/thread-self/schedstat exists): the
// process, the calling thread, the workers, the kernels, and the time queued behind other processes; and
// bench/threads-cpu.ts compares inline and 2 threads in CPU time within one process (for a loaded machine).
// Prints a table; writes bench/results/threads.json.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { LocalExecutor, type LocalExecutorStats } from '../coordinator/local-executor.ts';
import type { UpdateRule } from '../shared/kernels/update.ts';
import type { Executor, ProblemSpec } from '../coordinator/executor.ts';
import { solve } from '../coordinator/solver.ts';
import { scaleProbe } from './scale-probe.ts';
import { taskCpu, threadCpu, type CpuReading } from '../runtime/thread-cpu.ts';

interface Instance {
  label: string;
  spec: ProblemSpec;
}

interface Measurement {
  label: string;
  executor: 'inline' | 'local';
  threads: number;
  cells: number;
  rows: number;
  T: number;
  setupSeconds: number;
  /** Local: until every thread has built the problem. */
  openSeconds: number;
  iterations: number;
  secondsPerIteration: number;
  rowsPerSecond: number;
  maxRssMiB: number;
  sharding?: LocalExecutorStats;
  /** Per counted iteration: where the time went (see Breakdown). */
  breakdown: Breakdown;
}

/**
 * Seconds per counted iteration (the first, warm-up iteration excluded). Inline: the kernels' time per kind.
 * Local: per kind, the team calls' wall time, the calling thread's busy time and its wait at the end of each
 * call for the workers' last blocks, the workers' busy time (summed over seats) and their delay from a call's
 * opening to their first block (ms per call), calls a worker missed (every block claimed before it came) or
 * got by message (it had gone to sleep); and the calling thread's serial time outside the calls.
 */
interface Breakdown {
  flowSeconds: number;
  stepSeconds: number;
  serialSeconds: number;
  /**
   * CPU seconds per iteration (where the threads' scheduler statistics can be read, else 0): the whole
   * process (every thread: the calling one, the workers, V8's GC and compiler threads), the calling thread,
   * the workers together, and the time the calling thread and the workers were runnable but another process
   * held the core (what a loaded machine adds to the wall clock). Inline: kernels = the flows' and steps' CPU.
   */
  cpu: { process: number; main: number; workers: number; mainQueued: number; workersQueued: number; kernels: number; flowKernels: number; stepKernels: number };
  kinds?: Record<'flow' | 'step', {
    calls: number;
    wall: number;
    callerBusy: number;
    callerWait: number;
    workersBusy: number;
    joinMsPerCall: number;
    callerBlockShare: number;
    missed: number;
    messaged: number;
    serial: number;
    /** CPU seconds in the blocks: the calling thread's, the workers' (and the workers' run-queue wait). */
    callerCpu: number;
    workersCpu: number;
    workersQueued: number;
    callerQueued: number;
  }>;
}

/** The inline executor, timing its flows and steps. */
class TimedInline extends InlineExecutor {
  flowMs = 0;
  stepMs = 0;
  /** The kernels' CPU ms (flows, steps). */
  flowCpuMs = 0;
  stepCpuMs = 0;
  override async flow(): Promise<void> {
    const t0 = performance.now();
    const c0 = threadCpu();
    await super.flow();
    this.flowMs += performance.now() - t0;
    this.flowCpuMs += cpuMs(c0, threadCpu());
  }
  override async step(t: number, rule: UpdateRule): Promise<void> {
    const t0 = performance.now();
    const c0 = threadCpu();
    await super.step(t, rule);
    this.stepMs += performance.now() - t0;
    this.stepCpuMs += cpuMs(c0, threadCpu());
  }
}

function cpuMs(a: CpuReading | undefined, b: CpuReading | undefined): number {
  return a && b ? (b.cpuNs - a.cpuNs) / 1e6 : 0;
}

const args = process.argv.slice(2);

if (args[0] === '--one') {
  const job = JSON.parse(args[1]) as { instance: Instance; threads: number; budget: number; homeShares: boolean };
  process.stdout.write(`${JSON.stringify(await measure(job.instance, job.threads, job.budget, job.homeShares))}\n`);
  process.exit(0);
}

const quick = args.includes('--quick');
const homeShares = !args.includes('--one-counter');
const full = args.includes('--full');
const budget = quick ? 0.5 : 3;
const cores = availableParallelism();
const runs = args.includes('--runs') ? Math.max(1, Number(args[args.indexOf('--runs') + 1]) || 1) : 3;
const threadCounts: number[] = [];
for (let k = 2; k < cores; k *= 2) threadCounts.push(k);
if (cores > 1) threadCounts.push(cores);

const only = args.includes('--only') ? args[args.indexOf('--only') + 1]?.toLowerCase() : undefined;
const allInstances: Instance[] = [
  { label: 'SIS M=120', spec: { game: 'sis', params: {}, bins: 120 } },
  { label: 'Buffet M=120', spec: { game: 'buffet', params: {}, bins: 120 } },
  { label: 'Advertisement M=120', spec: { game: 'advertisement', params: {}, bins: 120 } },
  { label: 'Cyber M=60', spec: { game: 'cyber', params: {}, bins: 60 } },
  ...(full ? [{ label: 'Cyber M=120', spec: { game: 'cyber', params: {}, bins: 120 } }] : []),
  { label: 'Buffet L=3 M=60', spec: { game: 'buffet', params: { L: 3 }, bins: 60 } },
];
const instances = allInstances.filter((i) => !only || i.label.toLowerCase().includes(only));

console.log(
  `m3fg local executor scaling: ${cores} cores (${cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}, ` +
    `load average ${loadavg()[0].toFixed(2)}, budget ${budget} s per configuration, median of ${runs} run(s)${homeShares ? '' : ', team calls without home shares'}`,
);
const ceiling = await scaleProbe(threadCounts);
console.log(`compute-only ceiling (scale probe): ${threadCounts.map((n) => `${n} threads ${ceiling[n].toFixed(2)}x`).join(', ')}`);
const header = `${'instance'.padEnd(20)} ${'executor'.padEnd(10)} ${'s/iteration'.padStart(12)} ${'spread'.padStart(8)} ${'rows/s'.padStart(10)} ${'vs inline'.padStart(9)} ${'ceiling'.padStart(8)} ${'peak RSS'.padStart(10)}`;
console.log(header);
console.log('-'.repeat(header.length));
const results: Array<Measurement & { runs: number[]; speedupOverInline?: number; ceiling?: number }> = [];
for (const instance of instances) {
  let inline: number | undefined;
  let inlineBreakdown: Breakdown | undefined;
  for (const threads of [0, ...threadCounts]) {
    const all = Array.from({ length: runs }, () => runChild(instance, threads));
    const times = all.map((x) => x.secondsPerIteration).sort((x, y) => x - y);
    const half = times.length >> 1;
    const median = times.length % 2 === 1 ? times[half] : (times[half - 1] + times[half]) / 2;
    const m = all[0];
    inline ??= median;
    const speedupOverInline = threads > 0 ? inline / median : undefined;
    const spread = times.length > 1 ? (times[times.length - 1] - times[0]) / median : 0;
    results.push({ ...m, secondsPerIteration: median, rowsPerSecond: (m.T * m.rows) / median, runs: times, speedupOverInline, ceiling: threads > 0 ? ceiling[threads] : undefined });
    console.log(
      `${instance.label.padEnd(20)} ${(m.executor === 'inline' ? 'inline' : `${m.threads} thr`).padEnd(10)} ` +
        `${median.toFixed(4).padStart(12)} ${`±${(50 * spread).toFixed(0)}%`.padStart(8)} ${Math.round((m.T * m.rows) / median).toExponential(2).padStart(10)} ` +
        `${(speedupOverInline ? `${speedupOverInline.toFixed(2)}x` : '').padStart(9)} ${(threads > 0 ? `${ceiling[threads].toFixed(2)}x` : '').padStart(8)} ` +
        `${`${Math.max(...all.map((x) => x.maxRssMiB)).toFixed(0)} MiB`.padStart(10)}`,
    );
    const mid = all.find((x) => x.secondsPerIteration === median) ?? m;
    console.log(`  ${describeBreakdown(mid.breakdown)}`);
    if (threads === 0) inlineBreakdown = mid.breakdown;
    else if (inlineBreakdown) console.log(`  ${describeLoss(mid.breakdown, inlineBreakdown, threads)}`);
  }
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/threads.json',
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cores, loadAverage: loadavg(), budgetSeconds: budget, runs, homeShares, ceiling, results }, null, 1),
);
console.log('written bench/results/threads.json');

function runChild(instance: Instance, threads: number): Measurement {
  const script = fileURLToPath(import.meta.url);
  const res = spawnSync(process.execPath, [...process.execArgv, script, '--one', JSON.stringify({ instance, threads, budget, homeShares })], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !line.startsWith('{')) throw new Error(`bench child for ${instance.label}, threads ${threads} failed (exit ${res.status})`);
  return JSON.parse(line) as Measurement;
}

/**
 * One configuration (threads = 0: inline). Iteration i's time runs from the end of iteration i - 1 (or of
 * open(), threads ready) to its own end. The first iteration is always dropped: JIT warm-up, and the first
 * touch of the tables (2.4 GB for Buffet L=3 at M=60, whose page faults serialise across threads); then
 * iterations are timed until the budget is spent, at least one.
 */
async function measure(instance: Instance, threads: number, budget: number, homeShares: boolean): Promise<Measurement> {
  const { spec } = instance;
  const t0 = performance.now();
  const problem = new Problem(buildGame(builtinGames[spec.game], spec.params), spec.bins);
  const setupSeconds = (performance.now() - t0) / 1000;
  const local = threads > 0 ? new LocalExecutor({ threads, homeShares }) : undefined;
  const timed = local ? undefined : new TimedInline();
  const inner: Executor = local ?? timed!;
  let mark = 0;
  let openSeconds = 0;
  const executor: Executor = {
    name: inner.name,
    open: async (s, p, o) => {
      const started = performance.now();
      await inner.open(s, p, o);
      await local?.whenReady();
      mark = performance.now();
      openSeconds = (mark - started) / 1000;
    },
    initPolicies: (init) => inner.initPolicies(init),
    loadPolicies: (p) => inner.loadPolicies(p),
    iterate: (rule) => inner.iterate(rule),
    valueIteration: (rule, o) => inner.valueIteration(rule, o),
    startValues: () => inner.startValues(),
    policies: () => inner.policies(),
    saveInput: () => inner.saveInput(),
    keepSaved: () => inner.keepSaved(),
    bestPolicies: () => inner.bestPolicies(),
    loadBest: (p) => inner.loadBest(p),
    close: () => inner.close(),
  };
  const durations: number[] = [];
  const snapshot = (): Snapshot => {
    const stats = local?.stats();
    const usage = process.cpuUsage();
    const workers = (stats?.team.tids ?? []).map((tid) => (tid > 0 ? taskCpu(tid) : undefined));
    return {
      stats,
      flowMs: timed?.flowMs ?? 0,
      stepMs: timed?.stepMs ?? 0,
      flowCpuMs: timed?.flowCpuMs ?? 0,
      stepCpuMs: timed?.stepCpuMs ?? 0,
      processCpuMs: (usage.user + usage.system) / 1000,
      main: threadCpu(),
      workers,
    };
  };
  let first = snapshot();
  const counted = () => durations.slice(1);
  await solve(spec, problem, executor, {
    algorithm: 'fp',
    iterations: 1_000_000,
    onIteration: () => {
      const now = performance.now();
      durations.push((now - mark) / 1000);
      if (durations.length === 1) first = snapshot();
      mark = now;
    },
    shouldStop: () => durations.length >= 2 && counted().reduce((a, b) => a + b, 0) >= budget,
  });
  const last = snapshot();
  await executor.close();
  const secondsPerIteration = counted().reduce((a, b) => a + b, 0) / counted().length;
  const T = problem.game.T;
  return {
    label: instance.label,
    executor: local ? 'local' : 'inline',
    threads: Math.max(1, threads),
    cells: problem.cells,
    rows: problem.rows,
    T,
    setupSeconds,
    openSeconds,
    iterations: counted().length,
    secondsPerIteration,
    rowsPerSecond: (T * problem.rows) / secondsPerIteration,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    sharding: last.stats,
    breakdown: breakdown(first, last, counted().length, secondsPerIteration),
  };
}

type Snapshot = {
  stats?: LocalExecutorStats;
  flowMs: number;
  stepMs: number;
  flowCpuMs: number;
  stepCpuMs: number;
  processCpuMs: number;
  main?: CpuReading;
  workers: Array<CpuReading | undefined>;
};

/** CPU seconds per iteration between two snapshots (see Breakdown.cpu). */
function cpuBreakdown(a: Snapshot, b: Snapshot, iterations: number, flowMs: number, stepMs: number): Breakdown['cpu'] {
  const per = (ms: number) => ms / 1000 / iterations;
  const delta = (x: CpuReading | undefined, y: CpuReading | undefined, key: keyof CpuReading) => (x && y ? (y[key] - x[key]) / 1e6 : 0);
  let workers = 0;
  let workersQueued = 0;
  b.workers.forEach((w, i) => {
    workers += delta(a.workers[i], w, 'cpuNs');
    workersQueued += delta(a.workers[i], w, 'waitNs');
  });
  return {
    process: per(b.processCpuMs - a.processCpuMs),
    main: per(delta(a.main, b.main, 'cpuNs')),
    workers: per(workers),
    mainQueued: per(delta(a.main, b.main, 'waitNs')),
    workersQueued: per(workersQueued),
    kernels: per(flowMs + stepMs),
    flowKernels: per(flowMs),
    stepKernels: per(stepMs),
  };
}

/** What the counted iterations (between the two snapshots) spent, per iteration. */
function breakdown(a: Snapshot, b: Snapshot, iterations: number, secondsPerIteration: number): Breakdown {
  const per = (ms: number) => ms / 1000 / iterations;
  if (!a.stats || !b.stats) {
    const flowSeconds = per(b.flowMs - a.flowMs);
    const stepSeconds = per(b.stepMs - a.stepMs);
    return { flowSeconds, stepSeconds, serialSeconds: secondsPerIteration - flowSeconds - stepSeconds, cpu: cpuBreakdown(a, b, iterations, b.flowCpuMs - a.flowCpuMs, b.stepCpuMs - a.stepCpuMs) };
  }
  const sa = a.stats.team;
  const sb = b.stats.team;
  const kinds = {} as NonNullable<Breakdown['kinds']>;
  for (const kind of ['flow', 'step'] as const) {
    const d = <K extends keyof (typeof sb.kinds)['flow']>(key: K) => sb.kinds[kind][key] - sa.kinds[kind][key];
    const seat = (key: 'busyMs' | 'joinMs' | 'joined' | 'missed' | 'blocks' | 'cpuMs' | 'waitMs') => sb.seats.reduce((sum, s, i) => sum + s[kind][key] - (sa.seats[i]?.[kind][key] ?? 0), 0);
    const calls = d('calls');
    kinds[kind] = {
      calls: calls / iterations,
      wall: per(d('wallMs') + d('inlineMs')),
      callerBusy: per(d('callerBusyMs') + d('inlineMs')),
      callerWait: per(d('callerWaitMs')),
      workersBusy: per(seat('busyMs')),
      joinMsPerCall: seat('joined') > 0 ? seat('joinMs') / seat('joined') : 0,
      callerBlockShare: d('callerBlocks') / Math.max(1, d('callerBlocks') + seat('blocks')),
      missed: seat('missed') / iterations,
      messaged: d('messaged') / iterations,
      serial: per(d('serialMs')),
      callerCpu: per(d('callerCpuMs') + d('inlineCpuMs')),
      workersCpu: per(seat('cpuMs')),
      workersQueued: per(seat('waitMs')),
      callerQueued: per(d('callerQueuedMs')),
    };
  }
  const ms = (k: 'flow' | 'step') => 1000 * iterations * (kinds[k].callerCpu + kinds[k].workersCpu);
  return { flowSeconds: kinds.flow.wall, stepSeconds: kinds.step.wall, serialSeconds: kinds.flow.serial + kinds.step.serial, kinds, cpu: cpuBreakdown(a, b, iterations, ms('flow'), ms('step')) };
}

/** One line: per iteration, flow, steps and serial time, and for a team run where the time went in each. */
function describeBreakdown(b: Breakdown): string {
  const f = (x: number) => x.toFixed(3);
  const c = b.cpu;
  const head =
    `per iteration: flow ${f(b.flowSeconds)} s, steps ${f(b.stepSeconds)} s, serial ${f(b.serialSeconds)} s\n` +
    `    CPU per iteration: process ${f(c.process)} s = calling thread ${f(c.main)} s + workers ${f(c.workers)} s + other threads (GC, compiler) ${f(c.process - c.main - c.workers)} s; ` +
    `kernels ${f(c.kernels)} s; queued behind other processes: calling thread ${f(c.mainQueued)} s, workers ${f(c.workersQueued)} s`;
  if (!b.kinds) return head;
  const part = (k: NonNullable<Breakdown['kinds']>['flow']) =>
    `${k.calls.toFixed(0)} calls, caller busy ${f(k.callerBusy)} s (${(100 * k.callerBlockShare).toFixed(0)}% of blocks) + wait ${f(k.callerWait)} s ` +
    `+ sending the calls ${f(Math.max(0, k.wall - k.callerBusy - k.callerWait))} s, ` +
    `workers busy ${f(k.workersBusy)} s, join ${k.joinMsPerCall.toFixed(3)} ms/call, missed ${k.missed.toFixed(1)}, by message ${k.messaged.toFixed(1)}; ` +
    `CPU in blocks: caller ${f(k.callerCpu)} s (+${f(k.callerQueued)} s queued), workers ${f(k.workersCpu)} s (+${f(k.workersQueued)} s queued)`;
  return `${head}\n    flow: ${part(b.kinds.flow)}\n    steps: ${part(b.kinds.step)}`;
}

/**
 * Where a team run lost against inline: the kernels' extra time (busy time of all threads over the inline
 * kernels' time: memory, caches, the guard's backups), the caller's waits at the barriers, the serial time.
 */
function describeLoss(b: Breakdown, inline: Breakdown, threads: number): string {
  if (!b.kinds) return '';
  const work = b.kinds.flow.callerBusy + b.kinds.flow.workersBusy + b.kinds.step.callerBusy + b.kinds.step.workersBusy;
  const inlineWork = inline.flowSeconds + inline.stepSeconds;
  const ideal = inlineWork / threads + inline.serialSeconds;
  const total = b.flowSeconds + b.stepSeconds + b.serialSeconds;
  const cpuLine = (x: number, y: number) => (y > 0 ? `${(x / y).toFixed(3)}x (${x.toFixed(3)} s vs ${y.toFixed(3)} s)` : 'n/a');
  const kinds = b.kinds;
  return (
    `vs inline, CPU: kernels ${cpuLine(b.cpu.kernels, inline.cpu.kernels)} [flow ${cpuLine(b.cpu.flowKernels, inline.cpu.flowKernels)}, steps ${cpuLine(b.cpu.stepKernels, inline.cpu.stepKernels)}], ` +
    `process ${cpuLine(b.cpu.process, inline.cpu.process)}; CPU-bound estimate ${(inline.cpu.kernels / Math.max(kinds.flow.callerCpu + kinds.step.callerCpu, (kinds.flow.workersCpu + kinds.step.workersCpu) / (threads - 1))).toFixed(2)}x ` +
    `(inline kernel CPU over the calling thread's or a worker's mean kernel CPU, the larger)\n  ` +
    `vs inline, wall: kernels ${(work / inlineWork).toFixed(3)}x the inline kernel time (${work.toFixed(3)} s vs ${inlineWork.toFixed(3)} s); ` +
    `barrier waits ${(b.kinds.flow.callerWait + b.kinds.step.callerWait).toFixed(3)} s; serial ${b.serialSeconds.toFixed(3)} s (inline ${inline.serialSeconds.toFixed(3)} s); ` +
    `ideal ${ideal.toFixed(3)} s/iteration, this run ${total.toFixed(3)} s`
  );
}
