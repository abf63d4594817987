/**
 * The packet thread (the one that reads the source and runs the engine) first: the threads that work behind it (the models' inference thread, the CSV and SQLite
 * writers) run some nice steps below it. On a busy machine (two cores, a replay's four or five busy threads) the
 * scheduler then gives the packet thread a core whenever it can run, and the work behind it takes the time left;
 * a thread that falls behind makes the packet thread wait (every such thread is bounded: batches in flight), so
 * nothing is starved for long. Linux keeps a nice value per thread; elsewhere this does nothing. Here, with the
 * sources, so that every later stage's thread (classify/worker.ts, sinks/csv-worker.ts, sinks/sqlite-worker.ts) can
 * import it.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Nice steps below the packet thread, by default (`--thread-nice`). */
export const DEFAULT_THREAD_NICE = 10;

let threadNiceSteps = DEFAULT_THREAD_NICE;

/** The run's setting (`--thread-nice`, 0 = the same priority): read by the threads started from now on. */
export function setThreadNice(steps: number): void {
  threadNiceSteps = steps;
}

/** How many nice steps a thread behind the packet thread lowers itself by (its creator passes it on in workerData). */
export function threadNice(): number {
  return threadNiceSteps;
}

/**
 * Lower the calling thread's priority by `steps` nice steps (at most to 19). Returns the thread's nice value after,
 * or null when it cannot (not Linux: no /proc/thread-self; a sandbox that forbids it).
 */
export function lowerThisThread(steps: number): number | null {
  if (!(steps > 0)) return null;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return null;
    const to = Math.min(19, getPriority(tid) + Math.floor(steps));
    setPriority(tid, to);
    return getPriority(tid);
  } catch {
    return null;
  }
}
