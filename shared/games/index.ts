// The built-in game families, by name.
import type { GameFamily } from '../model.ts';
import { advertisement } from './advertisement.ts';
import { buffet } from './buffet.ts';
import { cyber } from './cyber.ts';
import { sis } from './sis.ts';

export const builtinGames: Readonly<Record<string, GameFamily>> = { sis, buffet, advertisement, cyber };
export { advertisement, buffet, cyber, sis };
