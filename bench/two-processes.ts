// How much two processes slow each other on this machine: seconds (wall and process CPU) per FP iteration of
// one inline Cyber solve alone, then of two at once in separate processes, then alone again. This is the
// contention baseline for the "CPU per step, all nodes / 1 node" ratio that bench:cluster prints: two node
// processes each doing half of the rows should cost no more CPU than two whole inline processes at once.
// Usage: npx tsx bench/two-processes.ts [bins=60] [iterations=4]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builtinGames } from '../shared/games/index.ts';
import { Problem } from '../shared/problem.ts';
import { buildGame } from '../shared/validate.ts';
import { InlineExecutor } from '../coordinator/inline-executor.ts';
import { solve } from '../coordinator/solver.ts';
import { iterationClock } from './iteration-clock.ts';

const [binsArg = '60', itArg = '4'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const bins = Number(binsArg);
const iterations = Math.max(2, Number(itArg));

if (process.argv.includes('--one')) {
  const problem = new Problem(buildGame(builtinGames.cyber, {}), bins, 'midpoint', 'nearest');
  const clock = iterationClock();
  await solve({ game: 'cyber', params: {}, bins }, problem, new InlineExecutor(), { algorithm: 'fp', iterations, onIteration: clock.onIteration });
  console.log(JSON.stringify(clock.perIteration()));
} else {
  const self = fileURLToPath(import.meta.url);
  const one = () =>
    new Promise<{ wall: number; cpu: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, self, binsArg, itArg, '--one'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`child exited ${code}`))));
    });
  const show = (label: string, r: { wall: number; cpu: number }) => console.log(`${label}: ${r.wall.toFixed(3)} s/iteration wall, ${r.cpu.toFixed(3)} s process CPU`);
  console.log(`Cyber M=${bins}, inline, ${iterations} FP iterations (the first not timed)`);
  const alone = await one();
  show('alone', alone);
  const pair = await Promise.all([one(), one()]);
  pair.forEach((r, i) => show(`two at once, process ${i + 1}`, r));
  const again = await one();
  show('alone again', again);
  const base = (alone.cpu + again.cpu) / 2;
  console.log(`process CPU per iteration, two at once / alone: ${(pair[0].cpu / base).toFixed(2)}x, ${(pair[1].cpu / base).toFixed(2)}x`);
}
