#!/usr/bin/env node
// Launcher: registers the tsx loader so the TypeScript sources run without a build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../coordinator/cli/main.ts');
const { startWorkerNode } = await import('./worker-node.ts');
process.exitCode = await main(process.argv, { startWorkerNode });
