// TypeScript game modules (--game ./my-game.ts) under the compiled CLI: Node 20 cannot import .ts by itself,
// so register tsx's loader when tsx can be resolved (a development dependency of this package, or the user's
// own), and hand it to worker threads (thread-pool.ts). Without tsx, .js / .mjs game modules still load.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

let tsxUrl: string | undefined;

/** The file URL of tsx's loader when it is registered in this process, for worker threads' execArgv. */
export function registeredTsx(): string | undefined {
  return tsxUrl;
}

export async function registerTsxIfPresent(): Promise<boolean> {
  if (tsxUrl) return true;
  let resolved: string;
  try {
    resolved = createRequire(pathToFileURL(`${process.cwd()}/`).href).resolve('tsx');
  } catch {
    try {
      resolved = createRequire(import.meta.url).resolve('tsx');
    } catch {
      return false;
    }
  }
  const api = pathToFileURL(createRequire(resolved).resolve('tsx/esm/api')).href;
  const { register } = (await import(api)) as { register: () => unknown };
  register();
  tsxUrl = pathToFileURL(resolved).href;
  return true;
}
