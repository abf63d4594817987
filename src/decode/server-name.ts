/**
 * The server name a flow's client asks for, read from one packet's transport payload: the TLS ClientHello
 * `server_name` extension (host_name), the HTTP/1.x request's `Host:` header, or a DNS query's QNAME
 * (/work/notes/server-name-contract.md). The engine calls it for a flow's first payload packets only
 * (flows/server-names.ts keeps the per-flow name).
 *
 * One segment at a time: there is no TCP reassembly, so a ClientHello whose SNI extension lies past the first
 * segment (large post-quantum key shares push it into the second one), or a request whose Host line is not in its
 * first segment, gives no name. QUIC's ClientHello, encrypted in its Initial packets, is read by quic-initial.ts.
 *
 * The name is written as ASCII bytes, lower-cased, without a trailing dot, at most SERVER_NAME_MAX bytes (longer:
 * cut there, `Truncated`). A name with a byte outside printable ASCII (0x20-0x7e) is not written (`NotPrintable`).
 * Pure, never throws, allocates nothing: every read is checked against `[start, end)` (and `buf.length`).
 */

import { PROTO_TCP, PROTO_UDP } from './transport.js';

/** Longest name kept, in bytes (a DNS name's longest text form). */
export const SERVER_NAME_MAX = 253;

/** What a payload gave. */
export const ServerNameRead = {
  /** No name here: not a ClientHello, request or query, or one without a name in this segment. */
  None: 0,
  /** A name, written (`reader.length` bytes). */
  Found: 1,
  /** A name longer than SERVER_NAME_MAX, written cut to that length. */
  Truncated: 2,
  /** A name with a byte outside printable ASCII: not written. */
  NotPrintable: 3,
} as const;
export type ServerNameRead = (typeof ServerNameRead)[keyof typeof ServerNameRead];

const DOT = 0x2e;

/** Reads names into a caller's byte slab; one per engine, reused for every packet. */
export class ServerNameReader {
  /** Bytes written by the last read that returned Found or Truncated. */
  length = 0;

  /**
   * Read the payload `buf[start .. end)` of a packet of IP protocol `proto` between ports `srcPort` and `dstPort`.
   * A name is written at `out[outOff .. outOff + SERVER_NAME_MAX)`.
   */
  read(buf: Uint8Array, start: number, end: number, proto: number, srcPort: number, dstPort: number, out: Uint8Array, outOff: number): ServerNameRead {
    this.length = 0;
    if (end > buf.length) end = buf.length;
    if (start < 0 || end - start < 1 || outOff < 0 || outOff + SERVER_NAME_MAX > out.length) return ServerNameRead.None;
    if (proto === PROTO_TCP) {
      const b0 = buf[start]!;
      if (b0 === 0x16) return this.tlsClientHello(buf, start, end, out, outOff);
      if (b0 >= 0x41 && b0 <= 0x5a) return this.httpHost(buf, start, end, out, outOff);
      return ServerNameRead.None;
    }
    if (proto === PROTO_UDP && (dstPort === 53 || srcPort === 53 || dstPort === 5353 || srcPort === 5353)) {
      return this.dnsQuery(buf, start, end, out, outOff);
    }
    return ServerNameRead.None;
  }

  /**
   * TLS record (RFC 8446 §5.1) holding a ClientHello (§4.1.2): walk to the extensions, then the server_name
   * extension (RFC 6066 §3), and take its first host_name. Bounded by the segment and the record's length.
   */
  private tlsClientHello(buf: Uint8Array, p: number, end: number, out: Uint8Array, outOff: number): ServerNameRead {
    if (end - p < 9 || buf[p + 1] !== 0x03 || buf[p + 2]! > 0x04) return ServerNameRead.None;
    const recordEnd = p + 5 + ((buf[p + 3]! << 8) | buf[p + 4]!);
    return this.clientHello(buf, p + 5, recordEnd < end ? recordEnd : end, out, outOff);
  }

  /**
   * A ClientHello handshake message (RFC 8446 §4.1.2) at `buf[p ..]`, bounded by `end`: its first host_name. Shared
   * by TLS over TCP (the message inside a record) and QUIC (decode/quic-initial.ts: the message from the Initial
   * packets' CRYPTO frames). Resets `length` like `read`.
   */
  clientHello(buf: Uint8Array, p: number, end: number, out: Uint8Array, outOff: number): ServerNameRead {
    this.length = 0;
    if (end > buf.length) end = buf.length;
    if (p < 0 || p + 4 > end || buf[p] !== 1 || outOff < 0 || outOff + SERVER_NAME_MAX > out.length) return ServerNameRead.None; // handshake type client_hello
    const helloEnd = p + 4 + ((buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!);
    if (helloEnd < end) end = helloEnd;
    p += 4 + 2 + 32; // handshake header, legacy_version, random
    if (p + 1 > end) return ServerNameRead.None;
    p += 1 + buf[p]!; // legacy_session_id
    if (p + 2 > end) return ServerNameRead.None;
    p += 2 + ((buf[p]! << 8) | buf[p + 1]!); // cipher_suites
    if (p + 1 > end) return ServerNameRead.None;
    p += 1 + buf[p]!; // legacy_compression_methods
    if (p + 2 > end) return ServerNameRead.None;
    const extEnd = p + 2 + ((buf[p]! << 8) | buf[p + 1]!);
    if (extEnd < end) end = extEnd;
    p += 2;
    while (p + 4 <= end) {
      const type = (buf[p]! << 8) | buf[p + 1]!;
      const len = (buf[p + 2]! << 8) | buf[p + 3]!;
      p += 4;
      if (type === 0) return this.sniList(buf, p, Math.min(end, p + len), out, outOff);
      p += len;
    }
    return ServerNameRead.None;
  }

  /** ServerNameList: 2-byte list length, then entries (name_type, 2-byte length, name); the first host_name (0). */
  private sniList(buf: Uint8Array, p: number, end: number, out: Uint8Array, outOff: number): ServerNameRead {
    if (p + 2 > end) return ServerNameRead.None;
    const listEnd = p + 2 + ((buf[p]! << 8) | buf[p + 1]!);
    if (listEnd < end) end = listEnd;
    p += 2;
    while (p + 3 <= end) {
      const type = buf[p]!;
      const len = (buf[p + 1]! << 8) | buf[p + 2]!;
      p += 3;
      if (p + len > end) return ServerNameRead.None; // the name runs past this segment
      if (type === 0) return this.copyName(buf, p, len, out, outOff);
      p += len;
    }
    return ServerNameRead.None;
  }

  /**
   * HTTP/1.x (RFC 9112 §3): a request line `METHOD SP target SP HTTP/1.d` ending in CRLF or LF, then the header
   * lines up to the empty one; the first `Host:` (any case) whose line ends inside the segment. Its port is cut
   * (`example.com:8080` → `example.com`, `[::1]:80` → `[::1]`).
   */
  private httpHost(buf: Uint8Array, p: number, end: number, out: Uint8Array, outOff: number): ServerNameRead {
    // Method: 1-20 upper-case letters (or '-', '_'), then one space.
    let q = p;
    while (q < end && q - p <= 20) {
      const c = buf[q]!;
      if ((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f) q++;
      else break;
    }
    if (q === p || q >= end || buf[q] !== 0x20) return ServerNameRead.None;
    q++;
    // Target: visible bytes up to a space.
    const targetStart = q;
    while (q < end && buf[q]! > 0x20 && buf[q]! < 0x7f) q++;
    if (q === targetStart || q + 9 > end || buf[q] !== 0x20) return ServerNameRead.None;
    q++;
    if (buf[q] !== 0x48 || buf[q + 1] !== 0x54 || buf[q + 2] !== 0x54 || buf[q + 3] !== 0x50 || buf[q + 4] !== 0x2f || buf[q + 5] !== 0x31 || buf[q + 6] !== DOT) {
      return ServerNameRead.None; // not "HTTP/1."
    }
    const minor = buf[q + 7]!;
    if (minor < 0x30 || minor > 0x39) return ServerNameRead.None;
    q += 8;
    if (q < end && buf[q] === 0x0d) q++;
    if (q >= end || buf[q] !== 0x0a) return ServerNameRead.None;
    q++;
    // Header lines.
    while (q < end) {
      const lineStart = q;
      while (q < end && buf[q] !== 0x0a) q++;
      if (q >= end) return ServerNameRead.None; // the line does not end in this segment
      let lineEnd = q; // at LF
      q++;
      if (lineEnd > lineStart && buf[lineEnd - 1] === 0x0d) lineEnd--;
      if (lineEnd === lineStart) return ServerNameRead.None; // the empty line: no Host
      if (lineEnd - lineStart >= 5 && isHostColon(buf, lineStart)) return this.hostValue(buf, lineStart + 5, lineEnd, out, outOff);
    }
    return ServerNameRead.None;
  }

  /** The Host header's value in `buf[p .. end)`: blanks trimmed, the port cut. */
  private hostValue(buf: Uint8Array, p: number, end: number, out: Uint8Array, outOff: number): ServerNameRead {
    while (p < end && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
    while (end > p && (buf[end - 1] === 0x20 || buf[end - 1] === 0x09)) end--;
    if (p < end && buf[p] === 0x5b) {
      // An IPv6 literal: up to its ']'.
      for (let q = p; q < end; q++) {
        if (buf[q] === 0x5d) {
          end = q + 1;
          break;
        }
      }
    } else {
      let colon = -1;
      let colons = 0;
      for (let q = p; q < end; q++) {
        if (buf[q] === 0x3a) {
          colon = q;
          colons++;
        }
      }
      if (colons === 1) end = colon; // a bare IPv6 address (several colons) is left whole
    }
    return this.copyName(buf, p, end - p, out, outOff);
  }

  /**
   * DNS (RFC 1035 §4.1): a query (QR = 0) with at least one question; the first question's QNAME, its labels
   * joined by dots. A compression pointer in it, or a name running past the datagram, gives no name.
   */
  private dnsQuery(buf: Uint8Array, p: number, end: number, out: Uint8Array, outOff: number): ServerNameRead {
    if (end - p < 12 + 1 || (buf[p + 2]! & 0x80) !== 0) return ServerNameRead.None; // short, or a response
    const opcode = (buf[p + 2]! >> 3) & 0x0f;
    if (opcode !== 0 || ((buf[p + 4]! << 8) | buf[p + 5]!) === 0) return ServerNameRead.None; // not a standard query
    let q = p + 12;
    let n = 0;
    let truncated = false;
    let printable = true;
    for (;;) {
      if (q >= end) return ServerNameRead.None;
      const len = buf[q]!;
      if (len === 0) break;
      if (len > 63) return ServerNameRead.None; // a pointer (0xc0) or a reserved label type
      if (q + 1 + len > end) return ServerNameRead.None;
      if (n > 0) {
        if (n < SERVER_NAME_MAX) out[outOff + n] = DOT;
        else truncated = true;
        n++;
      }
      for (let k = q + 1; k <= q + len; k++) {
        const c = buf[k]!;
        if (c < 0x20 || c > 0x7e) printable = false;
        if (n < SERVER_NAME_MAX) out[outOff + n] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
        else truncated = true;
        n++;
      }
      q += 1 + len;
    }
    if (!printable) return ServerNameRead.NotPrintable;
    if (n === 0) return ServerNameRead.None; // the root
    this.length = n > SERVER_NAME_MAX ? SERVER_NAME_MAX : n;
    return truncated ? ServerNameRead.Truncated : ServerNameRead.Found;
  }

  /**
   * Copy `buf[p .. p+len)` as a name: printable ASCII only, lower-cased, trailing dot removed, cut at the maximum.
   * Also used by quic-initial.ts for the SNI tag of Google QUIC's CHLO.
   */
  copyName(buf: Uint8Array, p: number, len: number, out: Uint8Array, outOff: number): ServerNameRead {
    if (p + len > buf.length) return ServerNameRead.None;
    if (len > 0 && buf[p + len - 1] === DOT) len--;
    if (len <= 0) return ServerNameRead.None;
    for (let k = 0; k < len; k++) {
      const c = buf[p + k]!;
      if (c < 0x20 || c > 0x7e) return ServerNameRead.NotPrintable;
    }
    const n = len > SERVER_NAME_MAX ? SERVER_NAME_MAX : len;
    for (let k = 0; k < n; k++) {
      const c = buf[p + k]!;
      out[outOff + k] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
    }
    this.length = n;
    return len > SERVER_NAME_MAX ? ServerNameRead.Truncated : ServerNameRead.Found;
  }
}

/** Does the header line at `buf[p]` start with `Host:` (any case)? The caller checked 5 bytes are there. */
function isHostColon(buf: Uint8Array, p: number): boolean {
  return (buf[p]! | 0x20) === 0x68 && (buf[p + 1]! | 0x20) === 0x6f && (buf[p + 2]! | 0x20) === 0x73 && (buf[p + 3]! | 0x20) === 0x74 && buf[p + 4] === 0x3a;
}

/** The name in `bytes[off .. off+len)` as a string (ASCII), for outputs (never on the packet path). */
export function serverNameText(bytes: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let k = 0; k < len; k++) s += String.fromCharCode(bytes[off + k]!);
  return s;
}
