#!/usr/bin/env node
// The m3fg command (package.json "bin": dist/bin/m3fg.js). A user's TypeScript game module (--game ./g.ts)
// loads through tsx when it is installed (it is a development dependency here, not a runtime one).
import { registerTsxIfPresent } from '../runtime/tsx-loader.ts';
import { main } from '../coordinator/cli/main.ts';
import { startWorkerNode } from './worker-node.ts';

await registerTsxIfPresent();
process.exitCode = await main(process.argv, { startWorkerNode });
