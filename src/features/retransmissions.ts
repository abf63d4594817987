/**
 * TCP retransmission detection as the corrected CICFlowMeter fork does it: a packet is a retransmission when
 * the flow has already seen a packet from the same source with the same (seq, ack, payload length, window).
 *
 * The fork keeps a HashSet per flow, holding every TCP packet of every open flow. Here one open-addressing
 * table serves every flow: an entry carries the flow's serial number, so entries of finished flows never match
 * again and are dropped when the table is compacted. The table starts small and doubles when the live entries
 * need it, up to `maxCapacity`; past that, packets are not tracked and are counted (`untracked`).
 */
const W = 5; // words per entry: serial, seq, ack, length | direction << 31, window

export class RetransmissionSet {
  private entries: Uint32Array;
  private used: Uint8Array;
  private mask: number;
  private count = 0;
  private readonly maxSlots: number;
  /** Packets refused since the last compaction (compactions are rationed when live entries fill the table). */
  private refusedSinceCompact = 0;
  /** Packets that could not be tracked because live entries filled the table at its largest. */
  untracked = 0;

  constructor(
    initialCapacity: number,
    maxCapacity: number,
    /** The serials of the open flows, asked once per compaction. */
    private readonly liveSerials: () => Set<number>,
  ) {
    const slots = pow2(initialCapacity);
    this.maxSlots = Math.max(slots, pow2(maxCapacity));
    this.entries = new Uint32Array(slots * W);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
  }

  /** Record a packet; returns true when an equal packet was seen before in the same flow. */
  seen(serial: number, dir: number, seq: number, ack: number, len: number, window: number): boolean {
    const lenDir = ((len & 0x7fffffff) | (dir << 31)) >>> 0;
    const b = this.slot(serial >>> 0, seq >>> 0, ack >>> 0, lenDir, window >>> 0);
    if (this.used[b] === 1) return true;
    if (this.count * 2 >= this.mask + 1) {
      // Compact at most once per (slots / 8) refused packets: when live entries alone fill the table, a
      // compaction per packet would cost O(slots) each.
      if (this.refusedSinceCompact === 0 || this.refusedSinceCompact >= (this.mask + 1) >>> 3) {
        this.compact(this.mask + 1);
        if (this.count * 4 >= this.mask + 1 && this.mask + 1 < this.maxSlots) this.compact((this.mask + 1) * 2);
        this.refusedSinceCompact = 0;
      }
      if (this.count * 2 >= this.mask + 1) {
        this.refusedSinceCompact++;
        this.untracked++;
        return false;
      }
      return this.seen(serial, dir, seq, ack, len, window);
    }
    this.put(b, serial >>> 0, seq >>> 0, ack >>> 0, lenDir, window >>> 0);
    return false;
  }

  /** The slot holding this entry, or the empty slot where it belongs. */
  private slot(serial: number, seq: number, ack: number, lenDir: number, window: number): number {
    let h = Math.imul(serial ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ seq, 0xc2b2ae35);
    h = Math.imul(h ^ ack, 0x85ebca6b);
    h = Math.imul(h ^ lenDir, 0xc2b2ae35);
    h = Math.imul(h ^ window, 0x27d4eb2f);
    h ^= h >>> 15;
    const mask = this.mask;
    const e = this.entries;
    let b = h & mask;
    while (this.used[b] === 1) {
      const o = b * W;
      if (e[o] === serial && e[o + 1] === seq && e[o + 2] === ack && e[o + 3] === lenDir && e[o + 4] === window) break;
      b = (b + 1) & mask;
    }
    return b;
  }

  private put(b: number, serial: number, seq: number, ack: number, lenDir: number, window: number): void {
    const o = b * W;
    const e = this.entries;
    e[o] = serial;
    e[o + 1] = seq;
    e[o + 2] = ack;
    e[o + 3] = lenDir;
    e[o + 4] = window;
    this.used[b] = 1;
    this.count++;
  }

  /** Rebuild with `slots` slots, keeping only the entries of flows still open. */
  private compact(slots: number): void {
    const live = this.liveSerials();
    const old = this.entries;
    const oldUsed = this.used;
    this.entries = new Uint32Array(slots * W);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
    this.count = 0;
    for (let i = 0; i < oldUsed.length; i++) {
      if (oldUsed[i] === 0) continue;
      const o = i * W;
      const serial = old[o]!;
      if (!live.has(serial)) continue;
      const b = this.slot(serial, old[o + 1]!, old[o + 2]!, old[o + 3]!, old[o + 4]!);
      this.put(b, serial, old[o + 1]!, old[o + 2]!, old[o + 3]!, old[o + 4]!);
    }
  }
}

function pow2(n: number): number {
  let p = 1024;
  while (p < n) p *= 2;
  return p;
}
