/**
 * Payload-protocol rules for BFCP's floor control, JSON-RPC 2.0 calls sent raw over TCP or UDP, and FLUTE's file
 * delivery sessions. Tried after every other group (sessionsTcp / sessionsUdp, the last line of payload-protocol.ts's
 * matchTcp / matchUdp), so none of them takes a packet an earlier rule names. (The HTTP refinements of the same round,
 * SOAP, MpegDash and HLS, live in payload-protocol.ts's HTTP rule, which answers every HTTP request first.)
 */
import { u16, ascii, has } from './bytes.js';
import { PayloadProtocol } from './protocols.js';

const P = PayloadProtocol as Record<string, number>;
const BFCP = P['BFCP']!;
const JSONRPC = P['JSON-RPC']!;
const FLUTE = P['FLUTE']!;

/** The rules over TCP, each guarding itself by its first byte. */
export function sessionsTcp(b: Uint8Array, p: number, end: number, _sp: number, _dp: number): number {
  const b0 = b[p]!;
  if (b0 === 0x20 || b0 === 0x30) return bfcp(b, p, end, false);
  if (b0 === 0x7b || b0 === 0x5b || isJsonSpace(b0)) return jsonRpc(b, p, end);
  return 0;
}

/** The same over UDP. */
export function sessionsUdp(b: Uint8Array, p: number, end: number, _sp: number, _dp: number): number {
  const b0 = b[p]!;
  if (b0 === 0x40 || b0 === 0x50) return bfcp(b, p, end, true);
  if (b0 === 0x7b || b0 === 0x5b || isJsonSpace(b0)) return jsonRpc(b, p, end);
  if (b0 >> 4 === 1) return fluteFdt(b, p, end);
  return 0;
}

/**
 * BFCP (RFC 8855 §5.1, which obsoletes RFC 4582): the 12-byte COMMON-HEADER - Ver (3 bits), R, F, Res (3 bits),
 * Primitive, Payload Length in 4-octet units excluding the header, Conference ID, Transaction ID, User ID - then
 * attributes. Over TCP the version MUST be 1 (RFC 4582's), over UDP 2; Res MUST be zero; the primitive is one of the
 * 17 of §5.1's table (FloorRequest 1 ... GoodbyeAck 17). F marks a fragment of a message too large for a datagram
 * (version 2 only; its Fragment Offset and Length make the header 16 bytes): a fragment is not taken, a
 * conversation's first messages (Hello, FloorRequest) being small. R (a response, in version 2) may be either.
 * Lengths add up exactly: a UDP datagram is one message, 12 + 4 × Payload Length bytes; a TCP segment is one or more
 * whole messages. Each message's payload is attributes (§5.2: Type in 7 bits, M, Length in octets from 2, excluding
 * the padding to a 4-octet boundary) of the 18 types §5.2 defines (BENEFICIARY-ID 1 ... OVERALL-REQUEST-STATUS 18),
 * filling it exactly. BFCP has no registered port (SDP negotiates it, RFC 8856): no port is asked.
 */
function bfcp(b: Uint8Array, p: number, end: number, udp: boolean): number {
  let q = p;
  while (q < end) {
    if (end - q < 12) return 0;
    const b0 = b[q]!;
    if (udp ? b0 !== 0x40 && b0 !== 0x50 : b0 !== 0x20 && b0 !== 0x30) return 0;
    const primitive = b[q + 1]!;
    if (primitive < 1 || primitive > 17) return 0;
    const next = q + 12 + 4 * u16(b, q + 2);
    if (next > end || !bfcpAttributes(b, q + 12, next)) return 0;
    q = next;
    if (udp) break;
  }
  return q === end && q > p ? BFCP : 0;
}

function bfcpAttributes(b: Uint8Array, q: number, end: number): boolean {
  while (q < end) {
    const type = b[q]! >> 1;
    const len = b[q + 1]!;
    if (end - q < 2 || type < 1 || type > 18 || len < 2) return false;
    q += (len + 3) & ~3;
  }
  return q === end;
}

/**
 * JSON-RPC 2.0 (jsonrpc.org/specification, §4 Request object, §5 Response object, §6 Batch) sent as bare JSON
 * (RFC 8259): after optional whitespace, an object, or an array (a batch) whose first element is an object, and that
 * first object has the member `"jsonrpc"` whose value is exactly the string `"2.0"` (the specification's MUST), found
 * within the packet. The object's members are walked in order at its own level (strings with their escapes, nested
 * objects and arrays skipped whole), so a `"jsonrpc"` inside a string or a nested value is not taken, nor is JSON
 * that does not open with an object, nor JSON-RPC 1.0 (no such member). An HTTP request carrying JSON-RPC starts with
 * its request line and stays HTTP.
 */
const JSONRPC_NAME = ascii('"jsonrpc"');
const V20 = ascii('"2.0"');
function jsonRpc(b: Uint8Array, p: number, end: number): number {
  let q = skipSpace(b, p, end);
  if (b[q] === 0x5b) q = skipSpace(b, q + 1, end);
  if (q >= end || b[q] !== 0x7b) return 0;
  q++;
  for (let member = 0; member < 64; member++) {
    q = skipSpace(b, q, end);
    if (q >= end || b[q] !== 0x22) return 0; // a member's name, a string
    const isVersion = has(b, q, end, JSONRPC_NAME);
    q = skipSpace(b, skipString(b, q, end), end);
    if (q >= end || b[q] !== 0x3a) return 0;
    q = skipSpace(b, q + 1, end);
    if (isVersion) {
      if (!has(b, q, end, V20)) return 0;
      q = skipSpace(b, q + V20.length, end);
      return q < end && (b[q] === 0x2c || b[q] === 0x7d) ? JSONRPC : 0;
    }
    q = skipSpace(b, skipValue(b, q, end), end);
    if (q >= end || b[q] !== 0x2c) return 0; // `}`: the object ended without the member
    q++;
  }
  return 0;
}

/** RFC 8259 §2's whitespace: space, tab, line feed, carriage return. */
function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function skipSpace(b: Uint8Array, q: number, end: number): number {
  while (q < end && isJsonSpace(b[q]!)) q++;
  return q;
}

/** Past the string opening at `q` (RFC 8259 §7: escapes, no control characters), or `end` when it does not close. */
function skipString(b: Uint8Array, q: number, end: number): number {
  for (let i = q + 1; i < end; i++) {
    const c = b[i]!;
    if (c === 0x22) return i + 1;
    if (c < 0x20) return end;
    if (c === 0x5c) i++;
  }
  return end;
}

/**
 * Past the value at `q`: a string; an object or array, to its closing bracket (strings inside skipped); or a number,
 * `true`, `false` or `null` (its characters); `end` when it does not end within the packet.
 */
function skipValue(b: Uint8Array, q: number, end: number): number {
  const c = b[q];
  if (c === 0x22) return skipString(b, q, end);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let i = q; i < end; i++) {
      const d = b[i]!;
      if (d === 0x22) i = skipString(b, i, end) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return i + 1;
    }
    return end;
  }
  let i = q;
  while (i < end && isScalarChar(b[i]!)) i++;
  return i > q ? i : end;
}

/** The characters of a number (RFC 8259 §6) and of the literals true, false and null. */
function isScalarChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || (c >= 0x61 && c <= 0x7a) || c === 0x45;
}

/**
 * FLUTE (RFC 6726; RFC 3926 before it): ALC packets (RFC 5775) whose LCT header (RFC 5651 §5.1; RFC 3451 §5.1 for
 * FLUTE version 1) carries an FDT Instance - the session's file table, sent on TOI 0 with the EXT_FDT header
 * extension (RFC 6726 §3.3, §3.4.1). Only such packets are taken: every other ALC packet is a generic LCT header that
 * other ALC users share (ATSC 3.0's ROUTE, RFC 9223, among them), so nothing else in it names FLUTE.
 *
 * The header: V (4 bits) = 1; C, the congestion control information's size (32 × (C + 1) bits); PSI; S, O and H,
 * the sizes of the TSI (32 × S + 16 × H bits) and TOI (32 × O + 16 × H bits); two bits that RFC 5651 reserves and
 * RFC 3451 used as T and R (a sender current time and an expected residual time, 32 bits each, which are counted
 * when set); A, B; HDR_LEN, the whole header in 32-bit words; the codepoint (not checked: its values are the
 * instantiation's). The TOI is present and 0; the header extensions from the end of the fixed fields fill HDR_LEN
 * exactly (RFC 5651 §5.2: HET ≤ 127 with HEL, its length in 32-bit words, at least 1; HET ≥ 128 one word), and one is
 * EXT_FDT (HET 192) with the FLUTE version 1 or 2; after the header, a FEC Payload ID (at least 4 bytes) and the FDT's
 * data. UDP only, on any port (a session's ports come from its announcement, RFC 6726 §6).
 */
function fluteFdt(b: Uint8Array, p: number, end: number): number {
  const n = end - p;
  if (n < 16) return 0;
  const c = (b[p]! >> 2) & 3;
  const f = b[p + 1]!;
  const s = f >> 7;
  const o = (f >> 5) & 3;
  const h = (f >> 4) & 1;
  const tr = ((f >> 3) & 1) + ((f >> 2) & 1);
  const hdr = 4 * b[p + 2]!;
  const toiLen = 4 * o + 2 * h;
  if (toiLen === 0 || hdr + 4 >= n) return 0;
  const toi = p + 4 + 4 * (c + 1) + 4 * s + 2 * h;
  const last = p + hdr;
  let q = toi + toiLen + 4 * tr;
  if (q > last) return 0;
  for (let k = toi; k < toi + toiLen; k++) if (b[k] !== 0) return 0;
  let fdt = false;
  while (q < last) {
    const het = b[q]!;
    const len = het >= 128 ? 4 : 4 * b[q + 1]!;
    if (len === 0 || q + len > last) return 0;
    if (het === 192) {
      const v = b[q + 1]! >> 4;
      if (v !== 1 && v !== 2) return 0;
      fdt = true;
    }
    q += len;
  }
  return fdt ? FLUTE : 0;
}
