/**
 * Server address → the name a client asked DNS for (decode/dns-answers.ts reads the answers), so a flow to that
 * address is named even when its own packets carry no name (no SNI, QUIC, RTP, a flow that starts mid-connection).
 *
 * Bounded and allocation-free: SLOTS entries in two-way sets (an address goes to the older entry of its set when it
 * is not there yet; the most recent answer for an address replaces the one before), each with the answer's time,
 * its TTL clamped to [MIN_TTL_S, MAX_TTL_S] and where its name lies in a ring of names (RING_BYTES, each answer's
 * name written once for all of its addresses). A name the ring has since overwritten is gone with its entry.
 * About 4.6 MiB in all, allocated once.
 *
 * The TTL clamp: a client keeps using an address after a short TTL (caches hold answers for a minute or more,
 * connections are opened a few seconds later and reused), so anything below 60 s is read as 60 s; and an address
 * may serve another name an hour later (CDNs move names between addresses), so nothing is trusted for more than
 * an hour, whatever the record says.
 */
import type { AddressSink } from '../decode/dns-answers.js';
import { SERVER_NAME_MAX } from '../decode/server-name.js';

/** Entries (a power of two), name ring bytes, the TTL clamp in seconds. */
export const SLOTS = 1 << 16;
export const RING_BYTES = 1 << 21;
export const MIN_TTL_S = 60;
export const MAX_TTL_S = 3600;

export class AddressNames implements AddressSink {
  /** Per entry: the address (4 words, IPv4 in word 0), its IP version (0 = empty entry). */
  private readonly keys = new Uint32Array(SLOTS * 4);
  private readonly versions = new Uint8Array(SLOTS);
  /** Per entry: when the answer was seen (µs), until when it is fresh (µs), its name's ring position and length. */
  private readonly seenUs = new Float64Array(SLOTS);
  private readonly freshUntilUs = new Float64Array(SLOTS);
  private readonly namePos = new Float64Array(SLOTS);
  private readonly nameLengths = new Uint8Array(SLOTS);
  /** The name ring; `written` counts every byte ever written (a position is `written % RING_BYTES`). */
  private readonly ring = new Uint8Array(RING_BYTES);
  private written = 0;
  /** The last name written and its length, so the addresses of one answer share one copy. */
  private lastPos = -1;
  private lastLength = 0;
  /** The time of the answer being read (set by the engine before each read). */
  nowUs = 0;
  /** Entries in use. */
  held = 0;

  /** An address of an answer seen at `nowUs` (AddressSink). */
  put(version: 4 | 6, words: Uint32Array, ttl: number, name: Uint8Array, nameLength: number): void {
    if (nameLength <= 0) return;
    const base = hash(version, words) & (SLOTS - 2);
    let e = this.find(base, version, words);
    if (e < 0) {
      // Not held: the empty entry of the set, else its older one.
      const other = base + 1;
      e = this.versions[base] === 0 ? base : this.versions[other] === 0 ? other : this.seenUs[base]! <= this.seenUs[other]! ? base : other;
      if (this.versions[e] === 0) this.held++;
      this.keys[4 * e] = words[0]!;
      this.keys[4 * e + 1] = words[1]!;
      this.keys[4 * e + 2] = words[2]!;
      this.keys[4 * e + 3] = words[3]!;
      this.versions[e] = version;
    }
    const ttlS = ttl < MIN_TTL_S ? MIN_TTL_S : ttl > MAX_TTL_S ? MAX_TTL_S : ttl;
    this.seenUs[e] = this.nowUs;
    this.freshUntilUs[e] = this.nowUs + ttlS * 1e6;
    this.namePos[e] = this.store(name, nameLength);
    this.nameLengths[e] = nameLength;
  }

  /**
   * The name of `words` (version `version`) fresh at `atUs` (an answer seen at or before it, within its TTL),
   * copied to `out[outOff ..]`; returns its length, 0 when there is none.
   */
  lookup(version: number, words: Uint32Array, atUs: number, out: Uint8Array, outOff: number): number {
    const e = this.find(hash(version, words) & (SLOTS - 2), version, words);
    if (e < 0) return 0;
    if (atUs < this.seenUs[e]! || atUs > this.freshUntilUs[e]!) return 0;
    const pos = this.namePos[e]!;
    const n = this.nameLengths[e]!;
    if (this.written - pos > RING_BYTES) return 0; // its bytes were overwritten since
    const from = pos % RING_BYTES;
    for (let k = 0; k < n; k++) out[outOff + k] = this.ring[from + k]!;
    return n;
  }

  /** The entry of the set at `base` that holds the address, or -1. */
  private find(base: number, version: number, words: Uint32Array): number {
    for (let e = base; e <= base + 1; e++) {
      if (this.versions[e] !== version) continue;
      const k = 4 * e;
      if (this.keys[k] === words[0] && this.keys[k + 1] === words[1] && this.keys[k + 2] === words[2] && this.keys[k + 3] === words[3]) return e;
    }
    return -1;
  }

  /** The name's position in the ring: the last one's, when it is the same name, else a new copy (never split). */
  private store(name: Uint8Array, n: number): number {
    if (this.lastPos >= 0 && this.lastLength === n && this.written - this.lastPos <= RING_BYTES - SERVER_NAME_MAX) {
      const from = this.lastPos % RING_BYTES;
      let k = 0;
      while (k < n && this.ring[from + k] === name[k]) k++;
      if (k === n) return this.lastPos;
    }
    let at = this.written % RING_BYTES;
    if (at + n > RING_BYTES) {
      this.written += RING_BYTES - at; // wrap: a name is never split across the ring's end
      at = 0;
    }
    const pos = this.written;
    for (let k = 0; k < n; k++) this.ring[at + k] = name[k]!;
    this.written += n;
    this.lastPos = pos;
    this.lastLength = n;
    return pos;
  }
}

/** A set index from the address (an even number below SLOTS once masked). */
function hash(version: number, w: Uint32Array): number {
  let h = Math.imul(w[0]! ^ version, 0x9e3779b1);
  h = Math.imul(h ^ w[1]! ^ (h >>> 15), 0x85ebca77);
  h = Math.imul(h ^ w[2]! ^ (h >>> 13), 0xc2b2ae3d);
  h = Math.imul(h ^ w[3]! ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}
