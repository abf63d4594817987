/**
 * The engine's input: a packet batch, as every packet source fills it (src/sources/batch.ts re-exports this and
 * checks the native addon against it when the addon loads). Here, below the sources, so the engine names the
 * fields it reads without importing a source; no imports, no code.
 *
 * A batch is `count` packets: their frame bytes in `data`, and per packet a row of META_STRIDE numbers in `meta`
 * (row i starts at i * META_STRIDE) holding the fields below.
 */

/** Float64 slots per packet in `meta`. */
export const META_STRIDE = 6;

/** Offsets inside one packet's META_STRIDE-long row of `meta`. */
export const Meta = {
  /** Seconds since the epoch. */
  TsSec: 0,
  /** Nanoseconds, 0..999999999 (µs files are scaled; pcapng if_tsresol honoured). */
  TsNsec: 1,
  /** Bytes of the frame present in `data`. */
  CapLen: 2,
  /** Original length on the wire (may be < CapLen in a corrupt file: passed through). */
  WireLen: 3,
  /** Byte offset of the frame in `data`. */
  Offset: 4,
  /** pcap link type (DLT) of the frame. */
  LinkType: 5,
} as const;

/** One batch: valid until the source's next call fills the same buffers again. */
export interface PacketBatch {
  readonly data: Uint8Array;
  readonly meta: Float64Array;
  readonly count: number;
}
