/**
 * What every `sensor` command line shares: yargs only tokenizes and prints --help; a usage problem becomes a
 * UsageError (exit 2) that the command reports in its own words.
 */
import type { Argv } from 'yargs';

export class UsageError extends Error {}

/** Strict options (a misspelt flag is an error), --help, no --version, errors thrown as UsageError. */
export function strictCommandLine<T>(y: Argv<T>): Argv<T> {
  return y
    .strict()
    .version(false)
    .help()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw new UsageError(err?.message ?? msg);
    });
}
