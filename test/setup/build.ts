/**
 * Builds dist/ (tsc -p tsconfig.json) so that code running in worker threads (dist/sinks/sqlite-worker.js)
 * exists and is current while tests run the TypeScript sources.
 *
 * Usable as a vitest globalSetup (`globalSetup: ['test/setup/build.ts']`) and callable from a test's beforeAll
 * (`await ensureBuilt(['src/sinks/sqlite-worker.ts', ...])`), which rebuilds only when a listed source is newer
 * than its compiled file.
 *
 * tsc emits even when some other file of the project has type errors (noEmitOnError is off); such errors are
 * reported as a warning here, not a failure, as long as the outputs the caller needs were written.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** dist/ path of a src/ TypeScript file. */
export function distPath(src: string): string {
  const rel = relative(join(ROOT, 'src'), resolve(ROOT, src));
  return join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
}

function stale(sources: readonly string[]): boolean {
  return sources.some((src) => {
    const out = distPath(src);
    return !existsSync(out) || statSync(out).mtimeMs < statSync(resolve(ROOT, src)).mtimeMs;
  });
}

/** Runs tsc once. Throws only if tsc could not run or a needed output is missing or stale afterwards. */
export function build(needed: readonly string[] = []): void {
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: ROOT,
      stdio: 'pipe',
      encoding: 'utf8',
    });
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '');
    if (out === '' || stale(needed)) throw new Error(`tsc -p tsconfig.json failed:\n${out}${String(err)}`);
    console.warn(`[build] tsc reported type errors (outputs were still emitted):\n${out}`);
  }
}

/** Builds when one of `sources` (paths relative to the repo root) has no current compiled file. */
export function ensureBuilt(sources: readonly string[]): void {
  if (stale(sources)) build(sources);
}

/** vitest globalSetup entry. */
export default function setup(): void {
  build();
}
