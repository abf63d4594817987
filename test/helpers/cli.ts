/** Run the built `sensor` command (bin/sensor.js → dist/) as a user would, capturing its output. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SENSOR = fileURLToPath(new URL('../../bin/sensor.js', import.meta.url));
/** The shared workspace (reference captures, corpus, lab data), when this checkout sits next to it. */
export const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function sensor(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [SENSOR, ...args], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    cwd: opts.cwd ?? ROOT,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
