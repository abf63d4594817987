/**
 * Vitest global setup: before any test runs, bring the built CLI up to date, so `npx vitest run test/x.test.ts`
 * never runs a stale dist/ (the CLI tests spawn bin/sensor.js, which loads dist/) or a stale addon. Builds only
 * what is older than its sources: the addon (node-gyp, as npm install does) when a file of native/src is newer
 * or it is missing; dist/ (tsc) when a file of src/ is newer than its compiled file or that is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ADDON = join(ROOT, 'native/build/Release/sensor_pcap.node');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

const mtime = (path: string): number => (existsSync(path) ? statSync(path).mtimeMs : -Infinity);

function run(what: string, cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`global setup: ${what} failed (${cmd} ${args.join(' ')}):\n${r.stdout}${r.stderr}`);
}

/** The compiled files that are missing or older than their source, as paths under src/. */
export function staleSources(): string[] {
  return files(join(ROOT, 'src'))
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => mtime(join(ROOT, 'dist', relative(join(ROOT, 'src'), f)).replace(/\.ts$/, '.js')) < statSync(f).mtimeMs)
    .map((f) => relative(ROOT, f));
}

export default function setup(): void {
  const addon = mtime(ADDON);
  if (files(join(ROOT, 'native/src')).some((f) => statSync(f).mtimeMs > addon)) {
    run('building the native addon', 'npm', ['run', '--silent', 'install']);
  }
  if (staleSources().length > 0) run('compiling src/ into dist/', process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
}
