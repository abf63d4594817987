/**
 * CSV output, byte-compatible with the reference CICFlowMeter CSVs: header = identity names, feature names,
 * label name joined by `,`; no quoting; LF line endings; integers as Java `long`, doubles as Java
 * `Double.toString` (the lines: csv-lines.ts).
 *
 * With `thread: true` (what the CLI uses) the lines are made in a thread of their own (csv-worker.ts), which sends
 * each batch's bytes back in order; the file is written from here as before. On a flood the lines were most of
 * the main thread's work after the engine's.
 *
 * Ownership: write() reads the batch synchronously (it formats the text, or copies what the text needs for the
 * thread, before returning), so the caller may reuse or mutate the FlowRows as soon as write() returns, even if
 * it returned a promise. flush() and close() wait for every batch written before them.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { threadNice } from '../sources/thread-priority.js';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SinkError, type FlowRows, type FlowSink, type ProfileColumns } from './flow-rows.js';
import { csvBatchCopy, CsvLines } from './csv-lines.js';
import type { CsvWorkerInit, FromCsvWorker, ToCsvWorker } from './csv-worker.js';
import { TextOutput } from './text-output.js';

/** Batches the thread may hold before write() makes its caller wait (the SQLite writer's bound is alike). */
const MAX_IN_FLIGHT = 4;

export interface CsvSinkOptions {
  /** Stream buffer size in bytes before write() applies backpressure (default 1 MiB). */
  highWaterMark?: number;
  /**
   * Append to an existing file instead of truncating it (the live daemon: a restart must not erase flows). The
   * header is written only when the file is empty; a file that starts with another header is refused
   * ('profile-mismatch').
   */
  append?: boolean;
  /** Make the lines in a thread of their own (csv-worker.ts); same bytes, same order. */
  thread?: boolean;
}

/** Resolves the compiled worker script: next to this module (dist/), else dist/sinks/ (sources under vitest). */
function workerUrl(): URL {
  const sibling = new URL('./csv-worker.js', import.meta.url);
  if (sibling.protocol !== 'file:' || existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../dist/sinks/csv-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`CSV worker script not found (${fileURLToPath(sibling)} or ${fileURLToPath(built)}): run "npm run build"`);
}

export class CsvSink implements FlowSink {
  private readonly file: TextOutput;
  private readonly nFeatures: number;
  private readonly csv: CsvLines;
  private readonly worker: Worker | null = null;
  private seq = 0;
  /** Batches sent to the thread whose lines have not come back. */
  private inFlight = 0;
  /** Set while the file's stream is above its high-water mark (write() waits then). */
  private draining: Promise<void> | null = null;
  /** Callers of write() waiting for room, and of flush()/close() waiting for every batch. */
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private idleWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private failure: SinkError | null = null;

  /**
   * Opens (truncates) `path` synchronously and writes the header; `-` writes to stdout.
   * Throws SinkError (directory-missing, not-writable, write-failed) when the file cannot be created.
   */
  constructor(
    readonly path: string,
    private readonly columns: ProfileColumns,
    options: CsvSinkOptions = {},
  ) {
    this.nFeatures = columns.featureNames.length;
    this.csv = new CsvLines(this.nFeatures, columns.identityFormat, columns.defaultLabel);
    const append = options.append === true;
    this.file = new TextOutput(path, 'CSV sink', {
      append,
      highWaterMark: options.highWaterMark,
      accept: (fd) => {
        if (append && !appendableHeader(path, fd, headerLine(columns))) {
          throw new SinkError('profile-mismatch', `${path} holds CSV of another profile or format (its first line differs): use another file`);
        }
      },
    });
    const fd = this.file.fd;
    if (fd === null || !append || fstatSync(fd).size === 0) this.file.push(headerLine(columns));
    if (options.thread === true) {
      const init: CsvWorkerInit = { featureCount: this.nFeatures, identityFormat: columns.identityFormat, defaultLabel: columns.defaultLabel, nice: threadNice() };
      const worker = new Worker(workerUrl(), { workerData: init });
      worker.on('message', (m: FromCsvWorker) => this.onLines(m));
      worker.on('error', (err) => this.fail(new SinkError('write-failed', `the CSV writer thread for ${path} failed: ${err.message}`, { cause: err })));
      worker.on('exit', (code) => this.fail(new SinkError('write-failed', `the CSV writer thread for ${path} stopped (exit code ${code})`)));
      worker.unref(); // ref'd only while it owes lines
      this.worker = worker;
    }
  }

  write(rows: FlowRows): void | Promise<void> {
    this.check();
    if (rows.count === 0) return;
    if (this.worker === null) {
      if (this.file.push(this.csv.lines(rows))) return;
      return this.file.drained();
    }
    const transfer: ArrayBuffer[] = [];
    const msg: ToCsvWorker = { seq: ++this.seq, batch: csvBatchCopy(rows, this.nFeatures, transfer) };
    this.worker.ref();
    this.worker.postMessage(msg, transfer);
    this.inFlight++;
    if (this.inFlight <= MAX_IN_FLIGHT && this.draining === null) return;
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Formats a batch as CSV lines (for tests and for callers that want the text). */
  format(rows: FlowRows): string {
    return this.csv.lines(rows).toString('utf8');
  }

  /** Waits for every batch written so far, then makes the file durable. */
  async flush(): Promise<void> {
    await this.idle();
    return this.file.sync();
  }

  /** Writes every batch written so far and closes the file (and the thread). */
  async close(): Promise<void> {
    // A failed thread leaves this.failure set: the file is still closed with what reached it, then it is thrown.
    await this.idle().catch(() => undefined);
    if (this.worker) {
      this.worker.removeAllListeners('exit');
      await this.worker.terminate();
    }
    await this.file.close();
    if (this.failure) throw this.failure;
  }

  private check(): void {
    if (this.failure) throw this.failure;
    this.file.check();
  }

  /** The lines of the oldest batch in flight (the thread answers in order): to the file, in order. */
  private onLines(m: FromCsvWorker): void {
    if (this.failure) return;
    this.inFlight--;
    if (this.inFlight === 0) this.worker!.unref();
    if (!this.file.push(Buffer.from(m.bytes, 0, m.length)) && this.draining === null) {
      this.draining = this.file.drained().then(
        () => {
          this.draining = null;
          this.wake();
        },
        (e: unknown) => this.fail(e instanceof SinkError ? e : new SinkError('write-failed', `writing ${this.path} failed: ${String(e)}`)),
      );
    }
    this.wake();
  }

  private wake(): void {
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const x of w) x.resolve();
    }
    if (this.inFlight <= MAX_IN_FLIGHT && this.draining === null && this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const x of w) x.resolve();
    }
  }

  /** Resolves once the thread has no batch left (its lines are queued for the file). */
  private idle(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.idleWaiters.push({ resolve, reject }));
  }

  private fail(err: SinkError): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of [...this.waiters, ...this.idleWaiters]) w.reject(err);
    this.waiters = [];
    this.idleWaiters = [];
    this.worker?.unref();
  }
}

/** For append: true when the file behind `fd` is empty or begins with `header`. */
function appendableHeader(path: string, fd: number, header: string): boolean {
  const st = fstatSync(fd);
  if (!st.isFile() || st.size === 0) return true;
  const want = Buffer.from(header);
  const got = Buffer.alloc(want.length);
  const rfd = openSync(path, 'r');
  try {
    const n = readSync(rfd, got, 0, want.length, 0);
    return n === want.length && got.equals(want);
  } finally {
    closeSync(rfd);
  }
}

/** The header line (with its LF) of a profile. */
export function headerLine(columns: ProfileColumns): string {
  return `${[...columns.identityNames, ...columns.featureNames, columns.labelName].join(',')}\n`;
}
