/**
 * The CSV sink's thread (csv.ts `thread: true`): makes each batch's lines and sends their bytes back, in the order
 * the batches came. The file stays the sink's on the main thread (errors, backpressure, fsync, rotation); what
 * moves here is the formatting, most of a flood's CSV cost.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThread } from '../sources/thread-priority.js';
import type { IdentityFormat } from './flow-rows.js';
import { CsvLines, type CsvBatch } from './csv-lines.js';

export interface CsvWorkerInit {
  featureCount: number;
  /** Nice steps below the packet thread this thread lowers itself by (sources/thread-priority.ts); absent = 0. */
  nice?: number;
  identityFormat: IdentityFormat;
  defaultLabel: string;
}
export interface ToCsvWorker {
  seq: number;
  batch: CsvBatch;
}
export interface FromCsvWorker {
  seq: number;
  /** The lines' bytes: `length` bytes from the start of the (transferred) buffer. */
  bytes: ArrayBuffer;
  length: number;
}

const init = workerData as CsvWorkerInit;
// Behind the packet thread (sources/thread-priority.ts).
lowerThisThread(init.nice ?? 0);
const csv = new CsvLines(init.featureCount, init.identityFormat, init.defaultLabel);
parentPort!.on('message', (m: ToCsvWorker) => {
  const b = csv.lines(m.batch);
  const reply: FromCsvWorker = { seq: m.seq, bytes: b.buffer as ArrayBuffer, length: b.length };
  parentPort!.postMessage(reply, [reply.bytes]);
});
