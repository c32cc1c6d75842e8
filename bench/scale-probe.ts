// The compute-only scaling ceiling of this machine: a loop of square roots (no memory traffic) split over
// 1..N worker threads, each time the best of two runs. Whatever the sweeps lose beyond this is the
// executor's (or the memory system's), not the cores'. Plain JavaScript threads (eval), no loader needed.

import { Worker } from 'node:worker_threads';

const ROWS = 1 << 18;
const WORK = 2000;
const SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const a = new Float64Array(workerData.buf);
for (let r = workerData.lo; r < workerData.hi; r++) {
  let s = 0;
  for (let k = 0; k < ${WORK}; k++) s += Math.sqrt(r + k) * 1e-3;
  a[r] = s;
}
parentPort.postMessage('ok');`;

async function once(threads: number): Promise<number> {
  const buf = new SharedArrayBuffer(ROWS * 8);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: threads }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(SOURCE, { eval: true, workerData: { buf, lo: Math.floor((i * ROWS) / threads), hi: Math.floor(((i + 1) * ROWS) / threads) } });
        w.once('message', () => resolve());
        w.once('error', reject);
      }),
    ),
  );
  return performance.now() - t0;
}

/** Speedup over one thread at each thread count (best of two runs each). */
export async function scaleProbe(threadCounts: number[]): Promise<Record<number, number>> {
  await once(1); // warm-up
  const best = async (n: number) => Math.min(await once(n), await once(n));
  const base = await best(1);
  const out: Record<number, number> = { 1: 1 };
  for (const n of threadCounts) if (n > 1) out[n] = base / (await best(n));
  return out;
}
