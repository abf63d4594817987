/**
 * The python3 the training tests run: Debian's /usr/bin/python3 first (a pyenv shim may shadow it on PATH),
 * $PYTHON when set, else python3 on PATH; the first that can import every module asked for.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function findPython(modules: readonly string[]): string | undefined {
  for (const py of [process.env.PYTHON, '/usr/bin/python3', 'python3']) {
    if (!py) continue;
    try {
      execFileSync(py, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
      return py;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** A training script's check file (`--check-dir`: rows.f64, ids.f64, proba.f64): little-endian float64 values. */
export function readFloat64(file: string): Float64Array {
  const b = readFileSync(file);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
