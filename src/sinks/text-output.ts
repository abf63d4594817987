/**
 * A text file (or stdout) that the CSV and JSON sinks write their lines to: opened synchronously so a bad path
 * fails before any packet is read, written through a stream whose error is kept and reported by the next call,
 * with backpressure, fsync and an orderly close.
 */
import { closeSync, createWriteStream, fsync, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { SinkError } from './flow-rows.js';

/** Maps an fs error from opening `path` to a one-line SinkError. */
function fsOpenError(path: string, err: unknown): SinkError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why = (err as Error | undefined)?.message ?? String(err);
  switch (code) {
    case 'ENOENT':
      return new SinkError('directory-missing', `cannot create ${path}: directory does not exist`, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new SinkError('not-writable', `cannot write ${path}: permission denied or read-only (${code})`, {
        cause: err,
      });
    case 'EISDIR':
      return new SinkError('not-writable', `cannot write ${path}: it is a directory`, { cause: err });
    default:
      return new SinkError('write-failed', `cannot open ${path}: ${why}`, { cause: err });
  }
}

export interface TextOutputOptions {
  /** Append instead of truncating. */
  append?: boolean;
  /** Stream buffer size in bytes before push() reports backpressure (default 1 MiB). */
  highWaterMark?: number;
  /** Checks the opened file before anything is written (e.g. an appended CSV's header); throws to refuse it. */
  accept?: (fd: number) => void;
}

export class TextOutput {
  readonly out: Writable;
  /** The file's descriptor, or null for stdout. */
  readonly fd: number | null;
  private error: SinkError | null = null;
  private closed = false;
  /** Resolves when the most recent chunk has been handed to the OS. */
  private lastWrite: Promise<void> = Promise.resolve();

  /** Opens `path` synchronously (`-` = stdout); throws SinkError (directory-missing, not-writable, write-failed). */
  constructor(
    readonly path: string,
    /** What the messages call it: "CSV sink", "JSON sink". */
    private readonly what: string,
    options: TextOutputOptions = {},
  ) {
    // "-" arrives as /dev/stdout from the settings; opening that path fails (ENXIO) when stdout is a socket, as
    // under Node's child_process or a socket-activated service, so standard output is written through fd 1.
    if (path === '-' || path === '/dev/stdout') {
      this.out = process.stdout;
      this.fd = null;
    } else {
      let fd: number;
      try {
        fd = openSync(path, options.append === true ? 'a' : 'w', 0o644);
      } catch (err) {
        throw fsOpenError(path, err);
      }
      try {
        options.accept?.(fd);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      this.fd = fd;
      this.out = createWriteStream('', { fd, autoClose: true, highWaterMark: options.highWaterMark ?? 1 << 20 });
    }
    this.out.on('error', (err: unknown) => {
      this.error ??= new SinkError('write-failed', `writing ${path} failed: ${(err as Error).message}`, { cause: err });
    });
  }

  /** Bytes queued for the file and not yet written. */
  get buffered(): number {
    return this.out.writableLength;
  }

  /** Throws the stream's error, if any, or when closed. */
  check(): void {
    if (this.error) throw this.error;
    if (this.closed) throw new SinkError('closed', `${this.what} ${this.path} is closed`);
  }

  /** Queues a chunk (text, or bytes the caller no longer changes); returns false when the stream's buffer is above its high-water mark. */
  push(chunk: string | Uint8Array): boolean {
    let ok = true;
    this.lastWrite = new Promise<void>((resolve, reject) => {
      ok = this.out.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
    this.lastWrite.catch(() => undefined); // surfaced through this.error
    return ok;
  }

  /** Resolves when the buffer has drained (after push() returned false); rejects on a write error. */
  drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        this.out.off('error', onError);
        resolve();
      };
      const onError = (): void => {
        this.out.off('drain', onDrain);
        reject(this.error ?? new SinkError('write-failed', `writing ${this.path} failed`));
      };
      this.out.once('drain', onDrain);
      this.out.once('error', onError);
    });
  }

  /** Waits for every queued chunk and makes the file durable (pipes and devices cannot be synced: nothing to do). */
  async sync(): Promise<void> {
    this.check();
    await this.lastWrite.catch(() => undefined);
    this.check();
    const fd = this.fd;
    if (fd === null) return;
    await new Promise<void>((resolve, reject) =>
      fsync(fd, (err) =>
        err && err.code !== 'EINVAL' && err.code !== 'ENOTSUP'
          ? reject(new SinkError('write-failed', `fsync ${this.path} failed: ${err.message}`))
          : resolve(),
      ),
    );
  }

  /** Writes what is queued and closes the file (stdout stays open); throws the stream's error, if any. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lastWrite.catch(() => undefined);
    if (this.fd !== null) {
      await new Promise<void>((resolve) => {
        if (this.out.destroyed) return resolve();
        this.out.once('close', resolve);
        this.out.end();
      });
    }
    if (this.error) throw this.error;
  }
}
