/**
 * The CSV lines of a batch of flows, as bytes: what the CSV sink writes (csv.ts), in its own thread
 * (csv-worker.ts) or in the caller's. The text is the reference CICFlowMeter's: identity, features (Java `long` or
 * `Double.toString` by the cell's kind), label; no quoting; LF line endings.
 */
import type { FlowIdentityColumns, FlowRows, IdentityFormat } from './flow-rows.js';
import { CellKind, copyIdentityColumns } from './flow-rows.js';
import { IdentityText } from '../features/identity-text.js';
import { TextBytes } from './text-bytes.js';

const COMMA = 44;
const DASH = 45;
const NEWLINE = 10;

/** What the lines are made of: a FlowRows, or the copy of one that crosses to the writer's thread. */
export interface CsvBatch extends FlowIdentityColumns {
  count: number;
  features: Float64Array;
  kinds: Uint8Array;
  labels?: readonly (string | null)[];
}

/** The parts of a batch the CSV lines read, copied for another thread (`transfer`: the copies' buffers). */
export function csvBatchCopy(rows: FlowRows, featureCount: number, transfer: ArrayBuffer[]): CsvBatch {
  const n = rows.count;
  // kinds is row-major like features; a kinds array of exactly one row is accepted as per-column kinds.
  const kindCells = rows.kinds.length >= n * featureCount ? n * featureCount : rows.kinds.length;
  const c: CsvBatch = {
    count: n,
    features: rows.features.slice(0, n * featureCount),
    kinds: rows.kinds.slice(0, kindCells),
    ...copyIdentityColumns(rows, n, transfer),
  };
  transfer.push(c.features.buffer as ArrayBuffer, c.kinds.buffer as ArrayBuffer);
  if (rows.labels) c.labels = rows.labels.slice(0, n);
  return c;
}

export class CsvLines {
  /** The identity's text, made here, once per row written. */
  private readonly identity: IdentityText;

  constructor(
    private readonly nFeatures: number,
    identityFormat: IdentityFormat,
    private readonly defaultLabel: string,
  ) {
    this.identity = new IdentityText(identityFormat);
  }

  /** A batch's CSV lines as UTF-8 bytes, in a Buffer of its own (never a pooled one: it may be transferred). */
  lines(rows: CsvBatch): Buffer {
    const F = this.nFeatures;
    const { features, kinds, labels } = rows;
    const id = this.identity;
    // kinds is row-major like features; a kinds array of exactly one row is accepted as per-column kinds.
    const kindStride = kinds.length >= rows.count * F ? F : 0;
    const defaultLabel = this.defaultLabel;
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
      const rev = id.flowIdReversed;
      out.ascii(rev ? id.dstIp : id.srcIp);
      out.byte(DASH);
      out.ascii(rev ? id.srcIp : id.dstIp);
      out.byte(DASH);
      out.digits(rev ? dp : sp);
      out.byte(DASH);
      out.digits(rev ? sp : dp);
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
}
