// The solver loop: fictitious play (the paper's Algorithm 1) and fixed-point iteration, written once
// against the Executor interface. Iteration n:
//   1. flow: next cells under the current average minor policy;
//   2. backward sweep t = T-1..0: best-response and policy values, greedy actions, and the update of slice t
//      (FP: average the greedy policy in with weight 1/(n+2); FPI: replace);
//   3. read-out: exploitability of the policy *before* this iteration's update (games.md).
// With keepBest the loop also remembers the best iterate: the policies with the lowest total exploitability
// seen (ties: the earliest). "Iteration i" of an iterate means the policies after i updates, the input of
// iteration i, whose exploitability is curve[i]; the last iterate is iteration curve.length (evaluateResult
// gives its exploitability, and it is a candidate too).
// Steps 1-2 are the executor's sweep (or its value iteration for the infinite horizon), the start values of
// step 3 its read-out: the loop never touches a table, so the tables may live on other machines.

import type { Problem } from '../shared/problem.ts';
import type { InitialPolicy } from '../shared/tables.ts';
import type { PolicySources } from '../shared/table-source.ts';
import { exploitability, type Exploitability, type StartValues } from '../shared/kernels/exploitability.ts';
import type { Response, UpdateRule } from '../shared/kernels/update.ts';
import type { Executor, ProblemSpec } from './executor.ts';
import { AdaptiveStep } from './adaptive-step.ts';

export type Algorithm = 'fp' | 'fpi' | 'omd' | 'alternating' | 'damped';

/**
 * OMD's schedule at iteration n: constant (y += Q, temperature tau), sqrt (a decreasing learning rate,
 * y += Q / sqrt(n + 1)) or anneal (a decreasing temperature, tau / sqrt(n + 1)).
 */
export type OmdSchedule = 'constant' | 'sqrt' | 'anneal';

/** A schedule: OMD's, or for damped 'constant' (the step alpha) or 'adaptive' (./adaptive-step.ts). */
export type Schedule = OmdSchedule | 'adaptive';

export interface CurvePoint {
  iteration: number;
  exploitability: Exploitability;
  value: StartValues;
}

export interface SolveOptions {
  algorithm: Algorithm;
  iterations: number;
  /** Initial policies; default one-hot on the first action, uniform for softmax FP/FPI (the reference's). */
  init?: InitialPolicy;
  /** Softmax (Boltzmann) responses with this temperature for fp, fpi and alternating; OMD's temperature. */
  temperature?: number;
  /** Use softmax responses in fp / fpi / alternating (OMD always does). */
  softmax?: boolean;
  /** Damped fixed-point iteration: the constant step alpha of pi <- (1 - alpha) pi + alpha BR (default 0.1). */
  step?: number;
  /**
   * OMD's learning-rate / temperature schedule, or damped's step schedule: constant (default) or adaptive
   * (halved when the total exploitability rose, grown back otherwise; ./adaptive-step.ts).
   */
  schedule?: Schedule;
  /** Alternating schedule: the major player updates at iterations n = 0 mod (inner + 1), the minor otherwise. */
  inner?: number;
  /** Infinite-horizon discounted objective with stationary policies (value iteration per iteration). */
  horizon?: 'finite' | 'infinite';
  /** Discount factor of the infinite horizon (default 0.99). */
  discount?: number;
  /** Value-iteration stopping tolerance on sum |V_new - V| (default 1e-5). */
  tolerance?: number;
  /**
   * Called after every iteration with its curve point and the policies after its update (progress, logging,
   * checkpoints). The sources are read before the next iteration starts.
   */
  onIteration?: (point: CurvePoint, policies: PolicySources, stopping?: StopReason, best?: BestIterate) => void | Promise<void>;
  /** Stop early when this returns true (checked after each iteration). */
  shouldStop?: () => boolean;
  /** Stop at the first iteration whose total exploitability is at most this (`iterations` stays the cap). */
  target?: number;
  /** Stop after the first iteration that ends this many seconds after the solve started (wall clock). */
  timeLimit?: number;
  /**
   * After the last iteration, one more sweep that changes no policy (rule 'none') and reads the start values:
   * the exploitability of exactly the policies the run returns (SolveResult.result).
   */
  evaluateResult?: boolean;
  /** Continue a run: the state before iteration `iteration` (policies and the curve so far). */
  resume?: ResumeState;
  /**
   * Remember the best iterate (two more copies of the policies on the executor, a memcpy per iteration):
   * SolveResult.best. Default false (the last iterate only).
   */
  keepBest?: boolean;
}

/** The best iterate so far: iteration i (the policies after i updates), its exploitability and its tables. */
export interface BestIterate {
  iteration: number;
  exploitability: Exploitability;
  value: StartValues;
  /** The executor's best slot; readable until the next iteration or executor.close(). */
  policies: PolicySources;
}

/** Everything the loop needs to continue bitwise-identically: iteration n's input policies and the curve. */
export interface ResumeState {
  iteration: number;
  curve: CurvePoint[];
  /** The policies (and for OMD the accumulators) before iteration `iteration`. */
  policies: PolicySources;
  /** With keepBest: the best iterate so far (an iteration below `iteration`, so its curve point is known). */
  best?: { iteration: number; policies: PolicySources };
}

/**
 * Why a run ended: its curve reached the target, the time limit passed, it ran all its iterations, or
 * shouldStop() asked it to (an interrupted run).
 */
export type StopReason = 'target' | 'time-limit' | 'iterations' | 'stopped';

export interface SolveResult {
  curve: CurvePoint[];
  stopReason: StopReason;
  /** With evaluateResult: the exploitability and start values of the returned policies. */
  result?: { exploitability: Exploitability; value: StartValues };
  /** The final policies (the last iterate, iteration curve.length); readable until executor.close(). */
  policies: PolicySources;
  /** With keepBest: the best iterate, the last one included when evaluateResult ran (ties: the earliest). */
  best?: BestIterate;
}

export async function solve(
  spec: ProblemSpec,
  problem: Problem,
  executor: Executor,
  options: SolveOptions,
): Promise<SolveResult> {
  const infinite = options.horizon === 'infinite';
  if ((spec.projection ?? 'nearest') !== problem.projection) {
    throw new RangeError(`solve: the spec asks for projection ${spec.projection ?? 'nearest'}, the problem was built with ${problem.projection}`);
  }
  await executor.open(spec, problem, { omd: options.algorithm === 'omd', slices: infinite ? 1 : problem.game.T, ...(options.keepBest ? { keepBest: true } : {}) });
  const resume = options.resume;
  if (resume) await executor.loadPolicies(resume.policies);
  else await executor.initPolicies(options.init ?? (options.softmax && options.algorithm !== 'omd' ? 'uniform' : 'first'));
  const curve: CurvePoint[] = resume ? resume.curve.slice(0, resume.iteration) : [];
  const keep = options.keepBest === true;
  let best: Omit<BestIterate, 'policies'> | undefined;
  if (keep && resume) {
    if (!resume.best) throw new Error('resume: keepBest needs the saved best iterate');
    const b = resume.best.iteration;
    if (!(Number.isSafeInteger(b) && b >= 0 && b < curve.length)) throw new Error(`resume: best iteration ${b} outside the curve [0, ${curve.length})`);
    await executor.loadBest(resume.best.policies);
    best = { iteration: b, exploitability: curve[b].exploitability, value: curve[b].value };
  }
  const bestNow = (): BestIterate | undefined => (best ? { ...best, policies: executor.bestPolicies() } : undefined);
  const started = performance.now();
  // a resumed run whose curve already met the target (or the cap) does nothing more
  let stopReason: StopReason | undefined = reached(options, curve[curve.length - 1]) ? 'target' : undefined;
  const adaptive = options.algorithm === 'damped' && options.schedule === 'adaptive' ? new AdaptiveStep(options.step ?? 0.1) : undefined;
  for (let n = resume?.iteration ?? 0; !stopReason && n < options.iterations; n++) {
    if (keep) await executor.saveInput(); // the sweep overwrites its input; the read-out is that input's
    // the last sweep, unless the result's evaluation sweeps once more (a time limit or a target may stop sooner)
    await sweep(executor, options, updateRule(options, n, adaptive?.at(curve, n)), n + 1 >= options.iterations && !options.evaluateResult);
    const value = await executor.startValues();
    const point: CurvePoint = { iteration: n, exploitability: exploitability(value), value };
    curve.push(point);
    if (keep && better(point.exploitability, best)) {
      await executor.keepSaved();
      best = { iteration: n, exploitability: point.exploitability, value };
    }
    // target first: the stop is a property of the curve, the same on every executor and after a resume
    if (reached(options, point)) stopReason = 'target';
    else if (n + 1 >= options.iterations) stopReason = 'iterations';
    else if (options.timeLimit !== undefined && (performance.now() - started) / 1000 >= options.timeLimit) stopReason = 'time-limit';
    await options.onIteration?.(point, executor.policies(), stopReason, bestNow());
    if (!stopReason && options.shouldStop?.()) stopReason = 'stopped';
  }
  let result: SolveResult['result'];
  if (options.evaluateResult) {
    await sweep(executor, options, { kind: 'none' }, true);
    const value = await executor.startValues();
    result = { exploitability: exploitability(value), value };
    // the last iterate is a candidate too ('none' changed no policy: the current tables are it)
    if (keep && better(result.exploitability, best)) {
      await executor.saveInput();
      await executor.keepSaved();
      best = { iteration: curve.length, ...result };
    }
  }
  return { curve, stopReason: stopReason ?? 'iterations', result, policies: executor.policies(), best: bestNow() };
}

/** A new best iterate: strictly lower total exploitability (ties keep the earliest), or the first one. */
function better(e: Exploitability, best: { exploitability: Exploitability } | undefined): boolean {
  return best === undefined || e.total < best.exploitability.total;
}

/** One iteration's sweep on the executor: finite horizon, or value iteration for the infinite one. */
async function sweep(executor: Executor, options: SolveOptions, rule: UpdateRule, last: boolean): Promise<void> {
  if (options.horizon === 'infinite') {
    await executor.valueIteration(rule, { discount: options.discount ?? 0.99, tolerance: options.tolerance ?? 1e-5 });
  } else {
    await executor.iterate(rule, last ? { last } : undefined);
  }
}

function reached(options: Pick<SolveOptions, 'target'>, point: CurvePoint | undefined): boolean {
  return options.target !== undefined && point !== undefined && point.exploitability.total <= options.target;
}

/**
 * The update of iteration n for an algorithm (games.md, "fictitious play" and "Variants"). `adaptiveStep`:
 * damped's step at iteration n under the adaptive schedule (AdaptiveStep.at, from the curve).
 */
export function updateRule(options: Pick<SolveOptions, 'algorithm' | 'temperature' | 'softmax' | 'inner' | 'step' | 'schedule'>, n: number, adaptiveStep?: number): UpdateRule {
  const temperature = options.temperature ?? 0.1;
  const response: Response = options.softmax ? { kind: 'softmax', temperature } : { kind: 'greedy' };
  switch (options.algorithm) {
    case 'fp':
      return { kind: 'average', iteration: n, response };
    case 'fpi':
      return { kind: 'replace', response };
    case 'damped':
      if (options.schedule === 'adaptive') {
        if (adaptiveStep === undefined) throw new Error('updateRule: the adaptive schedule needs the step from the curve');
        return { kind: 'damped', step: adaptiveStep, response };
      }
      return { kind: 'damped', step: options.step ?? 0.1, response };
    case 'omd':
      switch (options.schedule ?? 'constant') {
        case 'constant':
          return { kind: 'omd', temperature };
        case 'sqrt':
          return { kind: 'omd', temperature, rate: 1 / Math.sqrt(n + 1) };
        case 'anneal':
          return { kind: 'omd', temperature: temperature / Math.sqrt(n + 1) };
        case 'adaptive':
          throw new Error('updateRule: the adaptive schedule is damped only');
      }
    case 'alternating': {
      const k = options.inner ?? 1;
      return { kind: 'average', iteration: n, response, players: n % (k + 1) === 0 ? 'major' : 'minor' };
    }
  }
}
