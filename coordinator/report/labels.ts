// Names of states and actions for the built-in games (../shared/spec/games.md), used in chart titles and
// facet headers. A game not listed here, or a state beyond the list, is shown by its number.

interface GameLabels {
  x?: string[];
  x0?: string[];
  u?: string[];
  u0?: string[];
}

const LABELS: Record<string, GameLabels> = {
  sis: {
    x: ['S', 'I'],
    x0: ['L', 'H'],
    u: ['no precaution', 'precaution'],
  },
  advertisement: {
    x: ['company 1', 'company 2'],
    x0: ['company 1 efficient', 'company 2 efficient'],
    u0: ['neutral', 'favour company 1', 'favour company 2'],
  },
  cyber: {
    x: ['class 0, S', 'class 0, I', 'class 1, S', 'class 1, I'],
    u: ['keep class', 'switch class'],
    u0: ['no attack effort', 'attack effort'],
  },
};

/** The game's name for a state or action, if it has one. */
export function name(game: string | undefined, kind: keyof GameLabels, i: number): string | undefined {
  return LABELS[game ?? '']?.[kind]?.[i];
}

/** A state as a panel header: `x = I`, `x0 = 3`. */
export function stateLabel(game: string | undefined, kind: 'x' | 'x0', i: number): string {
  return `${kind} = ${name(game, kind, i) ?? i}`;
}

/** An action: `u = 1 (precaution)`, or `u0 = 2` where the game names no such action. */
export function actionLabel(game: string | undefined, kind: 'u' | 'u0', i: number): string {
  const n = name(game, kind, i);
  return n ? `${kind} = ${i} (${n})` : `${kind} = ${i}`;
}
