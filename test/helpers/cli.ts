/** Run the built `sensor` command (bin/sensor.js → dist/) as a user would, capturing its output; run other commands. */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SENSOR = fileURLToPath(new URL('../../bin/sensor.js', import.meta.url));
/** The shared workspace (reference captures, corpus, lab data), when this checkout sits next to it. */
export const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a command asynchronously (a synchronous spawn would block vitest's worker and its RPC), collecting its
 * output; kills it with SIGKILL after `timeoutMs` and reports `timedOut`. Every test that runs a process uses this.
 */
export function runCommand(cmd: string, args: string[], opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, timedOut });
    });
  });
}

/** A finished command's stdout; throws, naming the command, how it ended and its stderr, unless it exited 0. */
export function checked(cmd: string, args: string[], r: CliResult): string {
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** runCommand() that must succeed (see checked()); resolves with the command's stdout. */
export async function mustRun(cmd: string, args: string[], opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return checked(cmd, args, await runCommand(cmd, args, opts));
}

/**
 * Whether `cmd args` runs and exits 0: for "is this tool installed" checks at collection time, where a short
 * synchronous, bounded call is fine (tests themselves use runCommand).
 */
export function commandWorks(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs `sensor ARGS` (the built CLI) with runCommand. */
export function sensor(args: string[], opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runCommand(process.execPath, [SENSOR, ...args], opts);
}
