/**
 * TCP retransmission detection as the corrected CICFlowMeter fork does it: a packet is a retransmission when
 * the flow has already seen a packet from the same source with the same (seq, ack, payload length, window).
 *
 * The fork keeps a HashSet per flow holding every TCP packet of the flow. Here each flow has its own small
 * open-addressing table (linear probing, 16 bytes a packet), a block of one shared arena: a packet's check touches
 * the cache lines of its own flow's table only, and a finished flow's table is freed whole, without rehashing
 * anyone else's.
 *
 * Memory bounds:
 * - Per flow: a table starts at 8 slots and doubles when three quarters full, up to 2^`maxFlowLog` slots (default
 *   2^15: 512 KiB, 24,576 packets). A flow that fills its largest table keeps it as the old generation and starts
 *   a new one; when that one fills, the old one is dropped. So a flow holds at most two largest tables (1 MiB),
 *   remembers every one of its first 49,152 distinct packets, and at least its last 24,576 after that.
 * - In all: one arena of `maxSlots` slots (16 bytes each), allocated once; the OS commits its pages as they are
 *   first used. When it is full, the tables of flows that have ended (whose flow-table slot is still free) are
 *   reclaimed; if that is not enough, a table that cannot grow starts a new generation at its present size, and
 *   a flow that cannot get a first table is not tracked.
 * - `untracked` counts the packets forgotten, or never stored, because of these bounds: a later copy of one of
 *   them is not counted as a retransmission. The fork's memory is unbounded: where this counter is not zero, our
 *   retransmission counts may be lower than the fork's.
 *
 * A flow is its flow-table slot plus its serial number: the first packet of a new serial in a slot frees the
 * previous flow's tables, so nothing needs to be called when a flow ends. The per-packet path allocates nothing;
 * only the slot directory doubles (as flow-table slots come into use) and a reclaim asks `liveSerials` for a set
 * (at most once per quarter arena allocated).
 */

/** Words per arena slot: seq, ack, payload length, tag (1 | direction << 1 | window << 2; 0 = empty slot). */
const WORDS = 4;
/** Words per flow-table slot in the directory. */
const D = 8;
const OWNER = 0; // the serial (| 0) whose tables these are
const CUR = 1; // arena slot of the current table, -1 = none
const CUR_LOG = 2; // log2 of its size in slots
const COUNT = 3; // packets in it
const OLD = 4; // arena slot of the previous generation, -1 = none
const OLD_LOG = 5;
const OLD_COUNT = 6;
const MIN_LOG = 3;
const DEFAULT_MAX_FLOW_LOG = 15;

export class RetransmissionSet {
  private readonly mem: Int32Array;
  /** Arena slots handed out from the top so far (the rest have never been used and are zero). */
  private top = 0;
  private readonly maxSlots: number;
  /** Head of the free list per size class (log2 − MIN_LOG); a free block's first word links to the next. */
  private readonly freeHead: Int32Array;
  private dir: Int32Array;
  private readonly maxFlowLog: number;
  /** Arena slots allocated since the last reclaim: a reclaim (O(flow slots)) waits for a quarter arena of them. */
  private allocatedSinceReclaim = 0;
  /** Packets forgotten, or never stored, because a flow or the arena reached its bound. */
  untracked = 0;

  constructor(
    /** Arena slots at most (16 bytes each). The arena is allocated whole: the OS commits its pages when used. */
    maxSlots: number,
    /** The serials of the open flows, asked when the arena is full (to free the tables of ended flows). */
    private readonly liveSerials: () => Set<number>,
    maxFlowLog = DEFAULT_MAX_FLOW_LOG,
  ) {
    this.maxSlots = pow2(maxSlots);
    this.maxFlowLog = Math.max(MIN_LOG, Math.min(maxFlowLog, Math.log2(this.maxSlots)));
    this.mem = new Int32Array(this.maxSlots * WORDS);
    this.freeHead = new Int32Array(this.maxFlowLog - MIN_LOG + 1).fill(-1);
    this.dir = newDirectory(1024);
  }

  /**
   * Record a TCP packet of the flow (`slot`, `serial`); returns true when an equal packet was seen before in it.
   * `dir` is 0 or 1, `seq`/`ack` unsigned 32-bit, `window` the 16-bit header field.
   */
  seen(slot: number, serial: number, dir: number, seq: number, ack: number, len: number, window: number): boolean {
    const d = slot * D;
    if (d >= this.dir.length) this.growDirectory(slot);
    const dirs = this.dir;
    if (dirs[d + OWNER] !== (serial | 0) || dirs[d + CUR]! < 0) {
      if (!this.claim(d, serial)) {
        this.untracked++;
        return false;
      }
    }
    seq |= 0;
    ack |= 0;
    len |= 0;
    const tag = 1 | (dir << 1) | (window << 2);
    const h = hash(seq, ack, len, tag);
    const mem = this.mem;
    let base = dirs[d + CUR]!;
    let mask = (1 << dirs[d + CUR_LOG]!) - 1;
    let i = h & mask;
    for (;;) {
      const o = (base + i) * WORDS;
      const t = mem[o + 3]!;
      if (t === 0) break;
      if (mem[o] === seq && mem[o + 1] === ack && mem[o + 2] === len && t === tag) return true;
      i = (i + 1) & mask;
    }
    const old = dirs[d + OLD]!;
    if (old >= 0) {
      const oldMask = (1 << dirs[d + OLD_LOG]!) - 1;
      for (let j = h & oldMask; ; j = (j + 1) & oldMask) {
        const o = (old + j) * WORDS;
        const t = mem[o + 3]!;
        if (t === 0) break;
        if (mem[o] === seq && mem[o + 1] === ack && mem[o + 2] === len && t === tag) return true;
      }
    }
    if (dirs[d + COUNT]! >= ((mask + 1) >>> 2) * 3) {
      if (!this.makeRoom(d)) {
        this.untracked++;
        return false;
      }
      // A new or emptied table: find the empty slot again (the arena may have moved too).
      base = dirs[d + CUR]!;
      mask = (1 << dirs[d + CUR_LOG]!) - 1;
      i = h & mask;
      while (this.mem[(base + i) * WORDS + 3] !== 0) i = (i + 1) & mask;
    }
    const o = (base + i) * WORDS;
    const m = this.mem;
    m[o] = seq;
    m[o + 1] = ack;
    m[o + 2] = len;
    m[o + 3] = tag;
    dirs[d + COUNT]!++;
    return false;
  }

  /** Give the flow slot at directory offset `d` to `serial`: free the previous flow's tables, take a first one. */
  private claim(d: number, serial: number): boolean {
    const dirs = this.dir;
    this.releaseAt(d);
    dirs[d + OWNER] = serial | 0;
    const b = this.alloc(MIN_LOG, d);
    if (b < 0) return false;
    dirs[d + CUR] = b;
    dirs[d + CUR_LOG] = MIN_LOG;
    dirs[d + COUNT] = 0;
    return true;
  }

  private releaseAt(d: number): void {
    const dirs = this.dir;
    if (dirs[d + CUR]! >= 0) this.free(dirs[d + CUR]!, dirs[d + CUR_LOG]!);
    if (dirs[d + OLD]! >= 0) this.free(dirs[d + OLD]!, dirs[d + OLD_LOG]!);
    dirs[d + CUR] = -1;
    dirs[d + OLD] = -1;
    dirs[d + COUNT] = 0;
    dirs[d + OLD_COUNT] = 0;
  }

  /** The current table is half full: double it, or else start a new generation. False: no memory at all. */
  private makeRoom(d: number): boolean {
    const dirs = this.dir;
    const cur = dirs[d + CUR]!;
    const log = dirs[d + CUR_LOG]!;
    if (log < this.maxFlowLog) {
      const b = this.alloc(log + 1, d);
      if (b >= 0) {
        this.rehash(cur, log, b, log + 1);
        this.free(cur, log);
        dirs[d + CUR] = b;
        dirs[d + CUR_LOG] = log + 1;
        return true;
      }
    }
    // The current table becomes the old generation; the old one is forgotten and its block reused if it fits.
    const old = dirs[d + OLD]!;
    if (old >= 0) {
      this.untracked += dirs[d + OLD_COUNT]!;
      this.free(old, dirs[d + OLD_LOG]!);
      dirs[d + OLD] = -1;
      dirs[d + OLD_COUNT] = 0;
    }
    const b = this.alloc(log, d);
    if (b < 0) {
      // Not even one more table of this size: forget this one and start it again.
      this.untracked += dirs[d + COUNT]!;
      this.mem.fill(0, cur * WORDS, (cur + (1 << log)) * WORDS);
      dirs[d + COUNT] = 0;
      return true;
    }
    dirs[d + OLD] = cur;
    dirs[d + OLD_LOG] = log;
    dirs[d + OLD_COUNT] = dirs[d + COUNT]!;
    dirs[d + CUR] = b;
    dirs[d + COUNT] = 0;
    return true;
  }

  private rehash(from: number, fromLog: number, to: number, toLog: number): void {
    const mem = this.mem;
    const mask = (1 << toLog) - 1;
    const end = (from + (1 << fromLog)) * WORDS;
    for (let o = from * WORDS; o < end; o += WORDS) {
      const tag = mem[o + 3]!;
      if (tag === 0) continue;
      const seq = mem[o]!;
      const ack = mem[o + 1]!;
      const len = mem[o + 2]!;
      let i = hash(seq, ack, len, tag) & mask;
      while (mem[(to + i) * WORDS + 3] !== 0) i = (i + 1) & mask;
      const p = (to + i) * WORDS;
      mem[p] = seq;
      mem[p + 1] = ack;
      mem[p + 2] = len;
      mem[p + 3] = tag;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // The arena: blocks of 2^log slots, a free list per size, larger free blocks split, no coalescing.

  /** A zeroed block of 2^log slots for the flow at directory offset `d`, or -1 when none can be had. */
  private alloc(log: number, d: number): number {
    const size = 1 << log;
    for (let attempt = 0; ; attempt++) {
      const c = log - MIN_LOG;
      const head = this.freeHead[c]!;
      if (head >= 0) {
        this.freeHead[c] = this.mem[head * WORDS]!;
        this.mem.fill(0, head * WORDS, (head + size) * WORDS);
        this.allocatedSinceReclaim += size;
        return head;
      }
      if (this.top + size <= this.maxSlots) {
        const b = this.top;
        this.top += size;
        this.allocatedSinceReclaim += size;
        return b;
      }
      const split = this.splitFor(log);
      if (split >= 0) {
        this.mem.fill(0, split * WORDS, (split + size) * WORDS);
        this.allocatedSinceReclaim += size;
        return split;
      }
      if (attempt > 0 || this.allocatedSinceReclaim < this.maxSlots >>> 2) return -1;
      this.reclaim(d);
    }
  }

  private free(b: number, log: number): void {
    const c = log - MIN_LOG;
    this.mem[b * WORDS] = this.freeHead[c]!;
    this.freeHead[c] = b;
  }

  /** Take the smallest larger free block, keep its first 2^log slots and free the rest as smaller blocks. */
  private splitFor(log: number): number {
    for (let big = log + 1; big <= this.maxFlowLog; big++) {
      const b = this.freeHead[big - MIN_LOG]!;
      if (b < 0) continue;
      this.freeHead[big - MIN_LOG] = this.mem[b * WORDS]!;
      for (let l = big - 1; l >= log; l--) this.free(b + (1 << l), l);
      return b;
    }
    return -1;
  }

  /** Free the tables of flows that have ended (their slot not reused since); `keep`'s are being worked on. */
  private reclaim(keep: number): void {
    const live = this.liveSerials();
    const dirs = this.dir;
    for (let d = 0; d < dirs.length; d += D) {
      if (d === keep || (dirs[d + CUR]! < 0 && dirs[d + OLD]! < 0)) continue;
      if (!live.has(dirs[d + OWNER]! >>> 0)) this.releaseAt(d);
    }
    this.allocatedSinceReclaim = 0;
  }

  private growDirectory(slot: number): void {
    let n = this.dir.length / D;
    while (n <= slot) n *= 2;
    const dirs = newDirectory(n);
    dirs.set(this.dir);
    this.dir = dirs;
  }
}

function newDirectory(flows: number): Int32Array {
  const dirs = new Int32Array(flows * D);
  for (let d = 0; d < dirs.length; d += D) {
    dirs[d + CUR] = -1;
    dirs[d + OLD] = -1;
  }
  return dirs;
}

/** 32-bit hash of an entry (murmur3's multipliers and finaliser): the low bits pick the slot. */
function hash(seq: number, ack: number, len: number, tag: number): number {
  let h = Math.imul(seq, 0xcc9e2d51) ^ Math.imul(ack, 0x1b873593) ^ Math.imul(len, 0x85ebca6b) ^ Math.imul(tag, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function pow2(n: number): number {
  let p = 1024;
  while (p < n) p *= 2;
  return p;
}
