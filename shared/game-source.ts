// Where a game comes from: a built-in family by name, or a user's module by path (`--game ./my-game.ts`).
// Pure: the caller passes the function that imports a module (the shells use `import()`), so shared/ does no
// I/O. A module may export, as `default` or as `game`, either a GameFamily ({ name, params, create }) or a
// ready GameDefinition (then it has no parameters). Either is validated like a built-in game when built.

import { OptionError } from './errors.ts';
import { builtinGames } from './games/index.ts';
import type { GameDefinition, GameFamily } from './model.ts';

export type ModuleImporter = (specifier: string) => Promise<Record<string, unknown>>;

/** True when `game` names a module rather than a built-in game. */
export function isGamePath(game: string): boolean {
  return /^(\.{1,2}\/|\/)/.test(game) || /\.(m?[jt]s)$/.test(game);
}

export async function resolveGameFamily(game: string, importModule: ModuleImporter): Promise<GameFamily> {
  const builtin = Object.hasOwn(builtinGames, game) ? builtinGames[game] : undefined;
  if (builtin) return builtin;
  if (!isGamePath(game)) {
    throw new OptionError(`--game: unknown game '${game}' (built-in: ${Object.keys(builtinGames).join(', ')}; or a path like ./my-game.ts)`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(game);
  } catch (err) {
    const first = String((err as Error)?.message ?? err).split('\n')[0];
    throw new OptionError(`--game ${game}: cannot load the module (${first})`);
  }
  for (const key of ['default', 'game']) {
    const candidate = mod[key];
    if (isFamily(candidate)) return candidate;
    if (isDefinition(candidate)) return familyOf(candidate);
  }
  throw new OptionError(
    `--game ${game}: the module exports no game (expected \`export default\` or \`export const game\` of a game family { name, params, create } or a game definition)`,
  );
}

function isFamily(v: unknown): v is GameFamily {
  return typeof v === 'object' && v !== null && typeof (v as GameFamily).create === 'function' && typeof (v as GameFamily).params === 'object';
}

function isDefinition(v: unknown): v is GameDefinition {
  return typeof v === 'object' && v !== null && typeof (v as GameDefinition).minorKernel === 'function';
}

function familyOf(def: GameDefinition): GameFamily {
  return { name: def.name || 'user game', description: 'user game definition', params: {}, create: () => def };
}
