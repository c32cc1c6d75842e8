// Which game function a thread is in, kept in shared memory: the thread that builds a game writes it before
// every call into the game's code (validate.ts setKernelProbe), and the thread that watches the deadline reads
// it when the call never returns (an endless loop cannot post a message). Layout of the Int32 words:
//   [inside (0/1), function code, calls entered (low 31 bits), x, u, x0, u0 (-1 = absent), mu length]
// then the mean field as float64 (the first MAX_MU entries). Pure: no I/O, no threads.

import type { GridKind } from './grid.ts';
import { describeState } from './model.ts';
import type { KernelProbe } from './validate.ts';

/** What the game check thread (worker/game-check-worker.ts) is given, and what it answers. */
export interface GameCheckData {
  readonly spec: { readonly game: string; readonly params: Readonly<Record<string, number>>; readonly bins: number; readonly grid: GridKind };
  readonly probe: SharedArrayBuffer;
}

export type GameCheckReply =
  | { readonly type: 'started' }
  | { readonly type: 'family'; readonly name: string }
  | { readonly type: 'total'; readonly calls: number }
  | { readonly type: 'done'; readonly ms: number }
  | { readonly type: 'error'; readonly name: string; readonly game?: string; readonly message: string };

const FUNCTIONS = ['create', 'minorKernel', 'majorKernel', 'minorReward', 'majorReward'] as const;
const KEYS = ['x', 'u', 'x0', 'u0'] as const;
const WORDS = 8;
const MAX_MU = 64;

export function createProbeBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(WORDS * 4 + MAX_MU * 8);
}

/** The writing side, for setKernelProbe. */
export function probeWriter(buffer: SharedArrayBuffer): KernelProbe {
  const w = new Int32Array(buffer, 0, WORDS);
  const mu = new Float64Array(buffer, WORDS * 4, MAX_MU);
  return {
    enter(fn, at, m) {
      w[1] = FUNCTIONS.indexOf(fn as (typeof FUNCTIONS)[number]);
      for (let k = 0; k < KEYS.length; k++) w[3 + k] = at[KEYS[k]] ?? -1;
      const n = Math.min(m.length, MAX_MU);
      for (let i = 0; i < n; i++) mu[i] = m[i];
      w[7] = n;
      Atomics.store(w, 2, (w[2] + 1) & 0x7fffffff);
      Atomics.store(w, 0, 1);
    },
    leave() {
      Atomics.store(w, 0, 0);
    },
  };
}

/** Calls entered so far (wraps at 2^31). */
export function probeCalls(buffer: SharedArrayBuffer): number {
  return Atomics.load(new Int32Array(buffer, 0, WORDS), 2);
}

/** "minorKernel at (x=1, u=0, x0=0, u0=0, mu=[..])", or undefined when the thread is not inside game code. */
export function describeProbe(buffer: SharedArrayBuffer): string | undefined {
  const w = new Int32Array(buffer, 0, WORDS);
  if (Atomics.load(w, 0) !== 1) return undefined;
  const fn = FUNCTIONS[w[1]] ?? 'a game function';
  if (fn === 'create') return 'create (the game constructor)';
  const at: Record<string, number> = {};
  for (let k = 0; k < KEYS.length; k++) if (w[3 + k] >= 0) at[KEYS[k]] = w[3 + k];
  return `${fn} at ${describeState(at, new Float64Array(buffer, WORDS * 4, w[7]))}`;
}
