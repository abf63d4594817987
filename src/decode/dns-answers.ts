/**
 * The addresses a DNS response gives for the name a client asked for (RFC 1035 §4.1): the first question's QNAME
 * and the A/AAAA records of the answer section reached from it through CNAMEs, so a flow to the CDN address that
 * `www.netflix.com` resolved to is named `www.netflix.com`, not the CDN's name. mDNS announcements (RFC 6762 §8.3:
 * responses without a question) name each address by its record's owner (`printer.local`). The engine reads every
 * UDP response from port 53 or 5353 and keeps what it gives in flows/address-names.ts.
 *
 * Only standard responses that succeeded (QR = 1, opcode 0, RCODE 0) of class IN (mDNS's cache-flush bit aside).
 * Names are read through compression pointers, each pointing strictly before the label that holds it (so a walk
 * always ends) and at most MAX_JUMPS of them a name. At most MAX_RECORDS answer records and a chain of MAX_CHAIN
 * names are looked at. Names as decode/server-name.ts stores them: lower-cased ASCII, dots between labels, at
 * most SERVER_NAME_MAX bytes (longer: cut); a name with a byte outside printable ASCII is not used. Pure, never
 * throws (every read is checked against the datagram's end), allocates nothing after construction.
 */
import { SERVER_NAME_MAX } from './server-name.js';

/** Answer records looked at per response; CNAME-chain names kept; pointers followed per name. */
export const MAX_RECORDS = 64;
export const MAX_CHAIN = 8;
export const MAX_JUMPS = 16;

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const DOT = 0x2e;
/** A name buffer holds the text plus room to see that it ran past the maximum. */
const NAME_BUF = SERVER_NAME_MAX + 1;

/** Where a response's addresses go (flows/address-names.ts). `name[0 .. nameLength)` is only valid during the call. */
export interface AddressSink {
  /** `words`: the address, IPv4 in word 0 (network order, as DecodedPacket), IPv6 in words 0..3; `ttl` in seconds. */
  put(version: 4 | 6, words: Uint32Array, ttl: number, name: Uint8Array, nameLength: number): void;
}

export class DnsAnswerReader {
  /** The CNAME chain: MAX_CHAIN names of NAME_BUF bytes, [0] the question's. */
  private readonly chain = new Uint8Array(MAX_CHAIN * NAME_BUF);
  private readonly chainLengths = new Int32Array(MAX_CHAIN);
  private chainCount = 0;
  /** Scratch names: a record's owner, a CNAME's target. */
  private readonly owner = new Uint8Array(NAME_BUF);
  private readonly target = new Uint8Array(NAME_BUF);
  private readonly address = new Uint32Array(4);
  /** After readName: where the name ends in the record stream (past its last label or its first pointer). */
  private after = 0;

  /**
   * Read the UDP payload `buf[start .. end)` as a DNS response (mDNS: `mdns`); give each address it names to `sink`.
   * AAAA records only when `ipv6`. Returns the number of addresses given (0: not a response, failed, or none).
   */
  read(buf: Uint8Array, start: number, end: number, mdns: boolean, ipv6: boolean, sink: AddressSink): number {
    if (end > buf.length) end = buf.length;
    if (start < 0 || end - start < 12) return 0;
    const flags = (buf[start + 2]! << 8) | buf[start + 3]!;
    // QR = 1, opcode 0 (standard query), RCODE 0 (NOERROR).
    if ((flags & 0x8000) === 0 || (flags & 0x7800) !== 0 || (flags & 0x000f) !== 0) return 0;
    const questions = (buf[start + 4]! << 8) | buf[start + 5]!;
    const answers = (buf[start + 6]! << 8) | buf[start + 7]!;
    if (answers === 0) return 0;
    let p = start + 12;
    this.chainCount = 0;
    if (questions > 0) {
      const n = this.readName(buf, start, p, end, this.chain, 0);
      if (n <= 0) return 0; // a bad, empty (root) or unprintable question: nothing to name
      this.chainLengths[0] = n;
      this.chainCount = 1;
      p = this.after + 4; // QTYPE, QCLASS
      // Further questions (none in practice): skipped.
      for (let i = 1; i < questions && p <= end; i++) {
        p = this.skipName(buf, p, end);
        if (p < 0) return 0;
        p += 4;
      }
      if (p > end) return 0;
    } else if (!mdns) {
      return 0; // a unicast response without its question: whose name would it be?
    }
    const records = answers < MAX_RECORDS ? answers : MAX_RECORDS;
    if (this.chainCount > 0) this.followCnames(buf, start, p, end, records);
    return this.giveAddresses(buf, start, p, end, records, ipv6, sink);
  }

  /** Add to the chain each CNAME target whose owner is in it, in passes (records may come in any order). */
  private followCnames(buf: Uint8Array, msg: number, first: number, end: number, records: number): void {
    let added = true;
    for (let pass = 0; added && pass < MAX_CHAIN && this.chainCount < MAX_CHAIN; pass++) {
      added = false;
      let p = first;
      for (let r = 0; r < records && this.chainCount < MAX_CHAIN; r++) {
        const rdata = this.skipName(buf, p, end) + 10;
        if (rdata < 10 || rdata > end) return;
        const rdlength = (buf[rdata - 2]! << 8) | buf[rdata - 1]!;
        const next = rdata + rdlength;
        if (next > end) return;
        const type = (buf[rdata - 10]! << 8) | buf[rdata - 9]!;
        if (type === TYPE_CNAME && this.isIn(buf, rdata)) {
          const owner = this.readName(buf, msg, p, end, this.owner, 0);
          if (owner > 0 && this.chainIndex(this.owner, owner) >= 0) {
            const t = this.readName(buf, msg, rdata, next, this.target, 0);
            if (t > 0 && this.chainIndex(this.target, t) < 0) {
              const off = this.chainCount * NAME_BUF;
              for (let k = 0; k < t; k++) this.chain[off + k] = this.target[k]!;
              this.chainLengths[this.chainCount++] = t;
              added = true;
            }
          }
        }
        p = next;
      }
    }
  }

  /** Give `sink` each A/AAAA record reached from the question (or, without one, each under its own owner name). */
  private giveAddresses(buf: Uint8Array, msg: number, first: number, end: number, records: number, ipv6: boolean, sink: AddressSink): number {
    let given = 0;
    let p = first;
    for (let r = 0; r < records; r++) {
      const rdata = this.skipName(buf, p, end) + 10;
      if (rdata < 10 || rdata > end) break;
      const rdlength = (buf[rdata - 2]! << 8) | buf[rdata - 1]!;
      const next = rdata + rdlength;
      if (next > end) break;
      const type = (buf[rdata - 10]! << 8) | buf[rdata - 9]!;
      const isA = type === TYPE_A && rdlength === 4;
      const isAaaa = ipv6 && type === TYPE_AAAA && rdlength === 16;
      if ((isA || isAaaa) && this.isIn(buf, rdata)) {
        const owner = this.readName(buf, msg, p, end, this.owner, 0);
        let name: Uint8Array | null = null;
        let length = 0;
        if (this.chainCount === 0) {
          if (owner > 0) {
            name = this.owner;
            length = owner;
          }
        } else if (owner > 0 && this.chainIndex(this.owner, owner) >= 0) {
          name = this.chain;
          length = this.chainLengths[0]!;
        }
        if (name !== null) {
          const ttl = ((buf[rdata - 6]! << 24) | (buf[rdata - 5]! << 16) | (buf[rdata - 4]! << 8) | buf[rdata - 3]!) >>> 0;
          const a = this.address;
          for (let w = 0; w < 4; w++) {
            const q = rdata + 4 * w;
            a[w] = w < rdlength / 4 ? ((buf[q]! << 24) | (buf[q + 1]! << 16) | (buf[q + 2]! << 8) | buf[q + 3]!) >>> 0 : 0;
          }
          sink.put(isA ? 4 : 6, a, ttl, name, length > SERVER_NAME_MAX ? SERVER_NAME_MAX : length);
          given++;
        }
      }
      p = next;
    }
    return given;
  }

  /** The record whose RDATA starts at `rdata` has class IN (mDNS's cache-flush bit, 0x8000, ignored). */
  private isIn(buf: Uint8Array, rdata: number): boolean {
    return (((buf[rdata - 8]! << 8) | buf[rdata - 7]!) & 0x7fff) === CLASS_IN;
  }

  /** Index in the chain of the name `n[0 .. len)`, or -1. */
  private chainIndex(n: Uint8Array, len: number): number {
    for (let c = 0; c < this.chainCount; c++) {
      if (this.chainLengths[c] !== len) continue;
      const off = c * NAME_BUF;
      let k = 0;
      while (k < len && this.chain[off + k] === n[k]) k++;
      if (k === len) return c;
    }
    return -1;
  }

  /**
   * Skip the (possibly compressed) name at `p` in the record stream: past its terminating zero or its first
   * pointer. -1 when it runs past `end` or uses a reserved label type.
   */
  private skipName(buf: Uint8Array, p: number, end: number): number {
    while (p < end) {
      const len = buf[p]!;
      if (len === 0) return p + 1;
      if ((len & 0xc0) === 0xc0) return p + 2 <= end ? p + 2 : -1;
      if (len > 63) return -1;
      p += 1 + len;
    }
    return -1;
  }

  /**
   * The name at `p` (pointers are offsets from the message start `msg`) as text into `out[outOff ..)`: lower-cased,
   * labels joined by dots, at most NAME_BUF bytes written (the caller cuts at SERVER_NAME_MAX). Sets `after`.
   * Returns the text's length (NAME_BUF: longer than SERVER_NAME_MAX, cut), 0 for the root, -1 when malformed or
   * when a byte is outside printable ASCII.
   */
  private readName(buf: Uint8Array, msg: number, p: number, end: number, out: Uint8Array, outOff: number): number {
    let n = 0;
    let jumps = 0;
    this.after = -1;
    // Each pointer must lead before where the walk last started (the name's start, then the previous target):
    // targets only go down, so a walk ends even before MAX_JUMPS bounds it.
    let floor = p;
    const limit = end;
    for (;;) {
      if (p >= limit) return -1;
      const len = buf[p]!;
      if (len === 0) {
        if (this.after < 0) this.after = p + 1;
        return n < NAME_BUF ? n : NAME_BUF;
      }
      if ((len & 0xc0) === 0xc0) {
        if (p + 2 > limit || ++jumps > MAX_JUMPS) return -1;
        if (this.after < 0) this.after = p + 2;
        const to = msg + (((len & 0x3f) << 8) | buf[p + 1]!);
        if (to >= floor) return -1;
        floor = p = to;
        continue;
      }
      if (len > 63 || p + 1 + len > limit) return -1;
      if (n > 0) {
        if (n < NAME_BUF) out[outOff + n] = DOT;
        n++;
      }
      for (let k = p + 1; k <= p + len; k++) {
        const c = buf[k]!;
        if (c < 0x20 || c > 0x7e) return -1;
        if (n < NAME_BUF) out[outOff + n] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
        n++;
      }
      p += 1 + len;
    }
  }
}
