/**
 * Retention for the live daemon's database: flows whose first packet is older than `days` days are deleted by a
 * worker thread (retention-worker.ts) with its own connection, in chunks, off the packet path.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The compiled worker next to this module (dist/), or dist/'s when running from src/ (vitest). */
function workerUrl(): URL {
  const sibling = new URL('./retention-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../dist/sinks/retention-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`retention worker script not found (${fileURLToPath(sibling)} or ${fileURLToPath(built)}): run "npm run build"`);
}

/** Deletes the flows of `db` that started more than `days` days ago; resolves with the number deleted. */
export function runRetention(db: string, days: number): Promise<number> {
  const cutoffUs = Math.floor((Date.now() - days * 86400_000) * 1000);
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl(), { workerData: { db, cutoffUs } });
    w.unref();
    w.once('message', (n: number) => resolve(n));
    w.once('error', reject);
    w.once('exit', (c) => (c !== 0 ? reject(new Error(`retention worker exited with code ${c}`)) : undefined));
  });
}
