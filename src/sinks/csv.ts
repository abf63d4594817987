/**
 * CSV output, byte-compatible with the reference CICFlowMeter CSVs: header = identity names, feature names,
 * label name joined by `,`; no quoting; LF line endings; integers as Java `long`, doubles as Java
 * `Double.toString`.
 *
 * Ownership: write() reads the batch synchronously (it formats the text before returning), so the caller may
 * reuse or mutate the FlowRows as soon as write() returns, even if it returned a promise.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CellKind, SinkError, type FlowRows, type FlowSink, type ProfileColumns } from './flow-rows.js';
import { javaDouble, javaLong } from './java-format.js';
import { TextOutput } from './text-output.js';
import { IdentityText } from '../features/identity-text.js';

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

export class CsvSink implements FlowSink {
  private readonly file: TextOutput;
  private readonly nFeatures: number;
  /** The identity's text, made here, once per row written. */
  private readonly identity: IdentityText;

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
    this.identity = new IdentityText(columns.identityFormat);
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
  }

  write(rows: FlowRows): void | Promise<void> {
    this.file.check();
    if (rows.count === 0) return;
    if (this.file.push(this.format(rows))) return;
    return this.file.drained();
  }

  /** Formats a batch as CSV lines (exposed for tests and for callers that want the text). */
  format(rows: FlowRows): string {
    const F = this.nFeatures;
    const { features, kinds, labels } = rows;
    const id = this.identity;
    // kinds is row-major like features; a kinds array of exactly one row is accepted as per-column kinds.
    const kindStride = kinds.length >= rows.count * F ? F : 0;
    const defaultLabel = this.columns.defaultLabel;
    let text = '';
    for (let i = 0; i < rows.count; i++) {
      id.read(rows, i);
      let line = `${id.flowId},${id.srcIp},${rows.srcPorts[i]},${id.dstIp},${rows.dstPorts[i]},${rows.protocols[i]},${id.timestamp}`;
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

  flush(): Promise<void> {
    return this.file.sync();
  }

  close(): Promise<void> {
    return this.file.close();
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
