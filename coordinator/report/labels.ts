// Names of states and actions in chart titles and panel headers, from the game module's optional `labels`
// (GameFamily.labels, shared/model.ts). A game without labels, or a state beyond its list, is shown by number.
import type { GameLabels } from '../../shared/model.ts';

export type { GameLabels };
type Kind = 'x' | 'x0' | 'u' | 'u0';

const LIST: Record<Kind, keyof GameLabels> = { x: 'states', x0: 'majorStates', u: 'actions', u0: 'majorActions' };

/** The game's name for a state or action, if it has one. */
export function name(labels: GameLabels | undefined, kind: Kind, i: number): string | undefined {
  const n = labels?.[LIST[kind]]?.[i];
  return typeof n === 'string' && n !== '' ? n : undefined;
}

/** A state as a panel header: `x = I`, `x0 = 3`. */
export function stateLabel(labels: GameLabels | undefined, kind: 'x' | 'x0', i: number): string {
  return `${kind} = ${name(labels, kind, i) ?? i}`;
}

/** An action: `u = 1 (precaution)`, or `u0 = 2` where the game names no such action. */
export function actionLabel(labels: GameLabels | undefined, kind: 'u' | 'u0', i: number): string {
  const n = name(labels, kind, i);
  return n ? `${kind} = ${i} (${n})` : `${kind} = ${i}`;
}
