/**
 * Process exit codes. Scripts rely on these; README documents them.
 */
export const ExitCode = {
  /** Everything read was processed and written. */
  Ok: 0,
  /** An unexpected internal error (a bug): the message says what. */
  Internal: 1,
  /** Bad command line or configuration. */
  Usage: 2,
  /** An input could not be read: missing, unreadable, not a capture, bad BPF filter. */
  Input: 3,
  /** An output could not be written: database or CSV path missing, read-only, locked, wrong profile. */
  Output: 4,
  /** `sensor models drift`: some input of the run drifted beyond the threshold (PSI) from the training data. */
  Drift: 5,
  /** Interrupted by SIGINT/SIGTERM: flows seen so far were written. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
