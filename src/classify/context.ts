/**
 * The context stage: after the model, before the outputs. The model judges each flow alone; an attack tool it has
 * never seen often makes flows that look ordinary one by one, while its SOURCE behaves like no ordinary client over
 * a time window (Zeek's scan.zeek and SSH password-guessing policies work this way, with thresholds). This stage
 * keeps bounded per-source / per-destination counts over windows of flow START time and, when a detector's
 * threshold is crossed, gives the flows of its evidence that the model called benign (below the alert threshold)
 * the detector's class as their label, with a `context` text saying why. The model's own best attack class and
 * probability stay in attackLabels/attackScores; the relabelled flow's score is NaN (NULL: the label is not a
 * probability of the model).
 *
 * Detectors (defaults in CONTEXT_DEFAULTS, each with its reason):
 * - port scan (PortScan): one source's failed connections (TCP: no payload either way; UDP: no answer payload) to
 *   many distinct ports of one host, or to one port of many hosts;
 * - brute force (BruteForce): many short answered connections from one source to the login ports of one server;
 * - flood (DoS): very many tiny unanswered flows (no answer payload, at most 3 packets sent) to one
 *   destination:port, whatever their sources (a spoofed flood has thousands), beyond the flows it answered;
 * - HTTP flood (DoS): very many connections from one source to the web ports of one server.
 *
 * Windows are Zeek's sumstats epochs: a key counts from its first flow's start for `window` seconds, then starts
 * counting again. Once a key has fired, it stays firing while its flows keep coming (no gap longer than the
 * window). Flows arrive in END order; one whose start is before its key's epoch counts in the current epoch.
 *
 * A flow is judged once, when it passes: it is relabelled when, counting it, its key is firing. The flows that
 * came before the threshold was crossed have been written already and keep the model's verdict. This depends only
 * on the order of the flows (not on how they are batched), so replay, live and `--workers N` give the same labels.
 *
 * Memory: each detector tracks at most `maxKeys` keys; when full, the key seen first is forgotten and counted
 * (`evicted`). A key's set of distinct ports or hosts holds at most the threshold's number of entries. Keys and
 * states live in typed arrays (KeyTable): 104-132 bytes a key with its hash slots, and a scan key's slab of distinct
 * values (56 bytes for ports, 384 for hosts at the default thresholds) once it has two. Pure: no I/O; per flow it allocates nothing
 * but the reason's text (and its evidence) for a flow it relabels; the tables grow by doubling up to `maxKeys`.
 */
import type { FlowRows, ProfileColumns } from '../engine/flow-batch.js';
import { formatIpv4, formatIpv6 } from '../features/address-text.js';
import { resolveInputs } from './feature-names.js';

export interface ContextThresholds {
  /** Distinct ports of one host with failed connections from one source, within scanWindowS. */
  portScanPorts: number;
  /** Distinct hosts with failed connections on one port from one source, within scanWindowS. */
  addressScanHosts: number;
  scanWindowS: number;
  /** Short answered connections from one source to the login ports of one server, within bruteForceWindowS. */
  bruteForceConnections: number;
  bruteForceWindowS: number;
  /** A login attempt's connection lasts less than this (s). */
  bruteForceMaxDurationS: number;
  /** Tiny unanswered flows to one destination:port, any source, within floodWindowS. */
  floodFlows: number;
  floodWindowS: number;
  /** Connections from one source to the web ports of one server, within httpFloodWindowS. */
  httpFloodConnections: number;
  httpFloodWindowS: number;
  /** Keys tracked per detector (memory bound). */
  maxKeys: number;
}

/**
 * Defaults and why (README "Context stage"). None was tuned on the attack captures.
 * - Scans: Zeek's scan.zeek (Scan::port_scan_threshold 15, Scan::addr_scan_threshold 25, both intervals 5 min).
 * - Brute force: Zeek's SSH policy (SSH::password_guesses_limit 30, SSH::guessing_timeout 30 min); "short": a
 *   scripted login (or the few attempts sshd's MaxAuthTries 6 allows on one connection) ends in seconds, an
 *   interactive session or a transfer lasts longer, and a long connection cut by the 120 s flow timeout gives
 *   flows of the whole timeout.
 * - Flood: Zeek has no flood policy. 1,024 is a default Linux listener's SYN backlog (net.ipv4.tcp_max_syn_backlog
 *   on any machine with more than a little memory), and 60 s about how long a half-open connection holds its
 *   place there (the SYN-ACK is retried 5 times, 1+2+4+8+16+32 s): that many half-open or unanswered flows to one
 *   service within that time fill it.
 * - HTTP flood: a browser opens at most 6 connections to one server and reuses them for minutes (RFC 9112 §9.4
 *   asks clients to limit them); 100 new connections in 10 s from one source is an order of magnitude beyond.
 * - maxKeys 65,536 per detector: ~39 MB if all five tables fill up (104-132 bytes a key), and up to 29 MB more for
 *   the scan keys' slabs of distinct ports and hosts.
 */
export const CONTEXT_DEFAULTS: Readonly<ContextThresholds> = Object.freeze({
  portScanPorts: 15,
  addressScanHosts: 25,
  scanWindowS: 300,
  bruteForceConnections: 30,
  bruteForceWindowS: 1800,
  bruteForceMaxDurationS: 30,
  floodFlows: 1024,
  floodWindowS: 60,
  httpFloodConnections: 100,
  httpFloodWindowS: 10,
  maxKeys: 65536,
});

/** Ports where one connection is one login (or a few): FTP, SSH, Telnet, POP3, IMAP, SMTP submission, IMAPS, POP3S, MSSQL, Oracle, MySQL, RDP, PostgreSQL, VNC, Redis, MongoDB. */
export const LOGIN_PORTS: ReadonlySet<number> = new Set([21, 22, 23, 110, 143, 465, 587, 993, 995, 1433, 1521, 3306, 3389, 5432, 5900, 6379, 27017]);
/** Web servers' ports. */
export const WEB_PORTS: ReadonlySet<number> = new Set([80, 443, 8000, 8008, 8080, 8443, 8888]);
/** The two as one byte per port (LOGIN_PORT, WEB_PORT bits), for the per-flow test. */
const LOGIN_PORT = 1;
const WEB_PORT = 2;
const PORT_KIND = new Uint8Array(65536);
for (const p of LOGIN_PORTS) PORT_KIND[p] = PORT_KIND[p]! | LOGIN_PORT;
for (const p of WEB_PORTS) PORT_KIND[p] = PORT_KIND[p]! | WEB_PORT;

export const DETECTORS = ['port-scan', 'address-scan', 'brute-force', 'flood', 'http-flood'] as const;
export type DetectorName = (typeof DETECTORS)[number];

/** The class each detector gives (the model's class names). */
export const DETECTOR_CLASS: Readonly<Record<DetectorName, string>> = {
  'port-scan': 'PortScan',
  'address-scan': 'PortScan',
  'brute-force': 'BruteForce',
  flood: 'DoS',
  'http-flood': 'DoS',
};

/** What the detectors read of a flow: the profile's columns for packets and payload bytes each way, and the duration. */
const FEATURES = ['Flow Duration', 'Total Fwd Packets', 'Total Backward Packets', 'Total Length of Fwd Packets', 'Total Length of Bwd Packets'];

/**
 * The column that is non-zero when the flow's first packet (or, `cic`/`fixed`, any of its packets) has SYN: a new
 * TCP connection, not the tail of one (the profiles end a flow at the first FIN, and the rest of that connection is
 * a flow of its own, often from the server). The 2017 build prints its flag counters in a hash map's order: its
 * `PSH Flag Count` is the first packet's SYN (CIC-FEATURES.md §9 item 2).
 */
const SYN_COLUMN: Readonly<Record<string, string>> = { cic: 'SYN Flag Count', fixed: 'SYN Flag Count', cic2017: 'PSH Flag Count' };

/** What a key counted in one window, for the `context` text. */
interface Evidence {
  count: number;
  answered: number;
  distinct: number;
  spanUs: number;
  /** From the window before this one (the key fired there and its flows kept coming). */
  before: boolean;
}

/** The evidence to cite for entry `e`: this window's when it crossed the threshold itself, else the window's before. */
function evidence(t: KeyTable, e: number, crossed: boolean): Evidence {
  const s = t.state;
  const o = e * t.rec;
  if (!crossed && s[o + HAS_BEFORE] === 1) {
    const b = e * BEFORE_WORDS;
    return { count: t.before[b + B_COUNT]!, answered: t.before[b + B_ANSWERED]!, distinct: t.before[b + B_DISTINCT]!, spanUs: t.before[b + B_SPAN_US]!, before: true };
  }
  return { count: s[o + COUNT]!, answered: s[o + ANSWERED]!, distinct: t.distinct !== null ? t.distinct.count(e) : 0, spanUs: s[o + LAST_IN_EPOCH_US]! - s[o + FIRST_IN_EPOCH_US]!, before: false };
}

const inWindow = (e: Evidence): string => `in ${seconds(e.spanUs)}${e.before ? ' (the window before)' : ''}`;

/**
 * Keys are fixed-width words, so that a lookup hashes a few integers instead of making a string or a heap number.
 * An address is 4 words (IPv4: its word and three zeros); the IP version is a word of its own, so an IPv4 address
 * never meets an IPv6 one whose last three words are zero.
 * - service (flood, address scan): address, then version << 24 | UDP << 16 | port;
 * - pair (port scan, brute force, HTTP flood): source, destination, version.
 */
const SERVICE_WORDS = 5;
const PAIR_WORDS = 9;
/** A key's distinct ports or hosts live in a fixed slab of this many entries at most; beyond, in a Set (rare: a threshold set that high). */
const SLAB_MAX = 64;

/**
 * A key's state: STATE_WORDS numbers at the start of its entry's record (KeyTable.state from entry * rec), side by
 * side and next to its key, so that a lookup reads two places (its slot, its record) rather than one array per
 * field. Times in µs; counts of this epoch (window).
 */
export const EPOCH_START_US = 0;
export const LAST_START_US = 1;
/** The earliest and latest flow start counted in this epoch (flows arrive in end order), for the text. */
export const FIRST_IN_EPOCH_US = 2;
export const LAST_IN_EPOCH_US = 3;
/** Flows of the evidence in this epoch. */
export const COUNT = 4;
/** Flood: answered flows to the destination in this epoch (they offset as many tiny ones). */
export const ANSWERED = 5;
/** 1 once the key has fired (and while its flows keep coming). */
export const FIRED = 6;
/** 1 when `before` holds the evidence of the window before (the key fired there and still fires). */
export const HAS_BEFORE = 7;
export const STATE_WORDS = 8;
/** The window before's evidence, BEFORE_WORDS numbers from entry * BEFORE_WORDS (for the text). */
export const B_COUNT = 0;
export const B_ANSWERED = 1;
export const B_DISTINCT = 2;
export const B_SPAN_US = 3;
export const BEFORE_WORDS = 4;

/** Murmur3's 32-bit body and finaliser over `n` words: cheap, and spreads keys that differ in one word. */
function hashWords(k: Uint32Array, n: number): number {
  let h = n;
  for (let j = 0; j < n; j++) {
    let w = Math.imul(k[j]!, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    h ^= Math.imul(w, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function grown<T extends Float64Array | Int32Array | Uint32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/**
 * Each key's distinct ports (1 word) or hosts (4 words) in its current window, at most `cap` (and at least 2: a second
 * value different from the first always counts, as it did when the first was kept apart from a Set). Per entry a
 * record [count, slab + 1 (0: none), the first value]; a key's slab for the other values is made at its second value
 * and kept by its entry for good (an entry forgotten is reused by the next new key, slab and all).
 */
export class DistinctValues {
  readonly cap: number;
  private records: Uint32Array;
  private readonly stride: number;
  private pool = new Uint32Array(0);
  private poolUsed = 0;
  private readonly slabWords: number;
  /** Beyond SLAB_MAX: a Set per entry, its values as text (exact; a linear search would be too slow). */
  private readonly sets: (Set<string> | null)[] | null;

  constructor(
    readonly width: number,
    cap: number,
    entries: number,
  ) {
    this.cap = Math.max(cap, 2);
    this.slabWords = (this.cap - 1) * width;
    this.stride = 2 + width;
    this.records = new Uint32Array(entries * this.stride);
    this.sets = this.cap > SLAB_MAX ? [] : null;
  }

  grow(entries: number): void {
    this.records = grown(this.records, entries * this.stride);
  }

  count(e: number): number {
    return this.records[e * this.stride]!;
  }

  clear(e: number): void {
    this.records[e * this.stride] = 0;
    if (this.sets !== null) this.sets[e] = null;
  }

  /** Adds the value at `v[o..o+width)` to entry `e`'s values (up to the cap); returns how many there are. */
  add(e: number, v: Uint32Array, o: number): number {
    const r = e * this.stride;
    const n = this.records[r]!;
    if (n >= this.cap) return n;
    const w = this.width;
    if (n === 0) {
      for (let j = 0; j < w; j++) this.records[r + 2 + j] = v[o + j]!;
      return (this.records[r] = 1);
    }
    if (this.sets !== null) return this.addToSet(e, v, o);
    if (this.equals(this.records, r + 2, v, o)) return n;
    let at = this.records[r + 1]! - 1;
    for (let k = 0; k < n - 1; k++) if (this.equals(this.pool, at + k * w, v, o)) return n;
    if (at < 0) at = this.newSlab(r);
    for (let j = 0; j < w; j++) this.pool[at + (n - 1) * w + j] = v[o + j]!;
    return (this.records[r] = n + 1);
  }

  private equals(a: Uint32Array, ao: number, v: Uint32Array, o: number): boolean {
    for (let j = 0; j < this.width; j++) if (a[ao + j] !== v[o + j]) return false;
    return true;
  }

  private newSlab(r: number): number {
    if (this.poolUsed + this.slabWords > this.pool.length) this.pool = grown(this.pool, Math.max(1024, this.pool.length * 2, this.poolUsed + this.slabWords));
    const at = this.poolUsed;
    this.poolUsed += this.slabWords;
    this.records[r + 1] = at + 1;
    return at;
  }

  private addToSet(e: number, v: Uint32Array, o: number): number {
    const text = (a: Uint32Array, ao: number): string => Array.from(a.subarray(ao, ao + this.width)).join(',');
    let set = this.sets![e] ?? null;
    if (set === null) {
      const first = text(this.records, e * this.stride + 2);
      const value = text(v, o);
      if (value === first) return 1;
      set = this.sets![e] = new Set([first, value]);
    } else set.add(text(v, o));
    return (this.records[e * this.stride] = set.size);
  }
}

/**
 * One detector's keys and their states, at most `maxKeys` (the first seen forgotten first). An open-addressing
 * hash table (linear probing) over typed arrays: no object per key, nothing for the collector. A slot holds its
 * entry + 1 (0: empty) and the key's hash, so that a probe compares keys only when the hashes agree; an entry's
 * record holds its state, its key and its hash (for growth and deletion). An entry's index is its place in first-seen order (a ring once
 * full, `head` the oldest), so forgetting the oldest key reuses its entry; its slot is freed by backward-shift
 * deletion (the later slots of its probe run move back), which leaves no tombstones to slow later lookups.
 */
export class KeyTable {
  evicted = 0;
  /** Keys tracked. */
  size = 0;
  private head = 0;
  private capacity: number;
  /**
   * Per entry a record of `rec` numbers: its state (STATE_WORDS: EPOCH_START_US, ...), then its key's words and its
   * hash (`keys`, the same memory as 32-bit words), so that a lookup's key comparison brings its state in with it.
   */
  state: Float64Array;
  private keys: Uint32Array;
  readonly rec: number;
  /** Per entry: BEFORE_WORDS numbers (B_COUNT, ...), valid when HAS_BEFORE; made when a key first needs it. */
  before: Float64Array;
  /** Scans: the distinct ports or hosts of each key's window. */
  readonly distinct: DistinctValues | null;
  /** Per slot: entry + 1 (0: empty) and hash; at least twice as many slots as entries. */
  private slots: Int32Array;
  private mask: number;

  constructor(
    readonly words: number,
    private readonly windowUs: number,
    private readonly maxKeys: number,
    distinct?: { width: number; cap: number },
  ) {
    // All the default maxKeys at once: memory the kernel gives zeroed page by page as entries come (they are taken
    // in order), and no copy or rehash as the table fills (growing it cost more than all its lookups on big.pcap).
    const n = (this.capacity = Math.min(maxKeys, INITIAL_ENTRIES));
    this.rec = STATE_WORDS + Math.ceil((words + 1) / 2);
    this.state = new Float64Array(n * this.rec);
    this.keys = new Uint32Array(this.state.buffer);
    this.before = new Float64Array(0);
    this.distinct = distinct ? new DistinctValues(distinct.width, distinct.cap, n) : null;
    const slots = slotsFor(n);
    this.slots = new Int32Array(slots * 2);
    this.mask = slots - 1;
  }

  /**
   * The entry of `key` (its first `words` words; `hash` an int32 of them) for a flow starting at `startUs`, its
   * epoch restarted when the window has passed; a new entry when the key is not tracked.
   */
  touch(key: Uint32Array, hash: number, startUs: number): number {
    let e = this.find(key, hash);
    const s = this.state;
    if (e >= 0) {
      const o = e * this.rec;
      if (startUs >= s[o + EPOCH_START_US]! + this.windowUs) {
        // A new epoch: count again; still firing only if the flows kept coming (no gap longer than the window).
        const fired = s[o + FIRED] === 1 && startUs - s[o + LAST_START_US]! <= this.windowUs;
        s[o + FIRED] = fired ? 1 : 0;
        s[o + HAS_BEFORE] = fired ? 1 : 0;
        if (fired) {
          if (this.before.length === 0) this.before = new Float64Array(this.capacity * BEFORE_WORDS);
          const b = e * BEFORE_WORDS;
          this.before[b + B_COUNT] = s[o + COUNT]!;
          this.before[b + B_ANSWERED] = s[o + ANSWERED]!;
          this.before[b + B_DISTINCT] = this.distinct !== null ? this.distinct.count(e) : 0;
          this.before[b + B_SPAN_US] = s[o + LAST_IN_EPOCH_US]! - s[o + FIRST_IN_EPOCH_US]!;
        }
        this.newEpoch(e, startUs);
      }
    } else {
      e = this.insert(key, hash);
      this.newEpoch(e, startUs);
      const o = e * this.rec;
      this.state[o + LAST_START_US] = startUs;
      this.state[o + FIRED] = 0;
      this.state[o + HAS_BEFORE] = 0;
    }
    const st = this.state;
    const o = e * this.rec;
    if (startUs > st[o + LAST_START_US]!) st[o + LAST_START_US] = startUs;
    if (startUs < st[o + FIRST_IN_EPOCH_US]!) st[o + FIRST_IN_EPOCH_US] = startUs;
    if (startUs > st[o + LAST_IN_EPOCH_US]!) st[o + LAST_IN_EPOCH_US] = startUs;
    return e;
  }

  private newEpoch(e: number, startUs: number): void {
    const s = this.state;
    const o = e * this.rec;
    s[o + EPOCH_START_US] = startUs;
    s[o + FIRST_IN_EPOCH_US] = startUs;
    s[o + LAST_IN_EPOCH_US] = startUs;
    s[o + COUNT] = 0;
    s[o + ANSWERED] = 0;
    this.distinct?.clear(e);
  }

  /** The entry of `key`, or -1. */
  find(key: Uint32Array, hash: number): number {
    const w = this.words;
    const slots = this.slots;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const s = slots[2 * i]!;
      if (s === 0) return -1;
      if (slots[2 * i + 1] !== hash) continue;
      const k = this.keyAt(s - 1);
      let j = 0;
      while (j < w && this.keys[k + j] === key[j]) j++;
      if (j === w) return s - 1;
    }
  }

  /** A new entry for `key` (not tracked): the next one while there is room, else the oldest key's, forgotten. */
  private insert(key: Uint32Array, hash: number): number {
    let e: number;
    if (this.size < this.maxKeys) {
      e = this.size++;
      if (e >= this.capacity) this.grow();
    } else {
      e = this.head;
      this.unlink(e);
      this.head = (this.head + 1) % this.maxKeys;
      this.evicted++;
    }
    const k = this.keyAt(e);
    for (let j = 0; j < this.words; j++) this.keys[k + j] = key[j]!;
    this.keys[k + this.words] = hash;
    this.link(e, hash);
    return e;
  }

  private link(e: number, hash: number): void {
    let i = hash & this.mask;
    while (this.slots[2 * i] !== 0) i = (i + 1) & this.mask;
    this.slots[2 * i] = e + 1;
    this.slots[2 * i + 1] = hash;
  }

  /** Frees entry `e`'s slot; each later slot of the probe run moves back into the gap unless its home lies after the gap. */
  private unlink(e: number): void {
    const mask = this.mask;
    const slots = this.slots;
    let gap = this.keys[this.keyAt(e) + this.words]! & mask;
    while (slots[2 * gap] !== e + 1) gap = (gap + 1) & mask;
    for (let j = (gap + 1) & mask; slots[2 * j] !== 0; j = (j + 1) & mask) {
      const home = slots[2 * j + 1]! & mask;
      // The slot at j may move to the gap only if its home is not cyclically within (gap, j].
      const stays = gap <= j ? gap < home && home <= j : gap < home || home <= j;
      if (stays) continue;
      slots[2 * gap] = slots[2 * j]!;
      slots[2 * gap + 1] = slots[2 * j + 1]!;
      gap = j;
    }
    slots[2 * gap] = 0;
  }

  /** Twice the entries (at most maxKeys), and twice the slots. */
  private grow(): void {
    const n = (this.capacity = Math.min(this.maxKeys, this.capacity * 2));
    const state = new Float64Array(n * this.rec);
    new Uint32Array(state.buffer).set(this.keys); // bit for bit (the key words are no numbers)
    this.state = state;
    this.keys = new Uint32Array(state.buffer);
    if (this.before.length > 0) this.before = grown(this.before, n * BEFORE_WORDS);
    this.distinct?.grow(n);
    const slots = slotsFor(n);
    this.slots = new Int32Array(slots * 2);
    this.mask = slots - 1;
    // The entry being inserted (size - 1) is linked by insert.
    for (let e = 0; e < this.size - 1; e++) this.link(e, this.keys[this.keyAt(e) + this.words]! | 0);
  }

  /** Where entry `e`'s key starts in `keys`. */
  private keyAt(e: number): number {
    return (e * this.rec + STATE_WORDS) * 2;
  }
}

/** Entries a table starts with (the default maxKeys); beyond, it doubles as keys come. */
const INITIAL_ENTRIES = 65536;

/** A power of two at least twice `entries`: probe runs stay short. */
function slotsFor(entries: number): number {
  let n = 16;
  while (n < entries * 2) n *= 2;
  return n;
}

/** Counts of a run, for the `runs` counters (`info`): flows relabelled per detector, keys evicted per detector. */
export interface ContextCounts {
  relabelled: Record<DetectorName, number>;
  evicted: Record<DetectorName, number>;
}

/** ContextCounts as the numbers of ContextDecisions.counts: relabelled then evicted, each in DETECTORS order. */
export function contextCounts(c: ArrayLike<number>): ContextCounts {
  const relabelled = {} as Record<DetectorName, number>;
  const evicted = {} as Record<DetectorName, number>;
  DETECTORS.forEach((d, k) => {
    relabelled[d] = c[k]!;
    evicted[d] = c[DETECTORS.length + k]!;
  });
  return { relabelled, evicted };
}

/** What the stage reads of a batch: a FlowRows has it all; the inference thread gets it packed (context-thread.ts). */
export type ContextFlows = Pick<FlowRows, 'count' | 'features' | 'protocols' | 'ipVersions' | 'dstPorts' | 'startUs' | 'srcAddrs' | 'dstAddrs'>;

/** What the stage decided for one batch, for whoever holds its rows to apply (applyContextDecisions). */
export interface ContextDecisions {
  /** Per relabelled flow, in row order: its row, its new label (an index in the model's classes), why. */
  rows: Int32Array;
  labels: Int32Array;
  texts: string[];
  /** The stage's counts after the batch: flows relabelled, then keys evicted, each in DETECTORS order. */
  counts: Float64Array;
}

/**
 * Put a batch's decisions on its rows (after the model's verdicts): the label, a NaN score (NULL: not a probability
 * of the model), the label's KDD category when the batch has the column (`kdd`: the model card's map), the text.
 */
export function applyContextDecisions(rows: FlowRows, d: ContextDecisions, classes: readonly string[], kdd: Readonly<Record<string, string>> | undefined): void {
  if (d.rows.length === 0) return;
  const context = (rows.context ??= new Array<string | null>(rows.count).fill(null));
  for (let j = 0; j < d.rows.length; j++) {
    const i = d.rows[j]!;
    const label = classes[d.labels[j]!]!;
    rows.labels![i] = label;
    if (rows.scores) rows.scores[i] = NaN;
    if (rows.kdd) rows.kdd[i] = kdd?.[label] ?? null;
    context[i] = d.texts[j]!;
  }
}

/** The feature columns the stage reads (FEATURES, then the SYN column) in `columns`, and its row width; throws when the profile lacks one. */
export function contextColumns(columns: ProfileColumns): { at: number[]; stride: number } {
  const syn = SYN_COLUMN[columns.name];
  if (syn === undefined) throw new Error(`context stage: no SYN column known for profile ${columns.name}`);
  const { sources, errors } = resolveInputs([...FEATURES, syn], columns);
  if (errors.length > 0) throw new Error(`context stage: profile ${columns.name}: ${errors.join('; ')}`);
  return { at: sources.map((s) => (s.from === 'feature' ? s.index : -1)), stride: columns.featureNames.length };
}

/** The detectors that run for a model with these classes: those whose class it has (and is not its benign one). */
export function contextDetectors(classes: readonly string[], benign: string): DetectorName[] {
  return DETECTORS.filter((d) => classes.includes(DETECTOR_CLASS[d]) && DETECTOR_CLASS[d] !== benign);
}

export interface ContextOptions {
  columns: ProfileColumns;
  /** The attack model's classes and its benign class: detectors whose class the model does not have stay off. */
  classes: readonly string[];
  benign: string;
  /** The model card's class → KDD category, to keep `kdd` in step with the new label. */
  kdd?: Readonly<Record<string, string>>;
  thresholds?: Partial<ContextThresholds>;
  /** observe(): told of each relabelled flow (the verdict tally moves it from the benign class to `label`). */
  onRelabel?: (rows: FlowRows, i: number, label: string) => void;
}

/** Writes flow `i`'s address (`addrs`) into `k` at `o`: 4 words, IPv4's last three zero. */
function putAddress(k: Uint32Array, o: number, addrs: Uint32Array, v4: boolean, i: number): void {
  const a = i * 4;
  k[o] = addrs[a]!;
  k[o + 1] = v4 ? 0 : addrs[a + 1]!;
  k[o + 2] = v4 ? 0 : addrs[a + 2]!;
  k[o + 3] = v4 ? 0 : addrs[a + 3]!;
}

/** An address and a TCP/UDP port as a service key (SERVICE_WORDS). */
function putService(k: Uint32Array, addrs: Uint32Array, v4: boolean, i: number, proto: number, port: number): void {
  putAddress(k, 0, addrs, v4, i);
  k[4] = ((v4 ? 0 : 1) << 24) | (proto === 17 ? 1 << 16 : 0) | port;
}

function addressText(addrs: Uint32Array, version: number, i: number): string {
  return version === 4 ? formatIpv4(addrs[i * 4]!) : formatIpv6(addrs.subarray(i * 4, i * 4 + 4));
}

export class ContextStage {
  readonly thresholds: Readonly<ContextThresholds>;
  private readonly at: number[];
  private readonly stride: number;
  private readonly tables: Record<DetectorName, KeyTable>;
  /** Detectors whose class the model has. */
  private readonly on: Record<DetectorName, boolean>;
  private readonly relabelled: Record<DetectorName, number> = { 'port-scan': 0, 'address-scan': 0, 'brute-force': 0, flood: 0, 'http-flood': 0 };
  /** A flow's keys, written in place (a service key for the flood's destination, another for the address scan's source, the pair). */
  private readonly dstService = new Uint32Array(SERVICE_WORDS);
  private readonly srcService = new Uint32Array(SERVICE_WORDS);
  private readonly pair = new Uint32Array(PAIR_WORDS);
  /** A flow's destination host and port as distinct values of a scan. */
  private readonly host = new Uint32Array(4);
  private readonly port = new Uint32Array(1);
  /** Each detector's class, as an index in the model's classes (-1: the model has none; the detector is off). */
  private readonly classOf = {} as Record<DetectorName, number>;
  /** The decisions of the batch being judged (decide()), grown by doubling and reused from batch to batch. */
  private decidedRows = new Int32Array(1024);
  private decidedLabels = new Int32Array(1024);
  private decidedTexts: string[] = [];

  constructor(private readonly opts: ContextOptions) {
    const t = { ...CONTEXT_DEFAULTS, ...opts.thresholds };
    this.thresholds = Object.freeze(t);
    ({ at: this.at, stride: this.stride } = contextColumns(opts.columns));
    const us = (s: number): number => s * 1e6;
    this.tables = {
      'port-scan': new KeyTable(PAIR_WORDS, us(t.scanWindowS), t.maxKeys, { width: 1, cap: t.portScanPorts }),
      'address-scan': new KeyTable(SERVICE_WORDS, us(t.scanWindowS), t.maxKeys, { width: 4, cap: t.addressScanHosts }),
      'brute-force': new KeyTable(PAIR_WORDS, us(t.bruteForceWindowS), t.maxKeys),
      flood: new KeyTable(SERVICE_WORDS, us(t.floodWindowS), t.maxKeys),
      'http-flood': new KeyTable(PAIR_WORDS, us(t.httpFloodWindowS), t.maxKeys),
    };
    const on = {} as Record<DetectorName, boolean>;
    const detectors = contextDetectors(opts.classes, opts.benign);
    for (const d of DETECTORS) {
      on[d] = detectors.includes(d);
      this.classOf[d] = opts.classes.indexOf(DETECTOR_CLASS[d]);
    }
    this.on = on;
  }

  /** Detectors that run (their class is one of the model's). */
  get detectors(): DetectorName[] {
    return DETECTORS.filter((d) => this.on[d]);
  }

  counts(): ContextCounts {
    return contextCounts(this.countsArray());
  }

  /** ContextDecisions.counts now. */
  private countsArray(): Float64Array {
    const c = new Float64Array(2 * DETECTORS.length);
    DETECTORS.forEach((d, k) => {
      c[k] = this.relabelled[d];
      c[DETECTORS.length + k] = this.tables[d].evicted;
    });
    return c;
  }

  /** Keys tracked now, per detector (for tests of the bound). */
  tracked(d: DetectorName): number {
    return this.tables[d].size;
  }

  /**
   * Every flow of a classified batch, in order: counted, and relabelled (labels, scores, kdd, context) when it is
   * evidence of a firing detector and the model called it benign. A batch without verdicts is counted only.
   */
  observe(rows: FlowRows): void {
    const d = this.decide(rows, rows.labels, this.opts.benign);
    applyContextDecisions(rows, d, this.opts.classes, this.opts.kdd);
    if (this.opts.onRelabel) for (let j = 0; j < d.rows.length; j++) this.opts.onRelabel(rows, d.rows[j]!, this.opts.classes[d.labels[j]!]!);
  }

  /**
   * Every flow of a batch, in order: counted, and decided relabelled when it is evidence of a firing detector and
   * the model called it benign (`labels[i] === benign`: class names, or the verdicts' class indices in the inference
   * thread). Without labels (no verdicts), counted only. Allocates per batch the decisions' arrays, per flow only a
   * relabelled flow's text.
   */
  decide(rows: ContextFlows, labels: ArrayLike<string | number | null> | undefined, benign: string | number): ContextDecisions {
    this.judge(rows, labels, benign);
    const n = this.decidedTexts.length;
    const d: ContextDecisions = { rows: this.decidedRows.slice(0, n), labels: this.decidedLabels.slice(0, n), texts: this.decidedTexts, counts: this.countsArray() };
    this.decidedTexts = [];
    return d;
  }

  private judge(rows: ContextFlows, labels: ArrayLike<string | number | null> | undefined, benign: string | number): void {
    const t = this.thresholds;
    const f = rows.features;
    const [durAt, fwdPktsAt, , fwdBytesAt, bwdBytesAt, synAt] = this.at as [number, number, number, number, number, number];
    const { flood, 'port-scan': portScan, 'address-scan': addressScan, 'brute-force': bruteForce, 'http-flood': httpFlood } = this.tables;
    const { dstService, srcService, pair, host, port, stride } = this;
    const { flood: floodOn, 'port-scan': portScanOn, 'address-scan': addressScanOn, 'brute-force': bruteForceOn, 'http-flood': httpFloodOn } = this.on;
    const { floodFlows, portScanPorts, addressScanHosts, bruteForceConnections, httpFloodConnections } = t;
    const loginMaxUs = t.bruteForceMaxDurationS * 1e6;
    // The batch's columns once (a batch object's shape varies with the stages it went through).
    const { count, protocols, ipVersions, dstPorts, startUs, srcAddrs, dstAddrs } = rows;
    for (let i = 0; i < count; i++) {
      const proto = protocols[i]!;
      if (proto !== 6 && proto !== 17) continue; // ports mean something only for TCP and UDP
      const base = i * stride;
      const fwdBytes = f[base + fwdBytesAt]!;
      const bwdBytes = f[base + bwdBytesAt]!;
      const fwdPkts = f[base + fwdPktsAt]!;
      const durationUs = f[base + durAt]!;
      const v4 = ipVersions[i] === 4;
      const dport = dstPorts[i]!;
      const start = startUs[i]!;
      let pairHash = 0;
      // A new connection (TCP: it began with a SYN) or a UDP exchange; not the tail of a connection.
      const opens = proto === 17 || f[base + synAt]! > 0;
      // Zeek's failed connection: nothing was exchanged (a SYN unanswered or rejected; UDP without an answer).
      const failed = opens && bwdBytes === 0 && (proto === 17 || fwdBytes === 0);
      // The reason's text is made only for a flow that will be relabelled (the model called it benign): reason().
      const benignCalled = labels !== undefined && labels[i] === benign;
      // The first detector that fires for the flow, its table and key's entry, and whether this flow crossed its threshold.
      let fire: DetectorName | null = null;
      let fired: KeyTable | null = null;
      let entry = -1;
      let crossed = false;

      const tiny = bwdBytes === 0 && fwdPkts <= 3;
      if ((tiny || bwdBytes > 0) && floodOn) {
        putService(dstService, dstAddrs, v4, i, proto, dport);
        const e = flood.touch(dstService, hashWords(dstService, SERVICE_WORDS), start);
        const s = flood.state;
        const o = e * flood.rec;
        // An answered flow offsets one tiny flow: every connection a busy server answers may leave a tiny tail
        // flow of its own (its closing packets after the flow that ended at the first FIN).
        if (tiny) s[o + COUNT] = s[o + COUNT]! + 1;
        else s[o + ANSWERED] = s[o + ANSWERED]! + 1;
        const over = s[o + COUNT]! - s[o + ANSWERED]! >= floodFlows;
        if (over) s[o + FIRED] = 1;
        if (tiny && s[o + FIRED] === 1) {
          fire = 'flood';
          fired = flood;
          entry = e;
          crossed = over;
        }
      }
      // A tiny flow of a flood under way is that flood's evidence: the per-source detectors skip it, so that a
      // spoofed flood (a new source every flow) does not fill their tables with one-flow sources.
      if (fire === null) {
        const login = proto === 6 && opens && bruteForceOn && (PORT_KIND[dport]! & LOGIN_PORT) !== 0 && fwdBytes > 0 && bwdBytes > 0 && durationUs < loginMaxUs;
        const web = proto === 6 && opens && httpFloodOn && (PORT_KIND[dport]! & WEB_PORT) !== 0;
        // Source and destination as one key, written once for the port-scan, brute-force and HTTP-flood tables.
        if ((failed && portScanOn) || login || web) {
          putAddress(pair, 0, srcAddrs, v4, i);
          putAddress(pair, 4, dstAddrs, v4, i);
          pair[8] = v4 ? 0 : 1;
          pairHash = hashWords(pair, PAIR_WORDS);
        }
        if (failed && portScanOn) {
          const e = portScan.touch(pair, pairHash, start);
          const s = portScan.state;
          const o = e * portScan.rec;
          s[o + COUNT] = s[o + COUNT]! + 1;
          port[0] = dport;
          const over = portScan.distinct!.add(e, port, 0) >= portScanPorts;
          if (over) s[o + FIRED] = 1;
          if (s[o + FIRED] === 1 && fire === null) {
            fire = 'port-scan';
            fired = portScan;
            entry = e;
            crossed = over;
          }
        }
        if (failed && addressScanOn) {
          putService(srcService, srcAddrs, v4, i, proto, dport);
          const e = addressScan.touch(srcService, hashWords(srcService, SERVICE_WORDS), start);
          const s = addressScan.state;
          const o = e * addressScan.rec;
          s[o + COUNT] = s[o + COUNT]! + 1;
          putAddress(host, 0, dstAddrs, v4, i);
          const over = addressScan.distinct!.add(e, host, 0) >= addressScanHosts;
          if (over) s[o + FIRED] = 1;
          if (s[o + FIRED] === 1 && fire === null) {
            fire = 'address-scan';
            fired = addressScan;
            entry = e;
            crossed = over;
          }
        }
        if (login) {
          const e = bruteForce.touch(pair, pairHash, start);
          const s = bruteForce.state;
          const o = e * bruteForce.rec;
          const over = (s[o + COUNT] = s[o + COUNT]! + 1) >= bruteForceConnections;
          if (over) s[o + FIRED] = 1;
          if (s[o + FIRED] === 1 && fire === null) {
            fire = 'brute-force';
            fired = bruteForce;
            entry = e;
            crossed = over;
          }
        }
        if (web) {
          const e = httpFlood.touch(pair, pairHash, start);
          const s = httpFlood.state;
          const o = e * httpFlood.rec;
          const over = (s[o + COUNT] = s[o + COUNT]! + 1) >= httpFloodConnections;
          if (over) s[o + FIRED] = 1;
          if (s[o + FIRED] === 1 && fire === null) {
            fire = 'http-flood';
            fired = httpFlood;
            entry = e;
            crossed = over;
          }
        }
      }
      if (fire !== null && benignCalled) this.relabel(i, fire, reason(fire, evidence(fired!, entry, crossed), rows, i));
    }
  }

  private relabel(i: number, d: DetectorName, why: string): void {
    const n = this.decidedTexts.length;
    if (n === this.decidedRows.length) {
      this.decidedRows = grown(this.decidedRows, 2 * n);
      this.decidedLabels = grown(this.decidedLabels, 2 * n);
    }
    this.decidedRows[n] = i;
    this.decidedLabels[n] = this.classOf[d];
    this.decidedTexts.push(why);
    this.relabelled[d]++;
  }
}

/** The `context` text of flow `i`, relabelled by detector `d` on evidence `e`. */
function reason(d: DetectorName, e: Evidence, rows: ContextFlows, i: number): string {
  const v = rows.ipVersions[i]!;
  const src = addressText(rows.srcAddrs, v, i);
  const dst = addressText(rows.dstAddrs, v, i);
  const dport = rows.dstPorts[i]!;
  switch (d) {
    case 'flood':
      return `flood: ${e.count} unanswered flows (${e.answered} answered) to ${dst}:${dport} ${inWindow(e)}`;
    case 'port-scan':
      return `port-scan: ${src} → ${e.distinct}+ ports of ${dst}, ${e.count} failed connections ${inWindow(e)}`;
    case 'address-scan':
      return `address-scan: ${src} → port ${dport} of ${e.distinct}+ hosts, ${e.count} failed connections ${inWindow(e)}`;
    case 'brute-force':
      return `brute-force: ${src} → ${dst}:${dport}, ${e.count} short logins ${inWindow(e)}`;
    case 'http-flood':
      return `http-flood: ${src} → ${dst}:${dport}, ${e.count} connections ${inWindow(e)}`;
  }
}

/** `62 s`, `0.4 s`: the span of the flows' starts counted in the key's window. */
function seconds(us: number): string {
  const s = Math.max(0, us) / 1e6;
  return `${s >= 10 ? Math.round(s) : Math.round(s * 10) / 10} s`;
}

/** The thresholds' config checks: every key known and a positive number (integers for counts). Returns the problems. */
export function contextThresholdsErrors(v: unknown): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return ['an object of context thresholds'];
  const errors: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!(k in CONTEXT_DEFAULTS)) {
      errors.push(`a known threshold (${Object.keys(CONTEXT_DEFAULTS).join(', ')}), not "${k}"`);
      continue;
    }
    const integer = !/S$/.test(k);
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x))) {
      errors.push(`"${k}" ${integer ? 'a positive integer' : 'a positive number of seconds'}, not ${JSON.stringify(x)}`);
    }
  }
  return errors;
}
