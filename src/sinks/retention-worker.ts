/**
 * Retention worker (sinks/retention.ts starts it): deletes the flows whose first packet is older than the cutoff,
 * in chunks, with its own connection, so the SQLite sink's writer never waits long for the lock. Posts the number
 * of rows deleted, then exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { RETENTION_SQL } from './sqlite-schema.js';

/** Rows per DELETE (its LIMIT): small enough that the flow writer gets the lock between chunks. */
const CHUNK = 2000;

const { db: path, cutoffUs } = workerData as { db: string; cutoffUs: number };
const db = new Database(path, { timeout: 30000 });
let deleted = 0;
try {
  const has = db.prepare(RETENTION_SQL.present).get();
  if (has) {
    const del = db.prepare(RETENTION_SQL.deleteChunk);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const n = del.run(cutoffUs, CHUNK).changes;
      deleted += n;
      if (n < CHUNK) break;
      Atomics.wait(pause, 0, 0, 5); // let the flow writer take the lock between chunks
    }
  }
} finally {
  db.close();
}
parentPort!.postMessage(deleted);
