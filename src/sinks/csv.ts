/**
 * CSV output, byte-compatible with the reference CICFlowMeter CSVs: header = identity names, feature names,
 * label name joined by `,`; no quoting; LF line endings; integers as Java `long`, doubles as Java
 * `Double.toString`.
 *
 * Ownership: write() reads the batch synchronously (it formats the text before returning), so the caller may
 * reuse or mutate the FlowRows as soon as write() returns, even if it returned a promise.
 */
import { openSync, fsync, createWriteStream, fstatSync, readSync, closeSync, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { CellKind, SinkError, type FlowRows, type FlowSink, type ProfileColumns } from './flow-rows.js';
import { javaDouble, javaLong } from './java-format.js';

export interface CsvSinkOptions {
  /** Stream buffer size in bytes before write() applies backpressure (default 1 MiB). */
  highWaterMark?: number;
  /**
   * Append to an existing file instead of truncating it (the live daemon: a restart must not erase flows). The
   * header is written only when the file is empty; a file that starts with another header is refused
   * ('profile-mismatch').
   */
  append?: boolean;
}

/** Maps an fs error from opening `path` to a one-line SinkError. */
export function fsOpenError(path: string, err: unknown): SinkError {
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

export class CsvSink implements FlowSink {
  private readonly out: Writable;
  private readonly fd: number | null;
  private readonly toStdout: boolean;
  private readonly nFeatures: number;
  private error: SinkError | null = null;
  private closed = false;
  /** Resolves when the most recent chunk has been handed to the OS. */
  private lastWrite: Promise<void> = Promise.resolve();

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
    this.toStdout = path === '-';
    if (this.toStdout) {
      this.out = process.stdout;
      this.fd = null;
    } else {
      let fd: number;
      try {
        fd = openSync(path, options.append === true ? 'a' : 'w', 0o644);
      } catch (err) {
        throw fsOpenError(path, err);
      }
      if (options.append === true && !appendableHeader(path, fd, headerLine(columns))) {
        closeSync(fd);
        throw new SinkError('profile-mismatch', `${path} holds CSV of another profile or format (its first line differs): use another file`);
      }
      this.fd = fd;
      const ws: WriteStream = createWriteStream('', {
        fd,
        autoClose: true,
        highWaterMark: options.highWaterMark ?? 1 << 20,
      });
      this.out = ws;
    }
    this.out.on('error', (err: unknown) => {
      this.error ??= new SinkError('write-failed', `writing ${path} failed: ${(err as Error).message}`, {
        cause: err,
      });
    });
    if (this.fd === null || options.append !== true || fstatSync(this.fd).size === 0) this.push(headerLine(columns));
  }

  write(rows: FlowRows): void | Promise<void> {
    this.check();
    if (rows.count === 0) return;
    if (this.push(this.format(rows))) return;
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

  /** Formats a batch as CSV lines (exposed for tests and for callers that want the text). */
  format(rows: FlowRows): string {
    const F = this.nFeatures;
    const { features, kinds, ids, labels } = rows;
    // kinds is row-major like features; a kinds array of exactly one row is accepted as per-column kinds.
    const kindStride = kinds.length >= rows.count * F ? F : 0;
    const defaultLabel = this.columns.defaultLabel;
    let text = '';
    for (let i = 0; i < rows.count; i++) {
      const id = ids[i];
      if (id === undefined) throw new RangeError(`FlowRows.ids has ${ids.length} entries, count is ${rows.count}`);
      let line = `${id.flowId},${id.srcIp},${id.srcPort},${id.dstIp},${id.dstPort},${id.protocol},${id.timestamp}`;
      const base = i * F;
      const kbase = i * kindStride;
      for (let j = 0; j < F; j++) {
        const v = features[base + j] as number;
        line += kinds[kbase + j] === CellKind.Int ? `,${javaLong(v)}` : `,${javaDouble(v)}`;
      }
      const label = labels?.[i];
      text += `${line},${label ?? defaultLabel}\n`;
    }
    return text;
  }

  async flush(): Promise<void> {
    this.check();
    await this.lastWrite.catch(() => undefined);
    this.check();
    const fd = this.fd;
    if (fd !== null) {
      await new Promise<void>((resolve, reject) =>
        fsync(fd, (err) =>
          // Character devices and pipes (/dev/null, a FIFO) cannot be synced: nothing to make durable there.
          err && err.code !== 'EINVAL' && err.code !== 'ENOTSUP'
            ? reject(new SinkError('write-failed', `fsync ${this.path} failed: ${err.message}`))
            : resolve(),
        ),
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lastWrite.catch(() => undefined);
    if (this.toStdout) {
      if (this.error) throw this.error;
      return;
    }
    await new Promise<void>((resolve) => {
      if (this.out.destroyed) return resolve();
      this.out.once('close', resolve);
      this.out.end();
    });
    if (this.error) throw this.error;
  }

  private check(): void {
    if (this.error) throw this.error;
    if (this.closed) throw new SinkError('closed', `CSV sink ${this.path} is closed`);
  }

  /** Queues a chunk; returns false when the stream's buffer is above its high-water mark. */
  private push(chunk: string): boolean {
    let ok = true;
    this.lastWrite = new Promise<void>((resolve, reject) => {
      ok = this.out.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
    this.lastWrite.catch(() => undefined); // surfaced through this.error
    return ok;
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
