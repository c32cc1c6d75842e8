// A Piscina pool of `threads` long-lived workers running worker/<name>.ts (or .js), shared by the local sweep
// executor and the N-player episode runner.

import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';

export function createThreadPool<T, R>(worker: 'sweep-worker' | 'episode-worker', threads: number): Piscina<T, R> {
  const filename = new URL(`../worker/${worker}${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
  return new Piscina<T, R>({
    filename,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: Infinity,
    concurrentTasksPerWorker: 1,
    execArgv: workerExecArgv(filename),
  });
}

/**
 * Node 20 cannot load a .ts worker by itself. Under `tsx` the threads inherit its loader through
 * process.execArgv; under bin/m3fg.js (tsx's register API) and vitest they do not, so add it (toolchain.md).
 */
export function workerExecArgv(filename: string): string[] {
  if (!filename.endsWith('.ts') || process.execArgv.some((a) => a.includes('tsx'))) return [...process.execArgv];
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return [...process.execArgv, '--import', tsx];
}
