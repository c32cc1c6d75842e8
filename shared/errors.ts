// Named error classes. Each wraps its low-level cause (`{ cause }`) where there is one.

/** A game definition or a parameter value that fails validation. */
export class GameDefinitionError extends Error {
  override name = 'GameDefinitionError';
  constructor(
    readonly game: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`game '${game}': ${message}`, options);
  }
}

/** A bad user option (CLI flag, solver option). */
export class OptionError extends Error {
  override name = 'OptionError';
}

/** An internal invariant that failed at run time (probability mass, shapes). */
export class InvariantError extends Error {
  override name = 'InvariantError';
}
