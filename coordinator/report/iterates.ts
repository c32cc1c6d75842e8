// Which numbers stand for a run: those of its written policies (run.json's result), not its last curve point.
// Pure: the report's table and its charts of final numbers read them from here.

import type { RunData, RunIterate } from './data.ts';

/**
 * The iterates a run's numbers come from, labelled: run.json's result (the written policies) first, then the
 * last iterate (last/) when it is another one. Runs without a result (in progress, or written before results
 * were evaluated) give their last curve point, the input of the last iteration. The final table shows them all;
 * charts of final numbers use the first.
 */
export function runIterates(r: RunData): Array<{ label: string; point: RunIterate }> {
  const { result, last, keep } = r.info;
  if (result && typeof result.iteration === 'number' && result.exploitability) {
    const other = last && typeof last.iteration === 'number' && last.exploitability && last.iteration !== result.iteration ? last : undefined;
    const label = keep === 'last' ? 'result (last iterate)' : other || !last ? 'result (best iterate)' : 'result (best iterate, the last one)';
    return [{ label, point: result }, ...(other ? [{ label: 'last iterate (last/)', point: other }] : [])];
  }
  const point = r.curve[r.curve.length - 1];
  return point ? [{ label: r.inProgress ? 'last curve point (in progress)' : 'last curve point', point }] : [];
}
