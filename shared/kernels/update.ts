// Policy update for slice t over a range of rows, from the step just computed (games.md, "fictitious play"
// and "Variants"). The response of a player is either greedy (one-hot on the greedy action) or softmax:
//   softmax(Q / tau)(a) = b_a / sum_a' b_a',  b_a = exp((Q(a) - max Q) / tau)   (Q = the best-response Q)
// and the rules are
//   average (FP):  pi <- (pi * (n + 1) + response) / (n + 2)   at iteration n (the reference's order)
//   replace (FPI): pi <- response
//   damped:        pi <- (1 - alpha) * pi + alpha * response   (a constant step alpha in (0, 1])
//   omd:           y <- y + eta * Q_pi (the evaluation Q of the current policies);  pi <- softmax(y / tau)
//                  (eta = 1 unless the rule gives a rate: the solver's learning-rate and temperature schedules
//                  hand each iteration its own eta and tau, so the rule stays plain data)
//   none:          no change (a sweep that only evaluates the current policies: the result's exploitability)
// `players` restricts an average/replace/damped update to one player (the alternating schedule).
// Slice t is never read again by the sweep once its step is done, so it can be updated in place right away.

import type { Problem } from '../problem.ts';
import type { SolverTables } from '../tables.ts';

export type Response = { kind: 'greedy' } | { kind: 'softmax'; temperature: number };
export type Players = 'both' | 'major' | 'minor';

export type UpdateRule =
  | { kind: 'average'; iteration: number; response?: Response; players?: Players }
  | { kind: 'replace'; response?: Response; players?: Players }
  | { kind: 'damped'; step: number; response?: Response; players?: Players }
  | { kind: 'omd'; temperature: number; rate?: number }
  | { kind: 'none' };

/** Whether the backward step must store the Q rows for this rule. */
export function ruleNeedsQ(rule: UpdateRule): boolean {
  if (rule.kind === 'none') return false;
  return rule.kind === 'omd' || rule.response?.kind === 'softmax';
}

export function updateRange(
  problem: Problem,
  tables: SolverTables,
  t: number,
  rowFrom: number,
  rowTo: number,
  rule: UpdateRule,
): void {
  const { nX, nU, nU0 } = problem.game;
  const rows = problem.rows;
  if (rule.kind === 'none') return;
  const { minorPolicy, majorPolicy, minorGreedy, majorGreedy } = tables;
  if (rule.kind === 'omd') {
    const { minorY, majorY, minorQev, majorQev } = tables;
    const tau = rule.temperature;
    const eta = rule.rate;
    for (let r = rowFrom; r < rowTo; r++) {
      const tr = t * rows + r;
      accumulateSoftmax(majorY, majorPolicy, tr * nU0, majorQev, r * nU0, nU0, tau, eta);
      for (let x = 0; x < nX; x++) {
        accumulateSoftmax(minorY, minorPolicy, (tr * nX + x) * nU, minorQev, (r * nX + x) * nU, nU, tau, eta);
      }
    }
    return;
  }
  const players = rule.players ?? 'both';
  const response = rule.response ?? { kind: 'greedy' };
  if (response.kind === 'greedy') {
    // the common case without temporaries: one-hot merged in place, same arithmetic as merge()
    if (rule.kind === 'damped') {
      dampedGreedy(problem, tables, t, rowFrom, rowTo, rule.step, players);
      return;
    }
    const avg = rule.kind === 'average';
    const k = avg ? rule.iteration + 1 : 0;
    const k1 = avg ? rule.iteration + 2 : 0;
    for (let r = rowFrom; r < rowTo; r++) {
      const tr = t * rows + r;
      if (players !== 'minor') {
        const o = tr * nU0;
        const g = majorGreedy[r];
        for (let a = 0; a < nU0; a++) {
          majorPolicy[o + a] = avg ? (majorPolicy[o + a] * k + (a === g ? 1 : 0)) / k1 : a === g ? 1 : 0;
        }
      }
      if (players !== 'major') {
        for (let x = 0; x < nX; x++) {
          const o = (tr * nX + x) * nU;
          const g = minorGreedy[r * nX + x];
          for (let a = 0; a < nU; a++) {
            minorPolicy[o + a] = avg ? (minorPolicy[o + a] * k + (a === g ? 1 : 0)) / k1 : a === g ? 1 : 0;
          }
        }
      }
    }
    return;
  }
  const resp = new Float64Array(Math.max(nU, nU0));
  for (let r = rowFrom; r < rowTo; r++) {
    const tr = t * rows + r;
    if (players !== 'minor') {
      respond(response, tables.majorQbr, r * nU0, nU0, majorGreedy[r], resp);
      merge(majorPolicy, tr * nU0, nU0, resp, rule);
    }
    if (players !== 'major') {
      for (let x = 0; x < nX; x++) {
        respond(response, tables.minorQbr, (r * nX + x) * nU, nU, minorGreedy[r * nX + x], resp);
        merge(minorPolicy, (tr * nX + x) * nU, nU, resp, rule);
      }
    }
  }
}

/** The response distribution into out[0..n): one-hot on `greedy`, or softmax of q[off..off+n) / tau. */
function respond(response: Response, q: Float64Array, off: number, n: number, greedy: number, out: Float64Array): void {
  if (response.kind === 'greedy') {
    for (let a = 0; a < n; a++) out[a] = a === greedy ? 1 : 0;
  } else {
    softmax(q, off, n, response.temperature, out, 0);
  }
}

/** out = softmax(q / tau) as the reference computes it: exp((q - max) / tau), then divide by the sum. */
export function softmax(q: Float64Array, off: number, n: number, tau: number, out: Float64Array, outOff: number): void {
  let max = q[off];
  for (let a = 1; a < n; a++) if (q[off + a] > max) max = q[off + a];
  let rest = 0;
  for (let a = 0; a < n; a++) {
    const b = Math.exp((q[off + a] - max) / tau);
    out[outOff + a] = b;
    if (a > 0) rest += b;
  }
  // numpy's sum over the last axis: first term + the sequential sum of the rest
  const sum = out[outOff] + rest;
  for (let a = 0; a < n; a++) out[outOff + a] = out[outOff + a] / sum;
}

function merge(policy: Float64Array, off: number, n: number, resp: Float64Array, rule: UpdateRule): void {
  if (rule.kind === 'replace') {
    for (let a = 0; a < n; a++) policy[off + a] = resp[a];
    return;
  }
  if (rule.kind === 'damped') {
    for (let a = 0; a < n; a++) policy[off + a] = damp(policy[off + a], resp[a], rule.step);
    return;
  }
  if (rule.kind !== 'average') return;
  const k = rule.iteration + 1;
  const k1 = rule.iteration + 2;
  for (let a = 0; a < n; a++) policy[off + a] = (policy[off + a] * k + resp[a]) / k1;
}

/** One damped entry: (1 - alpha) * p + alpha * r, in this order on every executor. */
function damp(p: number, r: number, alpha: number): number {
  return (1 - alpha) * p + alpha * r;
}

/** The damped update towards the one-hot greedy response, without temporaries. */
function dampedGreedy(problem: Problem, tables: SolverTables, t: number, rowFrom: number, rowTo: number, alpha: number, players: Players): void {
  const { nX, nU, nU0 } = problem.game;
  const rows = problem.rows;
  const { minorPolicy, majorPolicy, minorGreedy, majorGreedy } = tables;
  for (let r = rowFrom; r < rowTo; r++) {
    const tr = t * rows + r;
    if (players !== 'minor') {
      const o = tr * nU0;
      const g = majorGreedy[r];
      for (let a = 0; a < nU0; a++) majorPolicy[o + a] = damp(majorPolicy[o + a], a === g ? 1 : 0, alpha);
    }
    if (players !== 'major') {
      for (let x = 0; x < nX; x++) {
        const o = (tr * nX + x) * nU;
        const g = minorGreedy[r * nX + x];
        for (let a = 0; a < nU; a++) minorPolicy[o + a] = damp(minorPolicy[o + a], a === g ? 1 : 0, alpha);
      }
    }
  }
}

function accumulateSoftmax(y: Float64Array, policy: Float64Array, off: number, q: Float64Array, qOff: number, n: number, tau: number, eta?: number): void {
  // eta undefined: the plain sum (the reference's OMD, bit for bit)
  if (eta === undefined) for (let a = 0; a < n; a++) y[off + a] += q[qOff + a];
  else for (let a = 0; a < n; a++) y[off + a] += eta * q[qOff + a];
  softmax(y, off, n, tau, policy, off);
}
