// The CLI's exit codes (SPEC §10) and the errors that choose them.
import { PermioError } from '../client/errors.js';

export const EXIT = Object.freeze({
  /** Success (for `check`: passed). */
  ok: 0,
  /** `check` denied. */
  denied: 1,
  /** Usage error, including no API key from any source. */
  usage: 2,
  /** The API answered an error (its message on stderr). */
  apiError: 3,
  /** The server could not be reached. */
  unreachable: 4,
});

/** A mistake in how the CLI was called (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The exit code of an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof PermioError) return err.unreachable ? EXIT.unreachable : EXIT.apiError;
  return EXIT.usage;
}
