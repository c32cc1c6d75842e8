// A study's report (`m3fg report DIR`) written by a child process, so that it renders beside other work on
// this process (the figures of `experiment paper`). A child process rather than a worker thread: under the
// tsx loader, a worker thread cannot load report/index.ts's lazily imported renderer.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportDir } from '../report/index.ts';

const LAUNCHER = fileURLToPath(new URL('../../bin/m3fg.js', import.meta.url));

/** Writes DIR/report; resolves with the page's path, rejects with the child's error output. */
export function reportInChildProcess(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [LAUNCHER, 'report', '--quiet', dir], { maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`report: ${stderr.trim() || err.message}`));
      else resolve(join(reportDir(dir), 'index.html'));
    });
  });
}
