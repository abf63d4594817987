/**
 * TCP retransmission detection as the corrected CICFlowMeter fork does it: a packet is a retransmission when
 * the flow has already seen a packet from the same source with the same (seq, ack, payload length, window).
 *
 * The fork keeps a HashSet per flow. Here one open-addressing table serves every flow: an entry carries the
 * flow's serial number, so entries of finished flows never match again and are dropped when the table is
 * compacted. Bounded memory; if live entries alone fill it, new packets are not tracked and counted.
 */
const W = 5; // words per entry: serial, seq, ack, length | direction << 31, window

export class RetransmissionSet {
  private readonly entries: Uint32Array;
  private readonly used: Uint8Array;
  private readonly mask: number;
  private count = 0;
  /** Packets that could not be tracked because live entries filled the table. */
  untracked = 0;

  constructor(
    capacity: number,
    /** Is the flow with this serial still open? Used when compacting. */
    private readonly alive: (serial: number) => boolean,
  ) {
    let n = 1024;
    while (n < capacity) n <<= 1;
    this.entries = new Uint32Array(n * W);
    this.used = new Uint8Array(n);
    this.mask = n - 1;
  }

  /** Record a packet; returns true when an equal packet was seen before in the same flow. */
  seen(serial: number, dir: number, seq: number, ack: number, len: number, window: number): boolean {
    const lenDir = ((len & 0x7fffffff) | (dir << 31)) >>> 0;
    let h = Math.imul(serial ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ seq, 0xc2b2ae35);
    h = Math.imul(h ^ ack, 0x85ebca6b);
    h = Math.imul(h ^ lenDir, 0xc2b2ae35);
    h = Math.imul(h ^ window, 0x27d4eb2f);
    h ^= h >>> 15;
    const mask = this.mask;
    const e = this.entries;
    let b = h & mask;
    for (;;) {
      if (this.used[b] === 0) break;
      const o = b * W;
      if (e[o] === serial >>> 0 && e[o + 1] === seq >>> 0 && e[o + 2] === ack >>> 0 && e[o + 3] === lenDir && e[o + 4] === window >>> 0) {
        return true;
      }
      b = (b + 1) & mask;
    }
    if (this.count * 2 >= mask + 1) {
      this.compact();
      if (this.count * 2 >= mask + 1) {
        this.untracked++;
        return false;
      }
      return this.seen(serial, dir, seq, ack, len, window);
    }
    const o = b * W;
    e[o] = serial;
    e[o + 1] = seq;
    e[o + 2] = ack;
    e[o + 3] = lenDir;
    e[o + 4] = window;
    this.used[b] = 1;
    this.count++;
    return false;
  }

  /** Drop the entries of flows that have ended, re-inserting the live ones. */
  private compact(): void {
    const old = this.entries.slice();
    const oldUsed = this.used.slice();
    this.used.fill(0);
    this.count = 0;
    const n = oldUsed.length;
    for (let i = 0; i < n; i++) {
      if (oldUsed[i] === 0) continue;
      const o = i * W;
      const serial = old[o]!;
      if (!this.alive(serial)) continue;
      const seq = old[o + 1]!;
      const ack = old[o + 2]!;
      const lenDir = old[o + 3]!;
      const window = old[o + 4]!;
      this.seen(serial, lenDir >>> 31, seq, ack, lenDir & 0x7fffffff, window);
    }
  }
}
