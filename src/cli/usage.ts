/**
 * What every `sensor` command line shares: yargs only tokenizes and prints --help; a usage problem becomes a
 * UsageError (exit 2) that the command reports in its own words.
 */
import { statSync } from 'node:fs';
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

/**
 * yargs reads a lone "-" as a positional argument: after one of `flags` it is that flag's value, so it is glued
 * to it (`--out -` → `--out=-`).
 */
export function keepDashValues(argv: readonly string[], flags: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    const last = out.length - 1;
    if (a === '-' && last >= 0 && flags.includes(out[last]!)) out[last] += '=-';
    else out.push(a);
  }
  return out;
}

/** Whether two paths name the same existing file (so writing one would truncate the other). */
export function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}
