/**
 * The contract between packet sources and the pipeline: the packet batch layout (defined with the engine, which
 * reads it: engine/packet-batch.ts), the PacketSource interface that the file reader (pcap-source.ts) and the live
 * capture (live-source.ts) both implement, the one error they throw when a capture cannot be opened, and the
 * check, when the addon loads, that native/ writes batches in this layout.
 */
import { META_STRIDE, Meta } from '../engine/packet-batch.js';

export { META_STRIDE, Meta, type PacketBatch } from '../engine/packet-batch.js';

/**
 * A source of packet batches. `data`/`meta` are reused: a batch is valid until the next call to next().
 *
 *   for (let n = src.next(); n > 0; n = src.next()) pipeline.ingest(src.linkType, src.data, src.meta, n);
 */
export interface PacketSource {
  /** The capture file or interface, for messages. */
  readonly name: string;
  /** pcap link type (DLT) of the packets, e.g. 1 for Ethernet. */
  readonly linkType: number;
  /** libpcap's name of it, e.g. "EN10MB" ("DLT_<n>" when libpcap has none). */
  readonly linkTypeName: string;
  readonly snaplen: number;
  /** The BPF filter in effect, if any. */
  readonly filter: string | undefined;
  /** Frame bytes of the current batch. */
  readonly data: Uint8Array;
  /** META_STRIDE numbers per packet of the current batch; see Meta. */
  readonly meta: Float64Array;
  /** Fills data/meta with the next batch and returns its packet count; 0: none (end of a file; none ready live). */
  next(): number;
  /** Packets returned by next() so far. */
  readonly packetsRead: number;
  /** Why the input ended abnormally (a file cut short, an interface gone), else undefined. */
  readonly warning: string | undefined;
  /** Releases the capture. Idempotent; counters and warning stay readable. */
  close(): void;
}

export type CaptureErrorKind =
  | 'not-found'
  | 'permission'
  | 'is-directory'
  | 'not-a-capture'
  | 'empty'
  | 'unsupported'
  | 'bad-filter'
  | 'read-error';

export const CAPTURE_ERROR_KINDS: ReadonlySet<string> = new Set<CaptureErrorKind>([
  'not-found',
  'permission',
  'is-directory',
  'not-a-capture',
  'empty',
  'unsupported',
  'bad-filter',
  'read-error',
]);

/** A capture (file or interface) that cannot be opened. The message is one line naming it and the reason. */
export class CaptureError extends Error {
  readonly kind: CaptureErrorKind;
  /** The file or interface. */
  readonly path: string;

  constructor(kind: CaptureErrorKind, path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CaptureError';
    this.kind = kind;
    this.path = path;
  }
}

/**
 * Throws when the addon writes batches in another layout than META_STRIDE/Meta (an addon built from other
 * sources than this checkout's): every packet would be misread, so nothing is read at all.
 */
export function checkBatchLayout(addon: { META_STRIDE: number; META_FIELDS: Readonly<Record<string, number>> }): void {
  const problems: string[] = [];
  if (addon.META_STRIDE !== META_STRIDE) problems.push(`META_STRIDE ${addon.META_STRIDE}, expected ${META_STRIDE}`);
  for (const [field, offset] of Object.entries(Meta)) {
    const got = addon.META_FIELDS?.[field];
    if (got !== offset) problems.push(`${field} at ${String(got)}, expected ${offset}`);
  }
  if (problems.length > 0) {
    throw new Error(`native addon writes another packet batch layout (${problems.join('; ')}): rebuild it with npm install`);
  }
}
