// Wall and process CPU time stamped at every FP iteration (the solver's onIteration), and their means per
// iteration after the first (which compiles the kernels, so it is not timed).
export function iterationClock(): { onIteration: () => void; perIteration: () => { wall: number; cpu: number } } {
  const wall: number[] = [];
  const cpu: number[] = [];
  return {
    onIteration: () => {
      wall.push(performance.now());
      const u = process.cpuUsage();
      cpu.push((u.user + u.system) / 1000);
    },
    /** Seconds per iteration, wall and process CPU, from the first stamp to the last. */
    perIteration: () => {
      const n = wall.length - 1;
      return { wall: (wall[n] - wall[0]) / n / 1000, cpu: (cpu[n] - cpu[0]) / n / 1000 };
    },
  };
}
