/** Run the built `sensor` command (bin/sensor.js → dist/) as a user would, capturing its output. */
import { spawn } from 'node:child_process';
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

/** Runs `sensor ARGS` (the built CLI) with runCommand. */
export function sensor(args: string[], opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runCommand(process.execPath, [SENSOR, ...args], opts);
}
