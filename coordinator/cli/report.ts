// `m3fg report DIR`: the HTML report (and chart PNGs) of a results directory or a folder of them.
// Bad input (no results under DIR, an unreadable results file) is a ReportError: one line, exit status 2.

import type { Command } from 'commander';
import { writeReport } from '../report/index.ts';

export function registerReportCommand(program: Command): Command {
  return program
    .command('report')
    .description('write DIR/report/index.html (self-contained) and DIR/report/*.png for a results directory or a folder of them')
    .argument('<dir>', 'a results directory (curve.json, run.json, policies.bin), or a folder with results directories below it')
    .option('--quiet', 'print nothing')
    .action(async (dir: string, flags: { quiet?: boolean }) => {
      const result = await writeReport(dir);
      if (!flags.quiet) {
        process.stdout.write(
          `report: ${result.html} (${result.runs} run${result.runs === 1 ? '' : 's'}, ${result.charts} charts; PNGs in ${result.dir})\n`,
        );
      }
    });
}
