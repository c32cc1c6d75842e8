// One progress display for a whole study: a line per finished job (runs done / total, its time and final
// exploitability, the study's ETA) and, on a terminal, a live bar on stderr. The ETA: the estimated cost
// still to run, at the seconds per unit of cost the finished jobs took, over the threads that run jobs side
// by side (on a cluster, whose size is unknown: the elapsed time scaled by cost left over cost done). Jobs
// differ by orders of magnitude, and early on the cost estimate's error dominates.

import cliProgress from 'cli-progress';
import type { JobSpec } from './spec.ts';
import type { JobRecord } from './study.ts';

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** A job's name in the display: its key without the hash. */
export function jobLabel(job: JobSpec): string {
  const name = job.key.replace(/-[0-9a-f]{12}$/, '');
  return job.kind === 'nplayer' ? `nplayer ${name}` : name;
}

export class StudyProgress {
  private readonly total: number;
  private finished = 0;
  private costRun = 0;
  private secondsRun = 0;
  private readonly slots?: number;
  private readonly start = Date.now();
  private readonly running = new Set<string>();
  private readonly print: (line: string) => void;
  private readonly bar?: cliProgress.SingleBar;
  private readonly timer?: NodeJS.Timeout;
  private costLeft: number;

  constructor(jobs: JobSpec[], options: { print?: (line: string) => void; bar?: boolean; label: string; slots?: number }) {
    this.slots = options.slots;
    this.total = jobs.length;
    this.costLeft = jobs.reduce((a, j) => a + j.cost, 0);
    this.print = options.print ?? ((line) => process.stdout.write(`${line}\n`));
    if (options.bar) {
      this.bar = new cliProgress.SingleBar(
        { format: `${options.label} [{bar}] {value}/{total} runs | ETA {etaText} | submitted: {running}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.total, 0, { etaText: '?', running: '' });
      this.timer = setInterval(() => this.redraw(), 1000);
      this.timer.unref();
    }
  }

  /** Seconds left, from the cost still to run and the pace so far; undefined before the first run finishes. */
  eta(): number | undefined {
    if (this.costRun <= 0) return undefined;
    if (this.slots) return (this.costLeft * (this.secondsRun / this.costRun)) / this.slots;
    return ((Date.now() - this.start) / 1000) * (this.costLeft / this.costRun);
  }

  started(job: JobSpec): void {
    this.running.add(jobLabel(job));
    this.redraw();
  }

  done(rec: JobRecord): void {
    this.finished++;
    this.running.delete(jobLabel(rec.job));
    this.costLeft -= rec.job.cost;
    if (rec.status === 'ran') {
      this.costRun += rec.job.cost;
      this.secondsRun += rec.seconds;
    }
    const eta = this.eta();
    const tail = this.finished < this.total && eta !== undefined ? `; ETA ${fmtSeconds(eta)}` : '';
    this.line(`[${this.finished}/${this.total}] ${jobLabel(rec.job)}: ${describe(rec)}${tail}`);
  }

  private line(text: string): void {
    if (this.bar) {
      // print above the bar: clear its line, print, redraw
      process.stderr.write('\r\x1b[K');
      this.print(text);
      this.redraw();
    } else this.print(text);
  }

  private redraw(): void {
    if (!this.bar) return;
    const eta = this.eta();
    const names = [...this.running];
    const running = names.length > 3 ? `${names.slice(0, 3).join(', ')} +${names.length - 3}` : names.join(', ');
    this.bar.update(this.finished, { etaText: eta === undefined ? '?' : fmtSeconds(eta), running });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.bar?.stop();
  }
}

function describe(rec: JobRecord): string {
  if (rec.status === 'failed' || rec.status === 'skipped') return `${rec.status}: ${rec.error}`;
  const f = rec.outcome?.final;
  const numbers = f
    ? `, result's exploitability ${f.exploitability.toPrecision(4)} (major ${f.major.toPrecision(3)}, minor ${f.minor.toPrecision(3)})`
    : '';
  return rec.status === 'reused' ? `reused${numbers}` : `ran in ${fmtSeconds(rec.seconds)}${numbers}`;
}
