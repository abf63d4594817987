/**
 * Flow table: bidirectional 5-tuple → slot index, in typed arrays with open addressing.
 *
 * Both directions of a conversation hash to the same entry because the key is stored canonically: the endpoint
 * with the smaller (address, port) is "A". Capacity is fixed at construction (the memory bound); `insert` fails
 * when full and the caller evicts the oldest flow (creation order, kept in an intrusive FIFO list so eviction
 * costs nothing per packet). Deletion uses backward-shift, so the index never fills with tombstones.
 * Nothing here allocates after construction.
 */

/** Words per key: A address (4), B address (4), ports (A << 16 | B), protocol | ipVersion << 8. */
export const KEY_WORDS = 10;

export class FlowTable {
  readonly capacity: number;
  /** Slot columns: canonical key words. */
  readonly keys: Uint32Array;
  /** Index: hash bucket → slot + 1 (0 = empty). */
  private readonly index: Int32Array;
  private readonly mask: number;
  /** Per slot: its hash, and its bucket in `index` (for O(1) removal). */
  private readonly slotHash: Int32Array;
  private readonly slotBucket: Int32Array;
  /** Free slots (a stack) and the creation-order list of used slots. */
  private readonly freeStack: Int32Array;
  private freeTop: number;
  private readonly older: Int32Array;
  private readonly newer: Int32Array;
  /** Oldest and newest used slot, -1 when empty. */
  oldest = -1;
  newest = -1;
  size = 0;

  /** Scratch key filled by `setKey` and used by `find`/`insert`. */
  private readonly probe = new Uint32Array(KEY_WORDS);
  /** After `setKey`: 1 when the packet's source is endpoint A of the canonical key. */
  srcIsA = 1;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`flow table capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.keys = new Uint32Array(capacity * KEY_WORDS);
    let buckets = 1;
    while (buckets < capacity * 2) buckets <<= 1;
    this.index = new Int32Array(buckets);
    this.mask = buckets - 1;
    this.slotHash = new Int32Array(capacity);
    this.slotBucket = new Int32Array(capacity);
    this.freeStack = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.freeStack[i] = capacity - 1 - i;
    this.freeTop = capacity;
    this.older = new Int32Array(capacity).fill(-1);
    this.newer = new Int32Array(capacity).fill(-1);
  }

  /**
   * Load the canonical key of a packet into the probe. `src`/`dst` are 4-word addresses (IPv4 in word 0).
   * Sets `srcIsA`.
   */
  setKey(src: Uint32Array, srcPort: number, dst: Uint32Array, dstPort: number, proto: number, ipVersion: number, addressOnly = false): void {
    // Compare (address, port) of the two endpoints; the smaller one is A. With `addressOnly` (the 2017
    // build's canonical Flow ID), equal addresses keep the packet's own orientation, so the two directions of
    // a same-host conversation are two different keys, as they were in that build.
    let cmp = 0;
    for (let w = 0; w < 4 && cmp === 0; w++) {
      const s = src[w]!;
      const d = dst[w]!;
      if (s !== d) cmp = s < d ? -1 : 1;
    }
    if (cmp === 0 && !addressOnly) cmp = srcPort < dstPort ? -1 : srcPort > dstPort ? 1 : 0;
    const k = this.probe;
    const srcIsA = cmp <= 0 ? 1 : 0;
    this.srcIsA = srcIsA;
    const a = srcIsA === 1 ? src : dst;
    const b = srcIsA === 1 ? dst : src;
    k[0] = a[0]!;
    k[1] = a[1]!;
    k[2] = a[2]!;
    k[3] = a[3]!;
    k[4] = b[0]!;
    k[5] = b[1]!;
    k[6] = b[2]!;
    k[7] = b[3]!;
    k[8] = srcIsA === 1 ? ((srcPort << 16) | dstPort) >>> 0 : ((dstPort << 16) | srcPort) >>> 0;
    k[9] = (proto | (ipVersion << 8)) >>> 0;
  }

  private hashProbe(): number {
    const k = this.probe;
    let h = 0x9e3779b9 | 0;
    if (k[9]! >>> 8 === 4) {
      // IPv4: words 1-3 and 5-7 are zero.
      h = Math.imul(h ^ k[0]!, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h ^ k[4]!, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h ^ k[8]!, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h ^ k[9]!, 0x85ebca6b);
      h ^= h >>> 13;
    } else for (let w = 0; w < KEY_WORDS; w++) {
      h = Math.imul(h ^ k[w]!, 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return (h ^ (h >>> 16)) | 0;
  }

  private sameKey(slot: number): boolean {
    const k = this.probe;
    const base = slot * KEY_WORDS;
    const keys = this.keys;
    if (keys[base + 9] !== k[9] || keys[base] !== k[0] || keys[base + 4] !== k[4] || keys[base + 8] !== k[8]) return false;
    if (k[9]! >>> 8 === 4) return true; // IPv4: the other words are zero on both sides
    for (let w = 1; w < 8; w++) if (keys[base + w] !== k[w]) return false;
    return true;
  }

  /** The hash of the key in `slot` (flows/server-names.ts keys its memory of recent conversations by it). */
  hashOf(slot: number): number {
    return this.slotHash[slot]!;
  }

  /**
   * Which of `count` shards the probe key belongs to: from the top bits of its hash, where the index uses the low
   * bits, so one shard's keys still spread over every bucket of its own table.
   */
  shardOfKey(count: number): number {
    return Math.floor(((this.hashProbe() >>> 0) * count) / 4294967296);
  }

  /** Slot of the probe key, or -1. */
  find(): number {
    const h = this.hashProbe();
    const mask = this.mask;
    let b = h & mask;
    for (;;) {
      const e = this.index[b]!;
      if (e === 0) return -1;
      const slot = e - 1;
      if (this.slotHash[slot] === h && this.sameKey(slot)) return slot;
      b = (b + 1) & mask;
    }
  }

  /** Insert the probe key (which must not be present). Returns the new slot, or -1 when the table is full. */
  insert(): number {
    if (this.freeTop === 0) return -1;
    const slot = this.freeStack[--this.freeTop]!;
    const h = this.hashProbe();
    const mask = this.mask;
    let b = h & mask;
    while (this.index[b] !== 0) b = (b + 1) & mask;
    this.index[b] = slot + 1;
    this.slotHash[slot] = h;
    this.slotBucket[slot] = b;
    const base = slot * KEY_WORDS;
    const k = this.probe;
    for (let w = 0; w < KEY_WORDS; w++) this.keys[base + w] = k[w]!;
    // Append to the creation-order list.
    this.older[slot] = this.newest;
    this.newer[slot] = -1;
    if (this.newest >= 0) this.newer[this.newest] = slot;
    else this.oldest = slot;
    this.newest = slot;
    this.size++;
    return slot;
  }

  /** Remove a used slot from the index and the order list and free it. */
  remove(slot: number): void {
    const mask = this.mask;
    const index = this.index;
    let hole = this.slotBucket[slot]!;
    index[hole] = 0;
    // Backward-shift deletion: pull later entries of the probe run into the hole when their home allows it.
    let b = (hole + 1) & mask;
    for (;;) {
      const e = index[b]!;
      if (e === 0) break;
      const s = e - 1;
      const home = this.slotHash[s]! & mask;
      // Move s to the hole if its home is not in (hole, b] cyclically.
      const between = hole <= b ? home > hole && home <= b : home > hole || home <= b;
      if (!between) {
        index[hole] = e;
        this.slotBucket[s] = hole;
        index[b] = 0;
        hole = b;
      }
      b = (b + 1) & mask;
    }
    const o = this.older[slot]!;
    const n = this.newer[slot]!;
    if (o >= 0) this.newer[o] = n;
    else this.oldest = n;
    if (n >= 0) this.older[n] = o;
    else this.newest = o;
    this.older[slot] = -1;
    this.newer[slot] = -1;
    this.freeStack[this.freeTop++] = slot;
    this.size--;
  }

  /** Move a used slot to the newest end of the creation order (its flow was restarted in place). */
  renew(slot: number): void {
    if (this.newest === slot) return;
    const o = this.older[slot]!;
    const n = this.newer[slot]!;
    if (o >= 0) this.newer[o] = n;
    else this.oldest = n;
    if (n >= 0) this.older[n] = o;
    this.older[slot] = this.newest;
    this.newer[slot] = -1;
    if (this.newest >= 0) this.newer[this.newest] = slot;
    this.newest = slot;
  }

  /** The slot created after `slot` (creation order), or -1. */
  next(slot: number): number {
    return this.newer[slot]!;
  }

  // Reading a slot's key back (once per completed flow): the key layout stays private to this file.

  /** IP version (4 or 6) of the flow in `slot`. */
  ipVersion(slot: number): number {
    return this.keys[slot * KEY_WORDS + 9]! >>> 8;
  }

  /** Protocol number the flow was keyed with. */
  protocol(slot: number): number {
    return this.keys[slot * KEY_WORDS + 9]! & 0xff;
  }

  /** Port of endpoint A (`a`) or B of the canonical key. */
  port(slot: number, a: boolean): number {
    const ports = this.keys[slot * KEY_WORDS + 8]!;
    return a ? ports >>> 16 : ports & 0xffff;
  }

  /** Word `i` (0..3; IPv4 uses word 0 only) of endpoint A's (`a`) or B's address, big-endian. */
  addressWord(slot: number, a: boolean, i: number): number {
    return this.keys[slot * KEY_WORDS + (a ? 0 : 4) + i]!;
  }
}
