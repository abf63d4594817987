/**
 * The server name of each open flow (decode/server-name.ts reads it), in typed arrays indexed by flow slot: a name
 * slab of SERVER_NAME_MAX bytes a slot, its length, and per direction the payload packets already looked at. The
 * engine looks only while the flow has no name and has sent fewer than LOOK_PACKETS payload packets that way, so a
 * long flow costs one comparison a packet. Reset when a flow starts in the slot; nothing allocated after
 * construction (the slab's pages are committed only as names are written).
 */
import { SERVER_NAME_MAX, ServerNameRead, ServerNameReader } from '../decode/server-name.js';

/** Payload packets looked at in each direction before giving up (the contract's bound). */
export const LOOK_PACKETS = 4;

/** Where the reads are counted: indices into the engine's counters (engine/counters.ts). */
export interface NameCounters {
  counts: Float64Array;
  /** Names kept (truncated ones included). */
  found: number;
  /** Names longer than SERVER_NAME_MAX, kept cut. */
  truncated: number;
  /** Names with a byte outside printable ASCII, dropped (the flow keeps no name). */
  notPrintable: number;
}

export class ServerNames {
  /** Per slot: SERVER_NAME_MAX bytes. */
  readonly bytes: Uint8Array;
  /** Per slot: the name's length, 0 = none yet. */
  readonly lengths: Uint8Array;
  /** Per slot and endpoint (2 × slot + 0 from endpoint A, + 1 from B): payload packets looked at; 0xff = done. */
  private readonly looked: Uint8Array;
  private readonly reader = new ServerNameReader();

  constructor(
    capacity: number,
    private readonly counters: NameCounters,
  ) {
    this.bytes = new Uint8Array(capacity * SERVER_NAME_MAX);
    this.lengths = new Uint8Array(capacity);
    this.looked = new Uint8Array(capacity * 2);
  }

  /** A new flow in `slot`: no name, nothing looked at. */
  reset(slot: number): void {
    this.lengths[slot] = 0;
    this.looked[2 * slot] = 0;
    this.looked[2 * slot + 1] = 0;
  }

  /**
   * A packet of the flow in `slot`, sent by endpoint A (`fromA`) or B, with `payload` > 0 bytes at `buf[start ..]`:
   * read it when the flow still looks for its name.
   */
  look(slot: number, fromA: boolean, buf: Uint8Array, start: number, payload: number, proto: number, srcPort: number, dstPort: number): void {
    const k = 2 * slot + (fromA ? 0 : 1);
    if (this.looked[k]! >= LOOK_PACKETS) return;
    this.looked[k]!++;
    const r = this.reader.read(buf, start, start + payload, proto, srcPort, dstPort, this.bytes, slot * SERVER_NAME_MAX);
    if (r === ServerNameRead.None) return;
    // The first name ends the search, kept or not.
    this.looked[2 * slot] = 0xff;
    this.looked[2 * slot + 1] = 0xff;
    const c = this.counters;
    if (r === ServerNameRead.NotPrintable) {
      c.counts[c.notPrintable]!++;
      return;
    }
    this.lengths[slot] = this.reader.length;
    c.counts[c.found]!++;
    if (r === ServerNameRead.Truncated) c.counts[c.truncated]!++;
  }

  /** Copy the name of `slot` to row `i` of a batch's name columns (flow-batch.ts). */
  copyTo(slot: number, lengths: Uint8Array, bytes: Uint8Array, i: number): void {
    const n = this.lengths[slot]!;
    lengths[i] = n;
    const from = slot * SERVER_NAME_MAX;
    const to = i * SERVER_NAME_MAX;
    for (let k = 0; k < n; k++) bytes[to + k] = this.bytes[from + k]!;
  }
}
