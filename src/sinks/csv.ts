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
import { TextBytes } from './text-bytes.js';
import { TextOutput } from './text-output.js';
import { IdentityText } from '../features/identity-text.js';

const COMMA = 44;
const DASH = 45;
const NEWLINE = 10;

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
    if (this.file.push(this.formatBytes(rows))) return;
    return this.file.drained();
  }

  /** Formats a batch as CSV lines (for tests and for callers that want the text). */
  format(rows: FlowRows): string {
    return this.formatBytes(rows).toString('utf8');
  }

  /** A batch's CSV lines as UTF-8 bytes, in a Buffer of their own (the file's stream keeps it until written). */
  formatBytes(rows: FlowRows): Buffer {
    const F = this.nFeatures;
    const { features, kinds, labels } = rows;
    const id = this.identity;
    // kinds is row-major like features; a kinds array of exactly one row is accepted as per-column kinds.
    const kindStride = kinds.length >= rows.count * F ? F : 0;
    const defaultLabel = this.columns.defaultLabel;
    const out = new TextBytes(rows.count * (160 + 12 * F));
    for (let i = 0; i < rows.count; i++) {
      id.read(rows, i, false);
      const label = labels?.[i] ?? defaultLabel;
      // A line's worst case: the addresses twice (Flow ID and columns), ports and protocol twice, the timestamp,
      // 26 bytes a feature, the label in UTF-8, commas and the newline.
      out.reserve(2 * (id.srcIp.length + id.dstIp.length) + id.timestamp.length + 64 + 26 * F + 3 * label.length);
      const sp = rows.srcPorts[i]!;
      const dp = rows.dstPorts[i]!;
      const proto = rows.protocols[i]!;
      // Flow ID: `src-dst-sport-dport-proto`, or destination first in the 2017 build's canonical order.
      if (id.flowIdReversed) {
        out.ascii(id.dstIp);
        out.byte(DASH);
        out.ascii(id.srcIp);
        out.byte(DASH);
        out.digits(dp);
        out.byte(DASH);
        out.digits(sp);
      } else {
        out.ascii(id.srcIp);
        out.byte(DASH);
        out.ascii(id.dstIp);
        out.byte(DASH);
        out.digits(sp);
        out.byte(DASH);
        out.digits(dp);
      }
      out.byte(DASH);
      out.digits(proto);
      out.byte(COMMA);
      out.ascii(id.srcIp);
      out.byte(COMMA);
      out.digits(sp);
      out.byte(COMMA);
      out.ascii(id.dstIp);
      out.byte(COMMA);
      out.digits(dp);
      out.byte(COMMA);
      out.digits(proto);
      out.byte(COMMA);
      out.ascii(id.timestamp);
      const base = i * F;
      const kbase = i * kindStride;
      for (let j = 0; j < F; j++) {
        const v = features[base + j]!;
        if (kinds[kbase + j] === CellKind.Int) out.commaLong(v);
        else out.commaDouble(v);
      }
      out.byte(COMMA);
      out.text(label);
      out.byte(NEWLINE);
    }
    return out.bytes();
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
