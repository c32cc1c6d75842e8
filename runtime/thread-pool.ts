// Worker threads running worker/<name>.ts (or .js): a Piscina pool of `threads` long-lived workers (the local
// executor's fixed chunks, the cluster node, the N-player episode runner), or one plain thread (the local
// executor's team, the game check). The entry is named by its path, never imported: coordinator/ starts
// threads whose code lives in worker/, and neither folder imports the other.

import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { registeredTsx } from './tsx-loader.ts';

export function createThreadPool<T, R>(worker: 'sweep-worker' | 'episode-worker', threads: number): Piscina<T, R> {
  const filename = workerEntry(worker).href;
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
 * One plain worker thread running worker/<name>.ts (or .js), for the local executor's team and the game check.
 * A .ts entry is require()d by a small script after tsx's CommonJS hooks are registered: Node 20 loads a
 * worker's own entry before the hooks that execArgv registers are in place, and tsx's ESM hooks do not reach
 * worker threads (Piscina's worker loads its module later, once they are).
 */
export function startWorkerThread(worker: 'team-worker' | 'game-check-worker' | 'shard-build-worker', workerData: unknown): Worker {
  const filename = fileURLToPath(workerEntry(worker));
  // compiled (dist/): an ES module entry, loaded as such (require() of an ES module fails on Node 20)
  if (!filename.endsWith('.ts')) return new Worker(pathToFileURL(filename), { workerData, execArgv: workerExecArgv(filename) });
  const hooks = `require(${JSON.stringify(createRequire(import.meta.url).resolve('tsx/cjs'))});`;
  return new Worker(`${hooks}require(${JSON.stringify(filename)});`, { eval: true, workerData, execArgv: workerExecArgv(filename) });
}

/**
 * Node 20 cannot load a .ts worker (or a .ts game module) by itself. Under `tsx` the threads inherit its
 * loader through process.execArgv; under bin/m3fg.js, the compiled CLI with tsx registered (tsx-loader.ts)
 * and vitest they do not, so add it (toolchain.md).
 */
export function workerExecArgv(filename: string): string[] {
  const registered = registeredTsx();
  if ((!filename.endsWith('.ts') && !registered) || process.execArgv.some((a) => a.includes('tsx'))) return [...process.execArgv];
  const tsx = registered ?? pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return [...process.execArgv, '--import', tsx];
}

/** worker/<name> with this file's extension (.ts from the sources, .js from dist/). */
function workerEntry(worker: string): URL {
  return new URL(`../worker/${worker}${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
}
