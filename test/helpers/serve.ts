/**
 * `sensor serve` started as a user starts it, for the tests that query its HTTP API (serve.test.ts,
 * app-model.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT, SENSOR } from './cli.js';

export interface Served {
  proc: ChildProcess;
  base: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Start `sensor serve ARGS` and wait for its "listening on" line (port 0: the kernel picks one). */
export function serve(args: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [SENSOR, 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sensor serve did not start: ${err}`)), 30_000);
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /listening on (http:\/\/[^/]+)\//.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: m[1]!, stderr: () => err, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sensor serve exited (${code}): ${err}`));
    });
  });
}
